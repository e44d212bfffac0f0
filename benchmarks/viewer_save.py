"""The viewer's work after an echo analysis, against a baseline commit in the same run.

    python benchmarks/viewer_save.py                    # the long phantom clip (benchmarks/pipeline.py's), vs HEAD~1
    python benchmarks/viewer_save.py --baseline 3d6b884 --repeat 3

Times, in milliseconds, on the analysis' worker: `editable_controls` (what the viewer runs after `analyze_recording`
before it shows editable contours); on the GUI thread: the first autosave document (`StudyState.document`); on
the autosave's writer: the first write of it (`autosave.save`, JSON text and fsync) and a second write (the
contours' text made). Each code runs in its own subprocess (the baseline from a detached git worktree), alternating,
--repeat times, the fastest kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = (("editable_controls", "analysis worker"), ("first_document", "GUI thread"),
        ("first_write", "autosave writer"), ("second_write", "autosave writer"))


def measure(clip: Path) -> dict[str, float]:
    """This code's timings on `clip` (run in a subprocess whose cwd is the code's checkout)."""
    os.environ["CARDIOTRACE_DATA_DIR"] = tempfile.mkdtemp()
    from app.data.readers import load_recording
    from app.tasks import run_task
    from app.workflow import autosave
    from app.workflow.analyze import analyze_recording
    from app.workflow.study import StudyState
    from app.workflow.study_analysis import ViewerAnalysis, editable_controls

    rec = load_recording(clip).with_view("a4c")
    analysis = run_task(analyze_recording(rec))
    out: dict[str, float] = {}
    t = time.perf_counter()
    controls = editable_controls(analysis)
    out["editable_controls"] = time.perf_counter() - t
    study = StudyState()
    study.set_analysis(study.add_recording(analysis.recording), ViewerAnalysis(analysis, controls))
    study.document(0)  # first-use imports and the source fingerprint, not the contours
    t = time.perf_counter()
    document = study.document(0)
    out["first_document"] = time.perf_counter() - t
    for key in ("first_write", "second_write"):
        t = time.perf_counter()
        autosave.save(document, study.save_key(0))
        out[key] = time.perf_counter() - t
        document = study.document(0)
    return {k: 1000.0 * v for k, v in out.items()}


def run_child(code: Path, clip: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    text = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(clip)], cwd=code, env=env,
                          check=True, capture_output=True, text=True).stdout
    return json.loads(text.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", default="HEAD~1", help="git ref of the code to compare with")
    p.add_argument("--clip", type=Path, help="an apical echo clip (default: benchmarks/pipeline.py's phantom)")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "cardiotrace_bench")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(measure(args.child)))
        return 0
    sys.path.insert(0, str(REPO / "benchmarks"))
    from pipeline import phantom_clip

    clip = args.clip.resolve() if args.clip else phantom_clip(args.out)
    worktree = args.out / "viewer_save_baseline"
    subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, capture_output=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.baseline], cwd=REPO, check=True,
                   capture_output=True)
    try:
        best: dict[str, dict[str, float]] = {"baseline": {}, "current": {}}
        for _ in range(args.repeat):
            for name, code in (("baseline", worktree), ("current", REPO)):
                for key, ms in run_child(code, clip).items():
                    best[name][key] = min(ms, best[name].get(key, float("inf")))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, capture_output=True)
    print(f"{clip.name}, fastest of {args.repeat}, ms: {args.baseline} / current (ratio)")
    for key, where in ROWS:
        old, new = best["baseline"][key], best["current"][key]
        print(f"  {key:<18} {where:<16} {old:8.1f} / {new:8.1f}  (x{old / max(new, 1e-9):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
