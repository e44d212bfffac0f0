#!/usr/bin/env bash
# `make installer-test`: build the bundle, start it headless and check what it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
EXE=dist/cardiotrace/cardiotrace
DEMO=resources/demo/a4c.dcm
out=$(mktemp -d)
fail() { echo "installer smoke test FAILED: $*" >&2; exit 1; }

"$EXE" --version | grep -q "cardiotrace" || fail "--version"
"$EXE" info "$DEMO" --json > "$out/info.json" || fail "info exit $?"
grep -q '"modality": "echo"' "$out/info.json" || fail "info output: $(cat "$out/info.json")"
"$EXE" analyze "$DEMO" --json "$out/analysis.json" || fail "analyze exit $?"
grep -q '"ef_pct"' "$out/analysis.json" || fail "analyze output lacks ef_pct"
[ -d dist/cardiotrace/_internal/onnxruntime ] || fail "the bundle lacks onnxruntime"
# The same analysis through ONNX Runtime (the engine on CPUs without native bf16) must run in the bundle too.
CARDIOTRACE_BACKEND=onnxruntime "$EXE" analyze "$DEMO" --json "$out/analysis_ort.json" || fail "analyze (ONNX Runtime) exit $?"
grep -q '"ef_pct"' "$out/analysis_ort.json" || fail "analyze (ONNX Runtime) output lacks ef_pct"
set +e; "$EXE" info /etc/hostname >/dev/null 2>&1; rc=$?; set -e
[ "$rc" = 2 ] || fail "bad input gave exit $rc, expected 2"
# No training code in the bundle: `train`/`evaluate` need the lab of a source checkout and say so (exit 2).
set +e; "$EXE" train echo-seg --help > "$out/train.txt" 2>&1; rc=$?; set -e
[ "$rc" = 2 ] && grep -q "source checkout" "$out/train.txt" || fail "train in the bundle: exit $rc, $(cat "$out/train.txt")"
# ... and no module of the lab package in the bundle's archive (a name test on paths would also hit e.g.
# torch's datapipes/callable.py), nor a lab/ folder beside it. (Here-strings, not `echo | grep -q`: with
# pipefail, grep -q's early exit fails the echo.)
modules=$(.venv/bin/pyi-archive_viewer -r -b "$EXE" 2>/dev/null) || fail "pyi-archive_viewer could not list the bundle"
grep -qE "^ *app\.workflow\.analyze$" <<< "$modules" || fail "the bundle's module list lacks the app (listing broken?)"
! grep -qE "^ *lab(\.|$)" <<< "$modules" || fail "the bundle holds lab modules: $(echo "$modules" | grep -E "^ *lab(\.|$)" | head -3)"
[ ! -e dist/cardiotrace/_internal/lab ] || fail "the bundle holds a lab/ folder"

# Start-up time to the first window, on a virtual screen.
start=$(date +%s.%N)
QT_QPA_PLATFORM=offscreen CARDIOTRACE_EXIT_AFTER_SHOW=1 "$EXE" "$DEMO" || fail "GUI start"
end=$(date +%s.%N)
echo "bundle size: $(du -sh dist/cardiotrace | cut -f1)"
echo "start-up to first window: $(echo "$end - $start" | bc) s"
echo "installer smoke test passed"
