#!/usr/bin/env bash
# Builds the one-folder bundle dist/cardiotrace/ (run from the project root via `make installer`).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/pip install -q "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
$BIN/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller installer/cardiotrace.spec
install -m 644 installer/cardiotrace.desktop dist/cardiotrace/cardiotrace.desktop
install -m 644 resources/icons/cardiotrace.png dist/cardiotrace/cardiotrace.png
install -m 755 installer/install-linux.sh dist/cardiotrace/install-linux.sh
du -sh dist/cardiotrace
