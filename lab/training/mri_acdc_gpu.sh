#!/bin/bash
# `train mri-seg-acdc` on the GPU machine (issue 55): the 5 folds at once, resumable across sessions.
# Reads the pack of lab/training/mri_acdc_pack.py (folder P, default .gpu_mri, carried); a fold's checkpoint found as
# P/ckpt/mri_acdc_<fold>_<TAG>/last.pt (brought back by an earlier session and slimmed there by
# `python -m lab.training.mri_acdc_pack resume P --tag TAG`) is resumed. OUT gets each fold's last.pt as
# mri_acdc_<fold>_<TAG>.pt (put it back there for the next session, or in checkpoints/ here to evaluate and publish).
# usage (repo root): bash lab/training/mri_acdc_gpu.sh STEPS MAX_MINUTES OUT TAG [train options ...]
#   e.g. bash lab/training/mri_acdc_gpu.sh 30000 8 $OUT gpu --init-from-shipped --scanner-fraction 0.5 --batch 32
set -u
STEPS=$1; MINUTES=$2; OUTDIR=$3; TAG=$4; shift 4
PY=${PY:-python3}; P=${P:-.gpu_mri}; W=${W:-/tmp/wm}
export CARDIOTRACE_CHECKPOINTS_DIR=$W/ckpt OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 PYTHONUNBUFFERED=1
mkdir -p $W/ckpt $OUTDIR
$PY -m lab.training.mri_acdc_pack unpack $P || exit 1
[ -d $P/ckpt ] && cp -r $P/ckpt/. $W/ckpt/
for fold in 0 1 2 3 4; do
  $PY -m app train mri-seg-acdc --data $P/acdc --fold $fold --steps $STEPS --max-minutes $MINUTES --tag $TAG \
    --threads 2 "$@" > $W/fold$fold.log 2>&1 &
done
wait
for fold in 0 1 2 3 4; do
  f=$W/ckpt/mri_acdc_${fold}_$TAG/last.pt
  [ -f $f ] && cp $f $OUTDIR/mri_acdc_${fold}_$TAG.pt
  echo "fold $fold: $(grep -c . $W/fold$fold.log) log lines; $(tail -n 1 $W/fold$fold.log)"
done
tar -C $W -czf $OUTDIR/logs.tgz $(cd $W && ls fold*.log)
