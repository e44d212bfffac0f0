"""`python -m app train view`: train the echo view classifier (app.ml.nets.view_classifier.ViewNet).

Data (lab.training.view_data): REAL CAMUS A4C train frames + phantom A4C/A2C/A3C clips + 'other'
(phantom MRI, synthetic sectors, tile-shuffled CAMUS). PLAX and PSAX have no data and are masked in the
network. Each batch draws classes uniformly, then a source of that class uniformly, then a frame.
Augmentations: gain, gamma, rotation +-10 deg about the probe (top centre) with scale 0.9-1.1 and a
small shift, multiplicative speckle noise, Gaussian blur. No flips: a mirrored apical view puts the
chambers on the other side of the screen (a display convention this app does not use), so a flip
would teach the network images it never gets.
Resumable: checkpoints/<run>/last.pt (+ the rendered data cache data_*.npz). --publish writes
models/view/{model.pt,metadata.json} with the validation of lab.evaluation.view.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

import cv2
import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.camus_data import DEFAULT_ROOT, require_splits
from lab.training.checkpoint import (
    TrainingClock,
    add_run_arguments,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)

TRAINED_CLASSES = ("a4c", "a2c", "a3c", "other")
DATA_BY_VIEW = {"a4c": "real", "a2c": "phantom only", "a3c": "phantom only", "plax": "none", "psax": "none",
                "other": "phantom only"}
CAMUS_CITATION = ("Leclerc et al., Deep Learning for Segmentation using an Open Large-Scale Dataset in 2D "
                  "Echocardiography, IEEE TMI 38(9):2198-2210, 2019, doi:10.1109/TMI.2019.2900516")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train view", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None,
                   help="camus_a4c folder (train/ valid/); without it the shared one, or the phantom alone")
    p.add_argument("--steps", type=positive_int, default=6000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=96, help="network input side (px)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clips", type=int, default=24, help="phantom training clips per apical view")
    p.add_argument("--frames-per-clip", type=int, default=12)
    p.add_argument("--other", type=int, default=150, help="synthetic 'other' inputs per kind")
    p.add_argument("--limit", type=int, default=None, help="first N CAMUS patients only (smoke tests)")
    p.add_argument("--val-clips", type=int, default=6, help="held-out phantom clips per view")
    p.add_argument("--export-augment", type=float, default=0.0,
                   help="probability that an input is shown as a clinical video export first (view_export)")
    add_run_arguments(p, run="view", checkpoint_minutes=2.0, threads=1)
    p.add_argument("--publish", action="store_true", help="write models/view with metadata at the end")
    return p


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, S) float32 0..1 -> augmented copy (gain, gamma, rotation/scale/shift, speckle, blur; no flips)."""
    s = x.shape[0]
    m = cv2.getRotationMatrix2D((s / 2.0, 0.0), float(rng.uniform(-10, 10)), float(rng.uniform(0.9, 1.1)))
    m[:, 2] += rng.uniform(-0.05, 0.05, 2) * s
    y = cv2.warpAffine(x, m, (s, s), flags=cv2.INTER_LINEAR, borderValue=0.0)
    if rng.random() < 0.5:
        y = y * (1.0 + rng.normal(0.0, rng.uniform(0.05, 0.35), y.shape)).astype(np.float32)
    if rng.random() < 0.5:
        y = cv2.GaussianBlur(y, (0, 0), float(rng.uniform(0.3, 1.3)))
    y = np.clip(y * rng.uniform(0.7, 1.3), 0.0, 1.0) ** rng.uniform(0.7, 1.5)
    return y.astype(np.float32)


def sample_batch(pools: dict, classes: tuple[str, ...], n: int, rng: np.random.Generator, export_p: float = 0.0):
    """(n, 1, S, S) float32 augmented inputs and (n,) int64 indices into CLASSES; each input first shown as a
    clinical video export (view_export) with probability export_p, whatever its class."""
    from app.ml.nets.view_classifier import CLASSES
    from lab.training.view_export import clinical_view_export

    xs, ys = [], []
    for _ in range(n):
        view = classes[int(rng.integers(len(classes)))]
        sources = list(pools[view].values())
        src = sources[int(rng.integers(len(sources)))]
        x = src[int(rng.integers(len(src)))]
        xs.append(augment(clinical_view_export(x, rng) if export_p > 0 and rng.random() < export_p else x, rng))
        ys.append(CLASSES.index(view))
    return np.stack(xs)[:, None], np.asarray(ys, np.int64)


def load_pools(args, log=print) -> dict:
    """Render (or read from the cache under the checkpoint folder) the training pools."""
    from lab.training.view_data import build_pools, camus_inputs

    key = f"data_s{args.size}_c{args.clips}_f{args.frames_per_clip}_o{args.other}_l{args.limit}.npz"
    cache = checkpoint_path(args.run, args.checkpoint_root).parent / key
    if cache.is_file():
        with np.load(cache) as data:
            pools: dict = {}
            for name in data.files:
                view, src = name.split("/")
                pools.setdefault(view, {})[src] = data[name]
        log(f"training data from {cache}", flush=True)
        return pools
    log("rendering training data ...", flush=True)
    try:
        camus = camus_inputs("train", args.size, args.data, args.limit)
    except FileNotFoundError:
        log("  CAMUS not found: a4c from the phantom only", flush=True)
        camus = None
    pools = build_pools(range(args.clips), args.frames_per_clip, args.size, camus, args.other, log)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **{f"{v}/{s}": a for v, d in pools.items() for s, a in d.items()})
    return pools


def main(argv: list[str] | None = None) -> int:
    import torch

    from app.ml.device import choose_device
    from app.ml.nets.view_classifier import CLASSES, ViewNet
    from lab.evaluation.view import evaluate, heldout_sets, summary_line

    args = build_parser().parse_args(argv)
    if args.data is not None:  # a folder asked for must be there; only the default may be missing
        require_splits(args.data, "train")
    else:
        args.data = DEFAULT_ROOT
    torch.set_num_threads(max(1, args.threads))
    device = choose_device()
    torch.manual_seed(args.seed)
    clock = TrainingClock(args.checkpoint_minutes, args.max_minutes)
    pools = load_pools(args)
    counts = {v: {s: int(len(a)) for s, a in d.items()} for v, d in pools.items()}
    net = ViewNet(trained=TRAINED_CLASSES).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    ckpt = checkpoint_path(args.run, args.checkpoint_root)
    state = load_checkpoint(ckpt)
    step = 0
    if state is not None:
        if int(state.get("total_steps", args.steps)) != args.steps:
            raise SystemExit(f"{ckpt} was made with --steps {state['total_steps']}; resume with the same "
                             f"--steps or start a new --run")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = int(state["step"])
        print(f"resumed at step {step}", flush=True)
    rng = np.random.default_rng(args.seed + step)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    trained_idx = torch.tensor([CLASSES.index(c) for c in TRAINED_CLASSES], device=device)
    remap = np.full(len(CLASSES), -1, np.int64)
    remap[[CLASSES.index(c) for c in TRAINED_CLASSES]] = np.arange(len(TRAINED_CLASSES))
    clock.mark_checkpoint()
    running = []

    def save_ckpt():
        save_checkpoint(ckpt, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "step": step, "total_steps": args.steps})

    while step < args.steps:
        net.train()
        x, y = sample_batch(pools, TRAINED_CLASSES, args.batch, rng, args.export_augment)
        logits = net(torch.from_numpy(x).to(device))[:, trained_idx]  # masked classes stay out of the loss
        loss = loss_fn(logits, torch.from_numpy(remap[y]).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        running.append(float(loss.item()))
        if step % 100 == 0:
            print(f"step {step} loss {np.mean(running):.4f} ({clock.minutes():.1f} min)", flush=True)
            running = []
        if clock.checkpoint_due():
            save_ckpt()
        if clock.out_of_time():
            print(f"time limit reached at step {step}", flush=True)
            break
    save_ckpt()
    metrics = evaluate(net, device, heldout_sets(args.size, args.val_clips, camus_root=args.data,
                                                 camus_limit=args.limit, clinical_limit=args.limit))
    print("validation: " + summary_line(metrics), flush=True)
    if args.publish:
        folder = _publish(net, args, step, metrics, counts)
        print(f"published {folder}", flush=True)
    return 0


def _publish(net, args, step: int, metrics: dict, counts: dict):
    from lab.model_notes import publish as save_model

    return save_model(net, "view", {
        "architecture": {"name": "ViewNet", "widths": [8, 16, 32, 48, 64], "trained_classes": list(TRAINED_CLASSES),
                         "classes": ["a4c", "a2c", "a3c", "plax", "psax", "other"]},
        "input_size": args.size,
        "input": "(B, 1, S, S) float 0..1: one frame cropped to the sector bounding box, area-resized (app.ml.view)",
        "output": "(B, 6) logits over classes; plax and psax masked (no training data)",
        "data_by_view": DATA_BY_VIEW,
        "training_data": {
            "a4c": "REAL CAMUS A4C train split ED+ES images (half of each a4c batch) + phantom A4C clips",
            "a2c": "phantom A2C clips only (no real A2C data)", "a3c": "phantom A3C clips only (no real A3C data)",
            "plax": "none (class masked)", "psax": "none (class masked)",
            "other": "phantom short-axis MRI frames; synthetic fan sectors: blank, speckle, smooth blobs; "
                     "CAMUS frames cut into 4x4 tiles and shuffled",
            "frames": counts, "phantom_train_seeds": f"view index * 1000 + 0..{args.clips - 1}",
        },
        "caveats": ("A2C/A3C were learned from phantom images only: a real A2C or A3C clip may be called A4C "
                    "(the only real echo the network saw). Use the prediction as a warning, never as the view."),
        "augmentation": "gain 0.7-1.3, gamma 0.7-1.5, rotation +-10 deg about the probe, scale 0.9-1.1, shift "
                        "+-5 %, speckle (multiplicative Gaussian), Gaussian blur; no flips" + (
                            f"; first, with p {args.export_augment:g}, every class as a clinical video export "
                            "(lab/training/view_export.py: a square window from the apex cutting the fan, 64-128 px, "
                            "JPEG 30-90)" if args.export_augment > 0 else ""),
        "citation": CAMUS_CITATION,
        "metrics": metrics,
        "headline": _headline(metrics),
        "build": {"steps": step, "batch": args.batch, "lr": args.lr, "threads": args.threads, "seed": args.seed,
                  "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "command": "OMP_NUM_THREADS=1 python -m app train view " + " ".join(sys.argv[3:])},
    }, root=args.models_root)


def _headline(metrics: dict) -> dict:
    """The card's figures: CAMUS valid and held-out 'other' accuracy, and how the real A4C clinical clips are read."""
    out = {k: metrics[k] for k in ("camus_valid_a4c_accuracy", "other_heldout_accuracy") if k in metrics}
    clinical = metrics.get("clinical_a4c_clips") or {}
    out.update({f"clinical_a4c_clips_{k}": clinical[k] for k in ("called_a4c", "a4c_confident") if k in clinical})
    return out


if __name__ == "__main__":
    raise SystemExit(main())
