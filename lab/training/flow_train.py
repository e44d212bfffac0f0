"""`cardiotrace train motion`: train the compact flow network (app/ml/nets/flow_net.py), resumable.

Data: CAMUS A4C ED/ES frames (train split) warped with known smooth random fields (exact dense flow,
lab/training/flow_data.py), plus phantom echo frames warped the same way when --phantom-clips > 0.
Validation: endpoint error on CAMUS valid-split pairs (fixed seed), against OpenCV DIS on the same
pairs. Writes checkpoints/flow/last.pt every few minutes and models/motion/{model.pt,metadata.json}.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.camus_data import DEFAULT_ROOT, case_paths, load_case, require_splits
from lab.training.checkpoint import (
    TrainingClock,
    add_run_arguments,
    checkpoint_path,
    load_checkpoint,
    save_checkpoint,
)
from lab.training.flow_data import PairConfig, make_batch, make_pair

CAMUS_CITATION = "Leclerc et al., IEEE TMI 38(9):2198-2210, 2019, doi:10.1109/TMI.2019.2900516"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train motion", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="camus_a4c folder (train/ valid/)")
    p.add_argument("--steps", type=positive_int, default=3000)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--decorrelation", type=float, default=0.15, help="max speckle decorrelation noise (std)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N patients (smoke tests)")
    p.add_argument("--phantom-clips", type=int, default=0, help="phantom clips whose frames join the sources")
    p.add_argument("--val-pairs", type=int, default=48)
    p.add_argument("--val-every", type=int, default=250)
    add_run_arguments(p, run="flow", checkpoint_minutes=3.0, threads=2)
    return p


def _sources(folder: Path, split: str, limit: int | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images, focus = [], []
    for path in case_paths(split, folder)[:limit]:
        case = load_case(path)
        for k in range(2):
            images.append(case.images[k])
            focus.append(case.labels[k] == 2)
    return images, focus


def _phantom_sources(n_clips: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from app.data.phantom import EchoPhantomParams, make_echo

    images, focus = [], []
    qualities = ("excellent", "good", "fair", "poor")
    for k in range(n_clips):
        params = EchoPhantomParams(view=("a4c", "a2c", "a3c")[k % 3], beats=1, quality=qualities[k % 4])
        case = make_echo(params, seed=seed + 1000 + k)
        for t in range(0, case.recording.n_frames, 4):
            images.append(case.recording.frames[t])
            focus.append(case.truth.labels[t] == 2)
    return images, focus


def validation_pairs(images, focus, n: int, crop: int) -> list[tuple]:
    rng = np.random.default_rng(12345)
    cfg = PairConfig(crop_px=crop)
    return [make_pair(images[i % len(images)], rng, cfg, focus[i % len(images)]) for i in range(n)]


def endpoint_error(estimate, pairs) -> float:
    """Mean endpoint error (px) of estimate(first, second) -> (H, W, 2) over the valid pixels."""
    errs = [np.linalg.norm(estimate(a, b) - f, axis=-1)[v].mean() for a, b, f, v in pairs]
    return float(np.mean(errs))


def main(argv: list[str] | None = None) -> int:
    import torch

    from app.analysis.motion_classical import ClassicalFlow
    from app.ml.device import choose_device
    from app.ml.motion import LearnedFlow
    from app.ml.nets.flow_net import FlowNet
    from lab.model_notes import publish as save_model

    args = build_parser().parse_args(argv)
    require_splits(args.data, "train", "valid")
    torch.set_num_threads(max(1, args.threads))
    device = choose_device()
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    images, focus = _sources(args.data, "train", args.limit)
    if args.phantom_clips:
        ph_images, ph_focus = _phantom_sources(args.phantom_clips, args.seed)
        images, focus = images + ph_images, focus + ph_focus
    val_images, val_focus = _sources(args.data, "valid", args.limit)
    val = validation_pairs(val_images, val_focus, args.val_pairs, 128)
    dis_epe = endpoint_error(ClassicalFlow("dis"), val)
    print(f"{len(images)} source frames; validation: {len(val)} pairs, OpenCV DIS EPE {dis_epe:.3f} px", flush=True)

    net = FlowNet().to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    ckpt = checkpoint_path(args.run, args.checkpoint_root)
    state = load_checkpoint(ckpt)
    step, best = 0, float("inf")
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, best = int(state["step"]), float(state.get("best", best))
        rng = np.random.default_rng(args.seed + step)
        print(f"resumed at step {step} (best EPE {best:.3f})", flush=True)
    estimator = LearnedFlow(net, device)
    cfg = PairConfig(crop_px=args.crop, max_decorrelation=args.decorrelation)
    clock = TrainingClock(args.checkpoint_minutes, args.max_minutes)

    def save_ckpt():
        save_checkpoint(ckpt, {"model": net.state_dict(), "optimizer": opt.state_dict(),
                               "scheduler": sched.state_dict(), "step": step, "best": best})

    while step < args.steps:
        net.train()
        first, second, flow, valid = (
            torch.from_numpy(x).to(device) for x in make_batch(images, focus, args.batch, rng, cfg)
        )
        pred = net(first, second)
        epe = torch.linalg.vector_norm(pred - flow, dim=1, keepdim=True)
        loss = (epe * valid).sum() / valid.sum().clamp_min(1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} train EPE {loss.item():.3f}", flush=True)
        if step % args.val_every == 0 or step == args.steps:
            net.eval()
            val_epe = endpoint_error(estimator, val)
            print(f"step {step} validation EPE {val_epe:.3f} px (DIS {dis_epe:.3f})", flush=True)
            if val_epe < best:
                best = val_epe
                _save_model(save_model, net, args, step, val_epe, dis_epe)
        if clock.checkpoint_due():
            save_ckpt()
        if clock.out_of_time():
            print(f"time limit reached at step {step}", flush=True)
            break
    save_ckpt()
    print(f"best validation EPE {best:.3f} px (OpenCV DIS {dis_epe:.3f} px)", flush=True)
    return 0


def _save_model(save_model, net, args, step: int, val_epe: float, dis_epe: float) -> None:
    save_model(net, "motion", {
        "architecture": {"name": "FlowNet (correlation + U-Net)", "width": 24, "feat": 12, "corr_radius": 3},
        "input": "two frames (B, 1, H, W) float 0..1, H and W multiples of 8",
        "output": "flow (B, 2, H, W) (dx, dy) pixels from the first to the second frame",
        "training_data": ["CAMUS A4C ED/ES frames warped with known smooth fields", "phantom echo frames"
                          if args.phantom_clips else "no phantom"],
        "citation": CAMUS_CITATION,
        "metrics": {"val_epe_px": round(val_epe, 4), "opencv_dis_val_epe_px": round(dis_epe, 4)},
        "build": {"steps": step, "batch": args.batch, "crop": args.crop, "lr": args.lr,
                  "decorrelation": args.decorrelation,
                  "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "command": "python -m app train motion " + " ".join(sys.argv[3:])},
    }, root=args.models_root)


if __name__ == "__main__":
    raise SystemExit(main())
