"""Wall time of `python -m app analyze` of a 20-frame clip, start-up included, against a previous release.

    python benchmarks/startup.py                     # the 20-frame phantom clip of benchmarks/pipeline.py, 5 runs each
    python benchmarks/startup.py --clip a4c.dcm --repeat 9 --baseline main

The runs alternate between the previous release (a detached git worktree of --baseline, default the branch
point with main) and this checkout, so a change in the machine's load hits both alike; the table gives each
tree's median and the ratio, the load average before and after, and whether the two JSON results are
identical. Environment as benchmarks/pipeline.py's start-up row: torch with bf16 autocast, 1 thread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipeline import BACKENDS, REPO, _env, baseline_root, branch_point, phantom_clip, short_clip


def analyze_seconds(root: Path, backend: str, clip: Path, out_json: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app", "analyze", str(clip), "--view", "a4c", "--json", str(out_json)],
                   cwd=root, env=_env(root, backend), check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="the clip to analyze (default: 20 frames of the phantom A4C)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per tree (default 5)")
    parser.add_argument(
        "--baseline", default=None, help="git ref of the previous release (default: merge-base with main)"
    )
    parser.add_argument("--backend", default="bf16 torch", choices=tuple(BACKENDS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/cardiotrace_bench"), help="work folder")
    args = parser.parse_args()
    clip = args.clip.resolve() if args.clip else short_clip(phantom_clip(args.out), 20, args.out)
    roots = {"previous": baseline_root(args.baseline or branch_point()), "current": REPO}
    print(f"clip {clip.name}; previous {roots['previous']}; load before {os.getloadavg()}", flush=True)
    seconds: dict[str, list[float]] = {name: [] for name in roots}
    for _ in range(args.repeat):
        for name, root in roots.items():
            seconds[name].append(analyze_seconds(root, args.backend, clip, args.out / f"startup_{name}.json"))
    for name, values in seconds.items():
        print(f"{name:<9} median {statistics.median(values):.2f} s   runs {' '.join(f'{v:.2f}' for v in values)}")
    ratio = statistics.median(seconds["previous"]) / statistics.median(seconds["current"])
    same = all(json.loads((args.out / f"startup_{n}.json").read_text()) == json.loads(
        (args.out / "startup_current.json").read_text()) for n in roots)
    print(f"ratio previous / current {ratio:.2f}; JSON identical: {same}; load after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
