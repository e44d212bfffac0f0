"""Cohort throughput on Dask: recordings per minute with 1 and with 2 local workers.

    python benchmarks/cohort.py                 # 20 phantom A4C clips (made once in --out)
    python benchmarks/cohort.py --clips 40 --workers 1 2 4
    python benchmarks/cohort.py --repeat 3          # 1, 2, 1, 2, 1, 2 workers: the speed-up of each repetition
    python benchmarks/cohort.py --repeat 3 --baseline /tmp/old_checkout   # and the same runs of another tree
    python benchmarks/cohort.py --size 454x487 --fps 55 --beats 2      # clips of a clinical size and length

Each run is `python -m app analyze CLIPS --out DIR --exports none --workers N` in a fresh output folder (the
whole batch: reading, segmentation, ED/ES, volumes, strain, result files), wall clock from the shell, so the
workers' start-up (imports, models) is included. Torch and OpenCV threads are 1 per worker. With --repeat the
worker counts alternate, so a change in the machine's load hits them alike; the median speed-up is printed.
The load average is printed with every run: other processes on the same cores lower the speed-up.

Each run also splits its wall clock, from the batch's manifest.json (seconds per recording, measured in the task):
the tasks' own seconds per worker, the first task of a worker (its imports and models: torch, SciPy's signal
package, pydicom, the networks), and the rest ("outside the tasks": interpreter start, the cluster's start and
close). A fixed cost paid once per run, whatever the number of workers, caps the speed-up of a short cohort:
with F seconds of it and T seconds of tasks on one worker, two workers give at most (F + T) / (F + T / 2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_clips(folder: Path, n: int, size: str = "192x192", fps: int = 30, beats: int = 1,
               jobs: int = 1) -> list[Path]:
    """n phantom A4C clips (made once), `jobs` rendered at a time (one core each)."""
    from concurrent.futures import ThreadPoolExecutor

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"phantom_{seed:03d}.dcm" for seed in range(n)]

    def render(seed: int) -> None:
        if not paths[seed].exists():
            subprocess.run([sys.executable, "-m", "app", "phantom", "--modality", "echo", "--view", "a4c",
                            "--beats", str(beats), "--fps", str(fps), "--size", size, "--seed", str(seed),
                            "--edv", str(100 + seed), "--no-truth", "--out", str(paths[seed])],
                           cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=_env())

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        list(pool.map(render, range(n)))
    return paths


def _env(root: Path = REPO) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "CARDIOTRACE_MODELS_DIR": str(root / "models")}


def run(clips_dir: Path, out: Path, workers: int, root: Path = REPO) -> float:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "analyze", str(clips_dir), "--out", str(out), "--exports",
                           "none", "--workers", str(workers)], cwd=root, env=_env(root), capture_output=True,
                          text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"workers={workers}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return seconds


def task_seconds(out: Path) -> list[float]:
    """Seconds of each recording's task in a finished batch folder (its manifest.json), in finishing order."""
    items = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["items"].values()
    return [float(item["seconds"]) for item in items]


def split_line(wall_s: float, tasks_s: list[float], workers: int) -> str:
    """Where a run's wall clock went: task seconds per worker (the median task), and the rest."""
    per_worker = sum(tasks_s) / workers
    return (f"tasks {sum(tasks_s):.1f} s in all ({per_worker:.1f} s per worker; median task "
            f"{statistics.median(tasks_s):.2f} s, slowest {max(tasks_s):.2f} s: a worker's first), outside the "
            f"tasks {wall_s - per_worker:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", type=Path, default=Path("/tmp/cardiotrace_cohort_bench"))
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of the worker counts, alternating")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. a git worktree of main) run alike")
    parser.add_argument("--size", default="192x192",
                        help="phantom clip size ROWSxCOLS (default 192x192; 454x487 is the real-resolution A4C DICOM "
                             "of issue 33)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--beats", type=int, default=1)
    parser.add_argument("--render-jobs", type=int, default=os.cpu_count() or 1,
                        help="clips rendered at a time (default: one per core)")
    args = parser.parse_args()
    shape = f"{args.size}_{args.fps}hz_{args.beats}beats"
    clips_dir = args.out / ("clips" if shape == "192x192_30hz_1beats" else f"clips_{shape}")
    clips = make_clips(clips_dir, args.clips, args.size, args.fps, args.beats, args.render_jobs)
    trees = {"current": REPO, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    device = os.environ.get("CARDIOTRACE_DEVICE", "the app's choice")
    print(f"{len(clips)} clips; device {device}; trees {trees}; load before: {os.getloadavg()}; "
          f"cores: {os.cpu_count()}", flush=True)
    speedups: dict[tuple[str, int], list[float]] = {(t, n): [] for t in trees for n in args.workers[1:]}
    for rep in range(args.repeat):
        for tree, root in trees.items():
            rates = {}
            for n in args.workers:
                seconds = run(clips_dir, args.out / f"results_{n}", n, root)
                rates[n] = 60.0 * len(clips) / seconds
                print(f"[{rep + 1}] {tree} workers {n}: {seconds:.1f} s, {rates[n]:.1f} recordings/min, "
                      f"load {os.getloadavg()}", flush=True)
                print(f"    {split_line(seconds, task_seconds(args.out / f'results_{n}'), n)}", flush=True)
            for n in args.workers[1:]:
                speedups[tree, n].append(rates[n] / rates[args.workers[0]])
                print(f"[{rep + 1}] {tree} speed-up {n} vs {args.workers[0]} workers: {speedups[tree, n][-1]:.2f}x",
                      flush=True)
    for (tree, n), values in speedups.items():
        print(f"{tree}: speed-up {n} vs {args.workers[0]} workers: median {statistics.median(values):.2f}x "
              f"({', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
