"""Pack what `train echo-clip-ef` reads into one small folder, for a GPU machine that cannot see ../shared.

The GPU machine receives the checkout and at most 64 MiB beside it. This writes into OUT (an ignored folder):

- data/camus_a4c/train/: CAMUS' train split already at the network size, 8-bit (the trainer resizes to the same
  size, so it reads the same arrays within half a grey level; 8 MB instead of 30);
- data/echonet_clips/FileList.csv: the clip list only (folds are drawn from it; the frames travel in the cache);
- beats.npz: the trusted beats' ED/ES frames (lab.training.echo_clip_data cache) and events.json they came from;
- phantom_*.npz: the rendered phantom clips, fixed and varied geometry (PhantomBank's caches, 1-2 minutes each to
  render on one core), in 8-bit grey levels;
- init/models/<name>, init/lab/notes/<name>.json: the U-Net the fine-tune starts from, with its lab record (refused when
  that record says it was fine-tuned on the clips already: every fold would start from weights that saw its clips).

    python -m lab.training.echo_clip_ef_pack .gpu --events extremes.json --init-models OLD/models
    bash lab/training/echo_clip_ef_gpu.sh 500 400 $OUT      # on the GPU machine, with `carry` [".gpu"]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser

PHANTOM_ARGS = {"n_clips": 24, "seed": 7, "views": ("a4c", "a2c", "a3c")}  # the recipe's --phantom-* flags


def pack_camus(src: Path | None, out: Path, size: int) -> int:
    """CAMUS train cases resized to size x size as 8-bit npz files of the same keys; returns the count."""
    from lab.training.camus_data import case_paths, load_case, resize_image, resize_labels

    out.mkdir(parents=True, exist_ok=True)
    paths = case_paths("train", src)
    for path in paths:
        case = load_case(path)
        images = [np.clip(np.rint(resize_image(im, size) * 255.0), 0, 255).astype(np.uint8) for im in case.images]
        labels = [resize_labels(lb, size) for lb in case.labels]
        rows, cols = case.images.shape[1:]
        spacing = np.array([case.spacing_mm[0] * rows / size, case.spacing_mm[1] * cols / size], np.float32)
        np.savez_compressed(out / path.name, ed=images[0], es=images[1], ed_gt=labels[0], es_gt=labels[1],
                            spacing_mm=spacing)
    return len(paths)


def save_8bit_frames(src: Path, dst: Path) -> None:
    """A phantom cache with its frames rounded to 8-bit grey levels (kept float32, the trainer's type): the same
    half-grey-level precision as the CAMUS pack, at half the size, so both geometries fit the GPU machine's 64 MiB."""
    with np.load(src) as data:
        arrays = {k: (np.rint(v * 255.0) / 255.0).astype(np.float32) if k.startswith("f") and k[1:].isdigit() else v
                  for k, v in data.items()}
    np.savez_compressed(dst, **arrays)


def pack(out: Path, events: Path, init_models: Path, clips: Path, camus: Path | None, name: str, size: int) -> None:
    from lab.training.checkpoint import checkpoint_path
    from lab.training.echo_clip_data import load_clip_beats
    from lab.training.echo_clip_ef import clip_fine_tune
    from lab.training.phantom_sequences import GEOMETRIES, PhantomBank

    record = json.loads((init_models.parent / "lab" / "notes" / f"{name}.json").read_text(encoding="utf-8"))
    seen = clip_fine_tune(record.get("command_history", []))
    if seen:  # the GPU script trains folds; they would be scored on clips their start already saw
        raise SystemExit(f"{init_models / name} was already fine-tuned on the clinical clips ({seen[:80]}...): "
                         "pack a model that never saw them (the one the shipped fine-tune started from)")
    n = pack_camus(camus, out / "data" / "camus_a4c" / "train", size)
    (out / "data" / "echonet_clips").mkdir(parents=True, exist_ok=True)
    shutil.copy2(clips / "FileList.csv", out / "data" / "echonet_clips" / "FileList.csv")
    shutil.copy2(events, out / "events.json")
    beats = load_clip_beats(clips, events, size, out / "beats.npz")
    cache = checkpoint_path("echo_seg_temporal", None).parent  # where the trainer keeps (and reuses) them
    for geometry in GEOMETRIES:  # either --phantom-geometry
        bank = PhantomBank.build(size=size, cache_dir=cache, geometry=geometry, **PHANTOM_ARGS)
        phantom = PhantomBank.cache_file(cache, size=size, geometry=geometry, **PHANTOM_ARGS)
        save_8bit_frames(phantom, out / phantom.name)
    shutil.copytree(init_models / name, out / "init" / "models" / name, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.onnx"))  # the trainer starts from model.pt
    (out / "init" / "lab" / "notes").mkdir(parents=True, exist_ok=True)
    shutil.copy2(init_models.parent / "lab" / "notes" / f"{name}.json", out / "init" / "lab" / "notes")
    print(f"packed {n} CAMUS cases, {len(beats)} clips' beats, {len(bank.frames)} phantom clips and {name} in {out}")


def main(argv: list[str] | None = None) -> int:
    from lab.training.camus_data import DEFAULT_ROOT
    from lab.training.echo_clip_ef import DEFAULT_CLIPS

    p = OneLineParser(prog="python -m lab.training.echo_clip_ef_pack", description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--events", type=Path, required=True, help="`evaluate echo-clips --json` of the starting model")
    p.add_argument("--init-models", type=Path, required=True,
                   help="models folder holding the starting U-Net; its lab record in ../lab/notes")
    p.add_argument("--clips", type=Path, default=DEFAULT_CLIPS)
    p.add_argument("--camus", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--name", default="echo_seg_base")
    p.add_argument("--size", type=int, default=128)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    pack(args.out, args.events, args.init_models, args.clips, args.camus, args.name, args.size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
