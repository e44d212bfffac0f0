#!/usr/bin/env sh
# Rebuild the demo recordings in resources/demo/ from the phantom (deterministic: fixed seeds).
# The same phantom heart (EDV 130 ml, ESV 55 ml, 68 bpm) is imaged in two apical views and as a
# cine short-axis MR stack, so single-plane, biplane and MRI volumes can be compared.
set -e
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
HEART="--edv 130 --esv 55 --hr 68 --seed 1"
$PY -m app phantom --modality echo --view a4c $HEART --beats 1 --fps 40 --size 224x224 --quality good \
    --compression rle --out resources/demo/a4c.dcm
$PY -m app phantom --modality echo --view a2c $HEART --beats 1 --fps 40 --size 224x224 --quality good \
    --compression rle --out resources/demo/a2c.dcm
$PY -m app phantom --modality mri $HEART --phases 16 --slices 8 --slice-spacing 10 --pixel 2.0 --matrix 128 \
    --quality good --compression jpeg2000 --out resources/demo/sax
