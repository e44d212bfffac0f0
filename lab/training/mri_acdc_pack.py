"""Pack what `train mri-seg-acdc` reads into one small folder, for a GPU machine that cannot see ../shared.

The grid samples the trainer caches (lab/training/mri_acdc_data.load_all: 80 patients, float16 on the 1.25 mm
grid) are 350 MB; the GPU machine receives the checkout and at most 64 MiB beside it. The pack keeps of each
patient only the square of MARGIN_PX around the heart's centre that a training crop can reach (crop / 2 + jitter:
the default 128 px crop moved by 32 px needs 96; a larger crop or jitter needs a pack of its own, `--margin`), its
images in 8 bits (the samples are 0..1: a step of 1/255), LZMA-compressed (MR noise leaves deflate at 80 %: 52 MiB
at 112 px, 35 MiB at 96 with LZMA); and ACDC's index.csv (the groups the folds are stratified by).

    python -m lab.training.mri_acdc_pack pack .gpu_mri                       # here, once (about 40 s)
    python -m lab.training.mri_acdc_pack unpack .gpu_mri                     # on the GPU machine, before training
    python -m app train mri-seg-acdc --data .gpu_mri/acdc --fold 0 ...       # reads the unpacked cache
    python -m lab.training.mri_acdc_pack resume .gpu_mri --tag gpu          # the runs brought back, to go on there

`unpack` writes the cache where load_all looks for it ($CARDIOTRACE_CHECKPOINTS_DIR/mri_data), so the trainer
runs unchanged; the crops are whole-slice grids of their own, the heart's centre moved with them.
`resume` puts each fold's checkpoint (checkpoints/mri_acdc_<k>_<tag>/last.pt) into the pack's ckpt/ without the
optimiser's moments and with float16 weights (0.7 MB a fold instead of 4.4): the pack and five full checkpoints
exceed what travels; the trainer restarts AdamW's moments on such a checkpoint.
"""

from __future__ import annotations

import io
import lzma
import shutil
import sys
from pathlib import Path

import numpy as np

from app.analysis.lv_localise import crop_around
from app.commands.usage import OneLineParser
from lab.training.mri_acdc_data import SAMPLES_VERSION, AcdcSlices, load_all
from lab.training.mri_acdc_folds import ACDC

MARGIN_PX = 96  # crop / 2 + jitter of the recipe's crops (128 px moved by up to 32)
PACK_FILE = "acdc_pack.npz.xz"


def cropped(p: AcdcSlices, margin: int) -> AcdcSlices:
    """The patient's samples within `margin` px of its heart centre, the centre moved into the crop."""
    size = 2 * margin
    images, (top, left) = crop_around(p.images, p.centre_rc, size)
    labels, _ = crop_around(p.labels, p.centre_rc, size)
    return AcdcSlices(p.patient, p.group, images, labels, (p.centre_rc[0] - top, p.centre_rc[1] - left))


def pack(out: Path, data: Path, cache_dir: Path, margin: int = MARGIN_PX) -> int:
    """Write out/acdc/index.csv and out/acdc_pack.npz; returns the number of patients."""
    patients = [cropped(p, margin) for p in load_all(data, cache_dir)]
    (out / "acdc").mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(data) / "index.csv", out / "acdc" / "index.csv")
    arrays = {}
    for i, p in enumerate(patients):
        arrays[f"images_{i}"] = np.clip(np.rint(p.images.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
        arrays[f"labels_{i}"] = p.labels
    meta = np.array([(p.patient, p.group, *p.centre_rc) for p in patients], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, meta=meta, **arrays)
    (out / PACK_FILE).write_bytes(lzma.compress(buffer.getvalue(), preset=6))
    return len(patients)


def unpack(folder: Path, cache_dir: Path) -> Path:
    """Write the trainer's cache (the format load_all reads) from a pack; returns its path."""
    from app.ml.mri_preprocess import GRID_MM

    raw = lzma.decompress((Path(folder) / PACK_FILE).read_bytes())
    with np.load(io.BytesIO(raw), allow_pickle=True) as data:
        patients = [AcdcSlices(str(name), str(group), (data[f"images_{i}"] / np.float32(255.0)).astype(np.float16),
                               data[f"labels_{i}"], (float(r), float(c)))
                    for i, (name, group, r, c) in enumerate(data["meta"])]
    path = Path(cache_dir) / f"acdc_slices_grid{GRID_MM:g}_v{SAMPLES_VERSION}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, patients=np.array([p.__dict__ for p in patients], dtype=object))
    return path


def slim_checkpoints(folder: Path, checkpoints: Path, tag: str) -> list[tuple[Path, int]]:
    """(folder/ckpt/mri_acdc_<k>_<tag>/last.pt, its step) for every fold trained: weights in float16, no optimiser
    state."""
    import torch

    written = []
    for source in sorted(Path(checkpoints).glob(f"mri_acdc_[0-9]_{tag}/last.pt")):
        state = torch.load(source, map_location="cpu", weights_only=False)
        state.pop("optimizer", None)
        state["model"] = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
        target = Path(folder) / "ckpt" / source.parent.name / "last.pt"
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, target)
        written.append((target, int(state["step"])))
    return written


def main(argv: list[str] | None = None) -> int:
    from lab.training.checkpoint import CHECKPOINTS_DIR

    p = OneLineParser(prog="python -m lab.training.mri_acdc_pack", description=__doc__.split("\n")[0])
    p.add_argument("action", choices=("pack", "unpack", "resume"))
    p.add_argument("folder", type=Path)
    p.add_argument("--data", type=Path, default=ACDC, help="ACDC folder (pack)")
    p.add_argument("--margin", type=int, default=MARGIN_PX)
    p.add_argument("--tag", default="gpu", help="the runs to resume (resume)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    cache = CHECKPOINTS_DIR / "mri_data"
    if args.action == "pack":
        n = pack(args.folder, args.data, cache, args.margin)
        size = (args.folder / PACK_FILE).stat().st_size / 2**20
        print(f"packed {n} ACDC patients ({2 * args.margin} px around the heart, 8-bit) in {args.folder}: "
              f"{size:.1f} MiB")
    elif args.action == "resume":
        written = slim_checkpoints(args.folder, CHECKPOINTS_DIR, args.tag)
        if not written:
            print(f"no checkpoints/mri_acdc_<fold>_{args.tag}/last.pt under {CHECKPOINTS_DIR}", file=sys.stderr)
            return 2
        print("\n".join(f"{path}: step {step}" for path, step in written))
    else:
        print(f"unpacked to {unpack(args.folder, cache)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
