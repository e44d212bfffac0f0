"""Train the four-class short-axis network (LV pool, myocardium, RV pool) on ACDC, one cross-validation fold a run.

    python -m app train mri-seg-acdc --fold 0 --steps 3000 --threads 1     # one of 5 folds (0-4)
    python -m app train mri-seg-acdc --fold all --steps 3000               # every patient (no held-out fold)

The per-phase part of the multi-level network (its CNN: temporal "none") learns here from ACDC's labelled
ED and ES slices; folds hold out whole patients, stratified by diagnostic group (lab/data/acdc.py).
Each step draws --batch slices: a random patient of the training folds, a random slice and phase, a crop of
--crop px of the whole-slice grid (app/ml/mri_preprocess.py) around the heart moved by up to --jitter px, and
the augmentation of lab/training/mri_augment.py (rotation, flip, zoom 0.7-1.4, intensity, blur, noise).
Loss: cross-entropy + soft Dice of the three structures, plus --boundary-weight W x the scale-balanced boundary
loss of the three (lab/training/losses.boundary_loss: a small systolic cavity drawn a pixel too wide costs as much
as a large diastolic one, and the thin myocardium's borders count as much as the pools').
Resumable: checkpoints/mri_acdc_<fold>[_TAG]/last.pt (read onto the CPU first: a run begun on a GPU resumes anywhere).
Trains on CUDA where there is one (app.ml.device.choose_device; CARDIOTRACE_DEVICE=cpu keeps it on the CPU).
`python -m app evaluate mri-acdc` scores the folds; `train mri-seg-acdc --publish` ships them as an ensemble.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.checkpoint import CHECKPOINTS_DIR, TrainingClock, load_checkpoint, save_checkpoint
from lab.training.mri_acdc_data import AcdcSlices, draw_crop, load_all
from lab.training.mri_acdc_folds import ACDC, N_FOLDS, build_net, fold_patients, run_dir
from lab.training.mri_augment import augment, scanner

CHECKPOINT_MINUTES = 3.0


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train mri-seg-acdc", description=__doc__.splitlines()[0])
    p.add_argument("--fold", default="0", help="held-out fold 0-4, or 'all' (train on every patient)")
    p.add_argument("--steps", type=positive_int, default=3000)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--crop", type=int, default=128, help="training crop in grid pixels (1.25 mm)")
    p.add_argument("--jitter", type=int, default=32, help="crop centre moved by up to this many px")
    p.add_argument("--base-channels", type=int, default=16)
    p.add_argument("--context-blocks", type=int, default=2)
    p.add_argument("--in-channels", type=int, default=1, choices=(1, 2, 3),
                   help="3: each slice with its two neighbours in the stack (slice context); 2: each phase with "
                        "the same slice at ED (phase reference)")
    p.add_argument("--dice", choices=("batch", "image"), default="batch",
                   help="soft Dice pooled over the batch, or per image and class (a small systolic cavity, or a "
                        "structure the expert left out of a slice, weighs as much as a large one)")
    p.add_argument("--boundary-weight", type=float, default=0.0, metavar="W",
                   help="weight of the scale-balanced boundary loss of LV pool, myocardium and RV pool "
                        "(lab/training/losses.boundary_loss), default 0")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--bf16", action="store_true", help="forward pass in bf16 autocast (only on a native-bf16 CPU)")
    p.add_argument("--tag", default="")
    p.add_argument("--data", type=Path, default=ACDC)
    p.add_argument("--scanner-fraction", type=float, default=0.0,
                   help="fraction of samples degraded like another scanner/export (lab/training/mri_augment.scanner)")
    p.add_argument("--init-from-shipped", action="store_true",
                   help="start fold k from member k of models/mri_seg (trained without fold k), fresh optimizer")
    p.add_argument("--publish", action="store_true",
                   help="write models/mri_seg as the ensemble of the finished folds 0-4 of --tag (trains nothing)")
    return p


def segmentation_loss(logits, target, dice_weight: float = 0.5, dice: str = "batch", boundary_weight: float = 0.0):
    """Cross-entropy + (1 - mean soft Dice of classes 1..3) [+ boundary_weight x the boundary loss of classes
    1..3]; logits (B, C, H, W), target (B, H, W) long.

    dice "batch": each class's Dice over the whole batch (large structures dominate); "image": each image's and
    class's Dice, averaged (smoothed by 1 px: an absent class drawn nowhere scores 1, drawn anywhere less)."""
    import torch

    ce = torch.nn.functional.cross_entropy(logits, target)
    probs = torch.softmax(logits, dim=1)
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).float()
    dims = (0, 2, 3) if dice == "batch" else (2, 3)
    inter = (probs * onehot).sum(dim=dims)
    scores = (2 * inter + 1.0) / (probs.sum(dim=dims) + onehot.sum(dim=dims) + 1.0)
    loss = (1 - dice_weight) * ce + dice_weight * (1.0 - scores[..., 1:].mean())
    if boundary_weight > 0:
        from lab.training.losses import boundary_distances, boundary_loss

        classes = tuple(range(1, logits.shape[1]))
        distance, perimeter = (torch.from_numpy(a).to(target.device)
                               for a in boundary_distances(target.cpu().numpy(), classes))
        loss = loss + boundary_weight * boundary_loss(probs, target, distance, perimeter, classes)
    return loss


class Trainer:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        import torch

        from app.ml.device import choose_device

        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.device = choose_device()  # CUDA where there is one (CARDIOTRACE_DEVICE overrides)
        self.args, self.argv = args, argv
        self.rng = np.random.default_rng(args.seed + 17 * (0 if args.fold == "all" else int(args.fold) + 1))
        train_ids, _ = fold_patients(args.data, args.fold)
        everyone = {p.patient: p for p in load_all(args.data, CHECKPOINTS_DIR / "mri_data")}
        self.train: list[AcdcSlices] = [everyone[p] for p in train_ids]
        self.net = build_net(args).to(self.device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=args.lr, weight_decay=1e-4)
        self.ckpt = run_dir(args.fold, args.tag) / "last.pt"
        self.step, self.losses = 0, []
        state = load_checkpoint(self.ckpt)
        if not state and args.init_from_shipped:
            self.net.load_state_dict(widen_stem(shipped_member(args.fold), args.in_channels))
        if state:
            self.net.load_state_dict(state["model"])
            if "optimizer" in state:  # a checkpoint slimmed to travel (mri_acdc_pack resume) restarts the moments
                self.opt.load_state_dict(state["optimizer"])
            self.step, self.losses = state["step"], state.get("losses", [])

    def save(self) -> None:
        save_checkpoint(self.ckpt, {"model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                                    "step": self.step, "losses": self.losses, "args": vars(self.args),
                                    "argv": self.argv, "build": {"base_channels": self.args.base_channels,
                                                                 "context_blocks": self.args.context_blocks,
                                                                 "in_channels": self.args.in_channels}})

    def batch(self):
        import torch

        images, labels = [], []
        for _ in range(self.args.batch):
            patient = self.train[int(self.rng.integers(len(self.train)))]
            image, label = draw_crop(patient, self.rng, self.args.crop, self.args.jitter, self.args.in_channels)
            image, label = augment(image, label, self.rng, temporal=False)
            if self.rng.random() < self.args.scanner_fraction:
                image = scanner(image, self.rng)
            images.append(image)
            labels.append(label[0])
        x = torch.from_numpy(np.stack(images))[:, None]
        y = torch.from_numpy(np.stack(labels).astype(np.int64))
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def train_step(self) -> float:
        from app.ml.device import cpu_autocast

        x, y = self.batch()
        lr = self.args.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, self.step / max(1, self.args.steps))))
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.net.train()
        with cpu_autocast(self.args.bf16 and self.device.type == "cpu"):  # CUDA trains in float32
            logits = self.net(x)[:, 0]
        loss = segmentation_loss(logits.float(), y, dice=self.args.dice, boundary_weight=self.args.boundary_weight)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        return float(loss.detach())

    def run(self) -> None:
        clock = TrainingClock(CHECKPOINT_MINUTES, self.args.max_minutes)
        recent: list[float] = []
        while self.step < self.args.steps and not clock.out_of_time():
            recent.append(self.train_step())
            if self.step % 50 == 0:
                self.losses.append(float(np.mean(recent)))
                print(f"step {self.step} loss {self.losses[-1]:.4f} ({clock.minutes():.1f} min)", flush=True)
                recent = []
            if clock.checkpoint_due():
                self.save()
        self.save()
        print(f"fold {self.args.fold}: step {self.step} of {self.args.steps}", flush=True)


def shipped_member(fold: str) -> dict:
    """The float32 state of member `fold` of the shipped models/mri_seg ensemble (member k = trained without
    fold k, so fold k's held-out patients stay unseen)."""
    from app.ml.nets.mri_ensemble import members_of
    from app.ml.weights import load_model

    if fold == "all":
        raise ValueError("--init-from-shipped needs one fold (member k was trained without fold k)")
    member = members_of(load_model("mri_seg", device="cpu"))[int(fold)]
    return {k: v.float() for k, v in member.state_dict().items()}


def widen_stem(state: dict, in_channels: int) -> dict:
    """A one-channel network's state for an `in_channels` network: the phase's own channel (the middle one of
    3 neighbours, the first of 2 with the ED reference) keeps the first convolution's weights, the others start
    at zero, so the wider network starts as the old one."""
    import torch

    key = "stem.0.weight"
    weight = state[key]
    if weight.shape[1] == in_channels:
        return state
    if weight.shape[1] != 1 or in_channels not in (2, 3):
        raise ValueError(f"cannot widen a {weight.shape[1]}-channel stem to {in_channels} channels")
    own = 1 if in_channels == 3 else 0
    wide = torch.zeros(weight.shape[0], in_channels, *weight.shape[2:], dtype=weight.dtype)
    wide[:, own:own + 1] = weight
    return {**state, key: wide}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if not args.data.is_dir():
        print(f"error: ACDC data not found at {args.data}", file=sys.stderr)
        return 2
    if args.fold != "all" and args.fold not in {str(k) for k in range(N_FOLDS)}:
        print(f"error: --fold must be 0-{N_FOLDS - 1} or 'all', got {args.fold!r}", file=sys.stderr)
        return 2
    if args.publish:
        from lab.training.mri_acdc_publish import publish

        return publish(args, argv)
    Trainer(args, argv).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
