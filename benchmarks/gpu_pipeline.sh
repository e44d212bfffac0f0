#!/usr/bin/env bash
# Issue 56 items 3-4 on the GPU machine, one call of the device tool (nothing to carry: the clip is made there):
#     bash benchmarks/gpu_pipeline.sh $OUT
# The whole analysis of the 217-frame phantom A4C clip (benchmarks/pipeline.py's) with torch on CUDA against the same
# code on that machine's own CPU cores (ONNX Runtime int8, every core), by stage, best of 2; the table and the
# machine's facts come back in $OUT. About 5 minutes (the phantom is rendered first).
set -uo pipefail
OUT=${1:?usage: bash benchmarks/gpu_pipeline.sh OUT}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
{ nproc; nvidia-smi -L; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
    2>&1 | tee "$OUT/machine.txt"
$PY benchmarks/pipeline.py --versus "onnxruntime int8" --backend cuda --threads "$(nproc)" --repeat 2 \
    --out /tmp/cardiotrace_bench 2>&1 | tee "$OUT/pipeline_cuda.txt"
