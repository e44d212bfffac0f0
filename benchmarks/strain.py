"""Milliseconds per frame of the whole strain pipeline (centerlines, motion, Kalman, strain) on this CPU.

    .venv/bin/python benchmarks/strain.py [--size 256] [--repeats 3] [--motion classical|learned|both]

Renders one phantom A4C clip (not timed), then runs app.workflow.strain_pipeline.run_strain on it.
Prints wall-clock and process CPU time per frame (the CPU time is the fairer figure when other jobs
share the machine) and the per-stage split of one run. Target: <= 20 ms per frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.analysis.centerline import centerline_from_labels  # noqa: E402
from app.analysis.motion_classical import ClassicalFlow  # noqa: E402
from app.workflow.strain_pipeline import run_strain  # noqa: E402


def _time(fn, repeats: int) -> tuple[float, float]:
    """(best wall s, best process-CPU s) of fn() over repeats."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256, help="image rows = cols")
    p.add_argument("--frame-rate", type=float, default=50.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--motion", choices=("classical", "learned", "both"), default="classical")
    args = p.parse_args(argv)

    from app.data.phantom import EchoPhantomParams, make_echo

    case = make_echo(EchoPhantomParams(view="a4c", beats=1, quality="good", frame_rate_hz=args.frame_rate,
                                       image_shape_px=(args.size, args.size)), seed=3)
    rec, truth = case.recording, case.truth
    n = rec.n_frames
    print(f"clip: {n} frames of {args.size}x{args.size}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    motions = ("classical", "learned") if args.motion == "both" else (args.motion,)
    for motion in motions:
        if motion == "learned":
            from app.ml.motion import load_learned_flow

            estimator = load_learned_flow()
        else:
            estimator = ClassicalFlow("dis")
        wall, cpu = _time(
            lambda estimator=estimator: run_strain(
                rec, truth.labels, truth.ed_frames, es_frames=truth.es_frames, flow_estimator=estimator
            ),
            args.repeats,
        )
        print(f"{motion:>9}: {1000 * wall / n:6.1f} ms/frame wall, {1000 * cpu / n:6.1f} ms/frame CPU (whole pipeline)")
        frames = rec.frames.astype(np.float32) / 255.0
        fw, fc = _time(lambda estimator=estimator, frames=frames: [estimator(frames[t], frames[t + 1])
                                                                   for t in range(n - 1)], 1)
        print(f"{'':>9}  motion field alone: {1000 * fw / (n - 1):6.1f} ms/pair wall, {1000 * fc / (n - 1):6.1f} CPU")
    cw, cc = _time(lambda: [centerline_from_labels(lab) for lab in truth.labels], 1)
    print(f"{'':>9}  centerline alone: {1000 * cw / n:6.1f} ms/frame wall, {1000 * cc / n:6.1f} CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
