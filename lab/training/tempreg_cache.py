"""Build the TempReg-Net clip cache once: `python -m lab.training.tempreg_cache [--camus N] [--phantom N]`.

Writes checkpoints/ed_es_data/{train,val}_<source>.npz. CAMUS clips come from the train split for
training and the valid split for validation (patients disjoint); phantom clips use seeds 100000+ for
training and 200000+ for validation (MR: +50000), disjoint from the evaluation seeds (300000+ echo,
310000+ MR, evaluation_edes).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from lab.training.checkpoint import CHECKPOINTS_DIR
from lab.training.tempreg_sample import TrainClip, save_clips

DATA_DIR = CHECKPOINTS_DIR / "ed_es_data"
PHANTOM_TRAIN_SEED = 100_000
PHANTOM_VAL_SEED = 200_000
MRI_SEED_OFFSET = 50_000  # MR clips: 150000+ (training), 250000+ (validation)


def camus_clips(split: str, per_case: int, seed: int, size: int = 64, limit: int | None = None) -> list[TrainClip]:
    """per_case random clips from every CAMUS patient of the split."""
    from lab.training.camus_data import case_paths, load_case
    from lab.training.tempreg_camus import camus_clip, es_to_ed_flow, shrink_case

    rng = np.random.default_rng(seed)
    clips = []
    for path in case_paths(split)[:limit]:
        full = load_case(path)
        case, flow = shrink_case(full, es_to_ed_flow(full), 2 * size)
        clips += [camus_clip(case, flow, rng, size) for _ in range(per_case)]
    return clips


def phantom_chunks(out: Path, prefix: str, modality: str, first_seed: int, count: int, warps: int,
                   chunk: int = 6) -> None:
    """Render count phantom clips from first_seed on; every `chunk` clips (plus `warps` warped clips per
    echo case) go to <out>/<prefix>_phantom_<modality>_<first seed>.npz, so an interrupted run keeps its work and a
    rerun skips finished chunks."""
    from lab.training.tempreg_phantom import make_case, phantom_clip_from_case, phantom_warp_clips

    for begin in range(first_seed, first_seed + count, chunk):
        path = out / f"{prefix}_phantom_{modality}_{begin}.npz"
        if path.is_file():
            continue
        clips: list[TrainClip] = []
        for seed in range(begin, min(begin + chunk, first_seed + count)):
            try:
                case = make_case(seed, modality)
            except ValueError as exc:  # e.g. the heart does not fit the sector
                print(f"seed {seed} ({modality}) skipped: {exc}", flush=True)
                continue
            clips.append(phantom_clip_from_case(case, seed, modality))
            if warps:
                clips += phantom_warp_clips(case, warps, np.random.default_rng(seed))
        if clips:
            save_clips(path, clips)
            print(f"{path.name}: {len(clips)} clips", flush=True)


def phantom_warp_chunks(out: Path, first_seed: int, count: int, warps: int, chunk: int = 4) -> None:
    """Clips warped from the ED/ES frames of cheap one-beat phantom echoes (make_short_echo), chunked."""
    from lab.training.tempreg_phantom import make_short_echo, phantom_warp_clips

    for begin in range(first_seed, first_seed + count, chunk):
        path = out / f"train_phantomwarp_{begin}.npz"
        if path.is_file():
            continue
        clips: list[TrainClip] = []
        for seed in range(begin, min(begin + chunk, first_seed + count)):
            try:
                clips += phantom_warp_clips(make_short_echo(seed), warps, np.random.default_rng(seed))
            except ValueError as exc:
                print(f"seed {seed} skipped: {exc}", flush=True)
        if clips:
            save_clips(path, clips)
            print(f"{path.name}: {len(clips)} clips", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m lab.training.tempreg_cache")
    parser.add_argument("--camus", type=int, default=2, help="clips per CAMUS train patient (0: none)")
    parser.add_argument("--phantom", type=int, default=0, help="phantom training clips (0: none)")
    parser.add_argument("--phantom-val", type=int, default=12)
    parser.add_argument("--modality", choices=("echo", "mri"), default="echo")
    parser.add_argument("--warps", type=int, default=4, help="warped clips per rendered phantom echo")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--phantom-warp", type=int, default=0, help="one-beat phantoms to warp (seeds 120000+)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    if args.phantom_warp:
        phantom_warp_chunks(args.out, PHANTOM_TRAIN_SEED + 20_000, args.phantom_warp, warps=6)
    if args.camus:
        save_clips(args.out / "train_camus.npz", camus_clips("train", args.camus, seed=1))
        save_clips(args.out / "val_camus.npz", camus_clips("valid", 1, seed=2))
        print(f"camus clips written ({time.monotonic() - start:.0f} s)", flush=True)
    if args.phantom:
        offset = 0 if args.modality == "echo" else MRI_SEED_OFFSET
        phantom_chunks(args.out, "val", args.modality, PHANTOM_VAL_SEED + offset, args.phantom_val, warps=0)
        phantom_chunks(args.out, "train", args.modality, PHANTOM_TRAIN_SEED + offset, args.phantom,
                       warps=args.warps if args.modality == "echo" else 0)
        print(f"phantom clips written ({time.monotonic() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
