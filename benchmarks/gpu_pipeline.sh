#!/usr/bin/env bash
# Issue 56 items 3-4 on the GPU machine, one call of the device tool, carrying what its image lacks:
#     bash benchmarks/device_site.sh                   # here, once: .devsite/ (pydicom, filterpy, dask, ...)
#     bash benchmarks/gpu_pipeline.sh $OUT             # there, carry [".devsite"]
# The whole analysis of the 217-frame phantom A4C clip (benchmarks/pipeline.py's) with torch on CUDA against the same
# code on that machine's own CPU cores (ONNX Runtime int8, every core), by stage, best of 2; then a cohort
# (benchmarks/cohort.py: COHORT_CLIPS phantom clips of 454 x 487 px, `analyze --out --workers N`) on the CPU and with
# CUDA. The tables and the machine's facts come back in $OUT. About 7 minutes (the clips are rendered first).
set -uo pipefail
OUT=${1:?usage: bash benchmarks/gpu_pipeline.sh OUT}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if [ -d .devsite ]; then  # the image has no pydicom, filterpy nor dask: the carried copies go into its site
    cp -r .devsite/. "$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
fi
{ nproc; nvidia-smi -L; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
    2>&1 | tee "$OUT/machine.txt"
$PY benchmarks/pipeline.py --versus "onnxruntime int8" --backend cuda --threads "$(nproc)" --repeat 2 \
    --out /tmp/cardiotrace_bench 2>&1 | tee "$OUT/pipeline_cuda.txt"
for device in cpu cuda; do
    CARDIOTRACE_DEVICE=$device $PY benchmarks/cohort.py --clips "${COHORT_CLIPS:-32}" --workers 4 16 --size 454x487 \
        --fps 55 --beats 1 2>&1 | tee "$OUT/cohort_$device.txt"
done
