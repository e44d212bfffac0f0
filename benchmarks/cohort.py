"""Cohort throughput on Dask: recordings per minute with 1 and with 2 local workers.

    python benchmarks/cohort.py                 # 20 phantom A4C clips (made once in --out)
    python benchmarks/cohort.py --clips 40 --workers 1 2 4

Each run is `python -m app analyze CLIPS --out DIR --exports none --workers N` in a fresh output folder (the
whole batch: reading, segmentation, ED/ES, volumes, strain, result files), wall clock from the shell, so the
workers' start-up (imports, models) is included. Torch threads are 1 per worker. The machine's load
average before and after is printed: other processes on the same cores lower the speed-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_clips(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(n):
        path = folder / f"phantom_{seed:03d}.dcm"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "app", "phantom", "--modality", "echo", "--view", "a4c",
                            "--beats", "1", "--fps", "30", "--size", "192x192", "--seed", str(seed),
                            "--edv", str(100 + seed), "--no-truth", "--out", str(path)],
                           cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=_env())
        paths.append(path)
    return paths


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run(clips_dir: Path, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "analyze", str(clips_dir), "--out", str(out), "--exports",
                           "none", "--workers", str(workers)], cwd=REPO, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"workers={workers}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=Path("/tmp/cardiotrace_cohort_bench"))
    args = parser.parse_args()
    clips = make_clips(args.out / "clips", args.clips)
    print(f"{len(clips)} clips; load before: {os.getloadavg()}; cores: {os.cpu_count()}", flush=True)
    rates = {}
    for n in args.workers:
        seconds = run(args.out / "clips", args.out / f"results_{n}", n)
        rates[n] = 60.0 * len(clips) / seconds
        print(f"workers {n}: {seconds:.1f} s, {rates[n]:.1f} recordings/min, load {os.getloadavg()}", flush=True)
    first = rates[args.workers[0]]
    for n in args.workers[1:]:
        print(f"speed-up {n} vs {args.workers[0]} workers: {rates[n] / first:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
