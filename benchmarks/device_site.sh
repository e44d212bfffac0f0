#!/usr/bin/env bash
# The pure-Python packages `analyze` needs that the GPU machine's image lacks (pydicom, filterpy, and for
# `--workers` dask, distributed and theirs), copied from this checkout's .venv into .devsite/ (ignored), for the
# device tool's carry; benchmarks/gpu_pipeline.sh installs them there. Run here, in the repo root:
#     bash benchmarks/device_site.sh        # then run the device tool with carry [".devsite"]
set -euo pipefail
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf .devsite && mkdir .devsite
for pkg in pydicom filterpy dask distributed partd locket tblib tornado zict; do
  cp -r "$SITE/$pkg" "$SITE"/"$pkg"-*.dist-info .devsite/
done
find .devsite \( -name __pycache__ -o -name tests \) -prune -exec rm -rf {} +
du -sh .devsite
