"""The viewer started as a user starts it (`cardiotrace FILE`), in fresh processes, against a previous release.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_startup.py                  # the demo A4C clip, 5 runs each
    QT_QPA_PLATFORM=offscreen python benchmarks/gui_startup.py --baseline 0f5f496 --repeat 7 --path clip.dcm

Each run is a new Python process that does what app.ui.main.run_gui does: the window, the file opened from the
event loop at once, the device probe and import warm-up 300 ms later. A 5 ms timer on the GUI thread measures
its gaps from the window's first paint until the warm-up is done. The table gives, per tree (median over the
runs): seconds from the process start to the window shown, to the file's first frame on screen and to the end
of the warm-up; the first paint's ms; the GUI thread's stalls over 100 ms after it and its longest gap. Runs
alternate between the trees (a detached git worktree of --baseline, default the branch point with main), so
a change in the machine's load hits both alike. benchmarks/gui_responsiveness.py measures the rest of a
session (opening, playback, the first analysis, edits) in one process.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # the child's clock starts before its imports

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STALL_MS = 100.0
COLUMNS = ("shown_s", "first_frame_s", "warm_up_done_s", "first_paint_ms", "stalls", "max_gap_ms")


def child(path: str, timeout_s: float = 120.0) -> dict:
    """One start-up in this process (the tree on PYTHONPATH); returns the measurements."""
    from PySide6.QtCore import QTimer

    from app.ui.main import create_app
    from app.ui.main_window import MainWindow

    app = create_app()
    window = MainWindow()
    window.resize(1500, 950)
    window.show()
    shown = time.perf_counter() - T0
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000.0)
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(5)
    QTimer.singleShot(0, lambda: window.open_paths([path]))
    started: list = []
    QTimer.singleShot(300, lambda: started.append(window.load_device_label()))
    first_frame = None
    while time.perf_counter() - T0 < timeout_s:
        app.processEvents()
        time.sleep(0.001)
        if first_frame is None and window.cine.image.image is not None:
            first_frame = time.perf_counter() - T0
        if started and started[0].isFinished() and first_frame is not None:
            break
    done = time.perf_counter() - T0
    timer.stop()
    window.controller.wait_for_workers()
    window.close()
    after_paint = gaps[1:]  # the first gap is the window's first paint, before anything can be clicked
    return {"shown_s": shown, "first_frame_s": first_frame or float("nan"), "warm_up_done_s": done,
            "first_paint_ms": gaps[0] if gaps else float("nan"),
            "stalls": sum(g > STALL_MS for g in after_paint), "max_gap_ms": max(after_paint, default=0.0)}


def run_tree(root: Path, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "CARDIOTRACE_MODELS_DIR": str(root / "models"),
           "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(path)], cwd=root, env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", type=Path, default=REPO / "resources/demo/a4c.dcm", help="the file opened")
    parser.add_argument("--repeat", type=int, default=5, help="runs per tree (default 5)")
    parser.add_argument("--baseline", default=None, help="git ref of the previous release (default: merge-base "
                                                         "with main; 'none': this checkout only)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pipeline import baseline_root, branch_point

    roots = {"current": REPO}
    if args.baseline != "none":
        roots = {"previous": baseline_root(args.baseline or branch_point()), **roots}
    print(f"{args.path.name}; trees {', '.join(f'{k} {v}' for k, v in roots.items())}; load {os.getloadavg()}")
    runs: dict[str, list[dict]] = {name: [] for name in roots}
    for _ in range(args.repeat):
        for name, root in roots.items():
            runs[name].append(run_tree(root, args.path.resolve()))
    print(f"{'tree':<9}" + "".join(f"{c:>16}" for c in COLUMNS) + "   (medians; stalls: runs' counts)")
    for name, values in runs.items():
        cells = [f"{statistics.median(v[c] for v in values):16.2f}" for c in COLUMNS if c != "stalls"]
        cells.insert(COLUMNS.index("stalls"), f"{' '.join(str(v['stalls']) for v in values):>16}")
        print(f"{name:<9}" + "".join(cells))
    print(f"load after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
