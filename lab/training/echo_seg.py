"""`train echo-seg`: resumable training of the base U-Net, the ConvLSTM U-Net or the recurrent aggregation net.

Base: single frames (ED and ES of every train patient), loss Dice + cross-entropy.
Temporal: subsequences of N frames with frame step 1 or 2 from ED<->ES deformation cycles
(lab.training.sequences), loss 0.4 Dice (+0.2 CE) on labelled frames + 0.6 temporal loss.
Aggregation (Li et al.): the same subsequences; segmentation loss BCE + Dice on labelled frames (and the
temporal loss at --temporal-weight), plus 0.2 x the view branch's cross-entropy (CAMUS: A4C; phantom clips:
their own view, e.g. --phantom-views a4c,a2c).
Issue 30 (code only, off by default): --clinical-augment P passes a share P of the training clips through a
random clinical export (lab.data.degrade via augment.clinical: 64-160 px, blur, MJPEG/MPEG-4, gain, contrast,
depth cut) and --boundary-weight W adds W x the scale-balanced boundary loss (losses.boundary_loss) of the
--boundary-classes, so a small end-systolic cavity drawn too large costs as much as a large diastolic one.
The last `--holdout` train patients are held out for model selection; CAMUS valid is never used here.
State is checkpointed to checkpoints/echo_seg_<arch>/last.pt every few minutes and resumed on restart;
models/echo_seg_<arch>/ is rewritten whenever the held-out Dice improves.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.ml.device import cpu_autocast, use_bf16
from app.ml.inference import make_input
from app.report.cli_hooks import positive_int
from lab.training.augment import augment, augment_each, gain_gamma
from lab.training.camus_data import DEFAULT_ROOT, CamusArrays, load_split, require_splits
from lab.training.checkpoint import TrainingClock


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train echo-seg", description=__doc__.splitlines()[0])
    p.add_argument("--arch", choices=("base", "temporal", "aggregation"), default="base")
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="camus_a4c folder (train/ valid/)")
    p.add_argument("--size", type=int, default=128, help="network input size (square)")
    p.add_argument("--channels", type=str, default="16,32,64,128,128")
    p.add_argument("--lstm-levels", type=str, default=None,
                   help="encoder levels with ConvLSTM (temporal, default 1,2,3,4; aggregation, default 2,3,4)")
    p.add_argument("--steps", type=positive_int, default=6000, help="total optimiser steps")
    p.add_argument("--batch", type=int, default=16, help="frames (base) or sequences (temporal) per step")
    p.add_argument("--seq-len", type=int, default=8, help="frames per training subsequence (temporal)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--holdout", type=int, default=24, help="train patients held out for model selection")
    p.add_argument("--limit", type=int, default=None, help="use only the first N train patients (smoke tests)")
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--checkpoint-minutes", type=float, default=3.0)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (after checkpointing) after this long")
    p.add_argument(
        "--phantom-clips", type=int, default=10, help="labelled phantom clips to render and mix in (0: none)"
    )
    p.add_argument(
        "--phantom-fraction",
        type=float,
        default=0.3,
        help="share of frames (base) or steps (temporal) drawn from phantom clips",
    )
    p.add_argument(
        "--init-from",
        type=str,
        default=None,
        help="model to start from. temporal (default echo_seg_base): a base U-Net (matching tensors copied) or a "
        "ConvLSTM U-Net of the same shape, e.g. echo_seg_temporal (all weights; fine-tuning, publishes only when the "
        "held-out score beats it). base (default: none, from scratch): a U-Net of the same shape, e.g. echo_seg_base "
        "(fine-tuning)",
    )
    p.add_argument("--phantom-views", type=str, default="a4c", help="views of the phantom clips, e.g. a4c,a2c,a3c")
    p.add_argument("--phantom-geometry", choices=("fixed", "varied"), default="fixed",
                   help="phantom fans: fixed (square, just deep enough) or varied (zoomed depths, narrow sectors, "
                   "real-resolution non-square images)")
    p.add_argument("--phantom-seed", type=int, default=0, help="seed of the phantom clips (a separate cache per seed)")
    p.add_argument("--run", type=str, default=None, help="checkpoint run name (default echo_seg_<arch>)")
    p.add_argument("--checkpoint-root", type=Path, default=None)
    p.add_argument("--models-root", type=Path, default=None)
    p.add_argument("--model-name", type=str, default=None, help="models/<name> (default echo_seg_<arch>)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-bf16", action="store_true",
                   help="train in float32 even on a CPU with native bf16 (default: bf16 autocast there, float32 on "
                        "other CPUs, where emulated bf16 is several times slower; app/ml/device.use_bf16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--distill-from", type=str, default=None,
                   help="a published model (e.g. echo_seg_temporal, echo_seg_base) whose probabilities the net also "
                        "learns in every frame (knowledge distillation; for a narrower net pruned from it)")
    p.add_argument("--distill-weight", type=float, default=0.5, help="weight of the distillation loss")
    p.add_argument("--distill-clips", type=Path, default=None, metavar="NPZ",
                   help="base, with --distill-from: clinical clips' beat frames (the npz cache of "
                        "lab.training.echo_clip_data, e.g. a pack's beats.npz) shown unlabelled in every batch, the "
                        "teacher's probabilities their only target")
    p.add_argument("--distill-clip-frames", type=int, default=4, help="frames of --distill-clips per step")
    p.add_argument(
        "--temporal-weight",
        type=float,
        default=0.6,
        help="temporal: weight of the temporal loss (Dice+CE gets 1 - this)",
    )
    p.add_argument(
        "--temporal-margin",
        choices=("fixed", "motion"),
        default="fixed",
        help="temporal loss margin: fixed c=0.01 (the paper) or motion-aware (the labels' own frame-to-frame change)",
    )
    p.add_argument("--clinical-augment", type=float, default=0.0, metavar="P",
                   help="share of training clips degraded as a clinical video export (64-160 px, blur, codec, gain, "
                        "contrast, depth cut: lab.data.degrade), 0-1 (default 0)")
    p.add_argument("--boundary-weight", type=float, default=0.0, metavar="W",
                   help="weight of the scale-balanced boundary loss (boundary errors of small cavities weigh as much "
                        "as of large ones; losses.boundary_loss), default 0")
    p.add_argument("--area-weight", type=float, default=0.0, metavar="W",
                   help="weight of the relative LV area loss (|soft area / true area - 1| per image: what the volume "
                        "reads, small cavities as large ones; losses.relative_area_loss), base network, default 0")
    p.add_argument("--boundary-classes", type=str, default="1",
                   help="classes of the boundary loss (1 LV, 2 myocardium, 3 LA), default 1")
    return p


SEQUENCE_ARCHS = ("temporal", "aggregation")  # trained on subsequences, stateful at inference
DEFAULT_LSTM_LEVELS = {"temporal": "1,2,3,4", "aggregation": "2,3,4"}


def lstm_levels(args: argparse.Namespace) -> list[int]:
    """The levels with memory for --arch (none for the per-frame U-Net)."""
    if args.arch not in SEQUENCE_ARCHS:
        return []
    return [int(c) for c in (args.lstm_levels or DEFAULT_LSTM_LEVELS[args.arch]).split(",")]


VIEW_WEIGHT = 0.2


def view_loss(view_logits, views: list[str]):
    """Cross-entropy of the view branch: view_logits (B, T, V), views B names of
    app.ml.nets.recurrent_aggregation.VIEWS."""
    import torch
    import torch.nn.functional as F

    from app.ml.nets.recurrent_aggregation import VIEWS

    target = torch.tensor([VIEWS.index(v) for v in views], device=view_logits.device)
    t = view_logits.shape[1]
    return F.cross_entropy(view_logits.float().flatten(0, 1), target.repeat_interleave(t))


def split_holdout(arrays: CamusArrays, holdout: int) -> tuple[CamusArrays, CamusArrays]:
    n = len(arrays.patients)
    k = min(max(holdout, 1), n - 1) if n > 1 else 0
    cut = n - k
    part = lambda s: CamusArrays(arrays.patients[s], arrays.images[s], arrays.labels[s])  # noqa: E731
    return part(slice(0, cut)), part(slice(cut, n))


def base_batch(train: CamusArrays, batch: int, rng: np.random.Generator, augment_fn=augment):
    """Random augmented single frames -> numpy (B, S, S) float32, (B, S, S) int64."""
    idx = rng.integers(0, len(train.patients), batch)
    phase = rng.integers(0, 2, batch)
    return augment_each(train.images[idx, phase], train.labels[idx, phase], rng, augment_fn)


def hard_dice_per_class(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, S, S) label maps -> (3,) mean Dice for LV, myocardium, LA."""
    out = []
    for k in (1, 2, 3):
        p, t = pred == k, truth == k
        inter = (p & t).sum(axis=(1, 2))
        denom = p.sum(axis=(1, 2)) + t.sum(axis=(1, 2))
        out.append(float(np.mean(np.where(denom > 0, 2 * inter / np.maximum(denom, 1), 1.0))))
    return np.array(out)


class Trainer:
    """Holds the network, optimiser and data; `run()` trains until steps/time are done."""

    TARGET = "echo-seg"  # the `train` target whose command this is (recorded with the model)

    def __init__(self, args: argparse.Namespace, argv: list[str]):
        import torch

        from app.ml.device import choose_device
        from app.ml.nets.registry import build, echo_network
        from lab.model_notes import RECORD_ARCHITECTURES

        torch.set_num_threads(args.threads)
        self.args, self.argv = args, argv
        if not 0.0 <= args.clinical_augment <= 1.0 or args.boundary_weight < 0:
            raise SystemExit("--clinical-augment must be 0-1 and --boundary-weight not negative")
        self.augment = functools.partial(augment, clinical_p=args.clinical_augment)
        self.boundary_classes = tuple(int(c) for c in args.boundary_classes.split(",") if c.strip())
        self.device = choose_device()
        self.rng = np.random.default_rng(args.seed)
        torch.manual_seed(args.seed)
        self.meta = {
            "architecture": RECORD_ARCHITECTURES[args.arch],
            "channels": [int(c) for c in args.channels.split(",")],
            "lstm_levels": lstm_levels(args),
            "input_size": args.size,
            "input": "2 channels: image scaled 0..1 (area-resized to input_size^2, rows = depth) "
            "+ long-axis flag plane",
            "classes": ["background", "lv", "myocardium", "la"],
        }
        self.model = build(*echo_network(args.arch, self.meta["channels"], self.meta["lstm_levels"])).to(self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=args.lr, weight_decay=1e-4)
        self.step, self.best, self.history = 0, -1.0, []
        self.resumed_extras: dict = {}  # a resumed checkpoint's checkpoint_extras, for the subclass to restore
        self.command = f"python -m app train {self.TARGET} " + " ".join(shlex.quote(a) for a in argv)
        self.commands = [self.command]
        arrays = load_split("train", args.size, args.data, args.limit)
        self.train, self.holdout = split_holdout(arrays, args.holdout)
        self.sequences, self.phantoms = None, None
        if args.phantom_clips > 0:
            from lab.training.checkpoint import checkpoint_path
            from lab.training.phantom_sequences import PhantomBank

            cache = checkpoint_path("echo_seg_temporal", args.checkpoint_root).parent  # shared by both archs
            self.phantoms = PhantomBank.build(args.phantom_clips, args.size, cache, log=lambda m: print(m, flush=True),
                                              seed=args.phantom_seed, views=tuple(args.phantom_views.split(",")),
                                              geometry=args.phantom_geometry)
        if args.arch in SEQUENCE_ARCHS:
            from lab.training.sequences import SequenceBank

            self.sequences = SequenceBank.build(self.train, cache_dir=self._ckpt_path().parent, rng=self.rng)
            self.holdout_sequences = SequenceBank.build(self.holdout, cache_dir=self._ckpt_path().parent, eager=True)
        self._resume_or_init()
        self.teacher = self._load_teacher() if args.distill_from else None
        self.clip_frames = self._load_distill_clips()

    # -- state ---------------------------------------------------------------------------------
    def _ckpt_path(self) -> Path:
        from lab.training.checkpoint import checkpoint_path

        return checkpoint_path(self.args.run or f"echo_seg_{self.args.arch}", self.args.checkpoint_root)

    def _resume_or_init(self) -> None:
        from lab.training.checkpoint import load_checkpoint

        state = load_checkpoint(self._ckpt_path())
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.step, self.best = int(state["step"]), float(state["best"])
            self.history = list(state.get("history", []))
            self.meta.update(
                {k: v for k, v in state.get("meta", {}).items() if k in ("initialised_from", "prior_steps")}
            )
            self.commands = [*state.get("commands", []), f"(resumed at step {self.step}) {self.command}"]
            self.rng = np.random.default_rng(self.args.seed + self.step)
            self.resumed_extras = dict(state.get("extras", {}))
            print(f"resumed from {self._ckpt_path()} at step {self.step} (best {self.best:.4f})", flush=True)
        elif self.args.arch in SEQUENCE_ARCHS or self.args.init_from:
            self.args.init_from = self.args.init_from or "echo_seg_base"
            self._init_from_model()

    def _init_from_model(self) -> None:
        """Copy weights from models/<init_from>: all of them when it is a ConvLSTM U-Net of the same shape
        (fine-tuning), else the matching tensors of a base U-Net."""
        import torch

        from app.ml.weights import WEIGHTS_FILE, model_available, model_dir
        from lab.model_notes import read_metadata

        name = self.args.init_from
        root = self._root_holding(name)
        if not model_available(name, root):
            print(f"no model '{name}' to initialise from; training from scratch", flush=True)
            return
        source = read_metadata(name, root)
        state = torch.load(model_dir(name, root) / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        # the same tensors at another input size (a fully convolutional network seen at a new scale) fine-tune too
        same = all(source.get(k) == self.meta[k] for k in ("architecture", "channels", "lstm_levels"))
        if not same and self._prunable(source):
            self._init_pruned(name, source, state)
            return
        if not same and self.args.arch not in SEQUENCE_ARCHS:
            raise SystemExit(f"--init-from {name}: not a U-Net of the same shape as --arch base --channels "
                             f"{self.args.channels} --size {self.args.size}, nor a wider one to prune")
        if not same:
            copied = self.model.load_base_weights(state)
            self.meta["initialised_from"] = f"{name} ({len(copied)} tensors)"
            print(f"initialised {len(copied)} tensors from {name}", flush=True)
            return
        own = self.model.state_dict()
        self.model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
        prior = int(source.get("trained_steps", 0))
        rescaled = "" if source.get("input_size") == self.meta["input_size"] else \
            f", trained at {source.get('input_size')} px, now {self.meta['input_size']} px"
        self.meta["initialised_from"] = f"{name} (all {len(state)} tensors, {prior} steps{rescaled})"
        self.meta["prior_steps"] = prior
        self.commands = [*source.get("command_history", []),
                         f"{self.command}  (fine-tuned from {name} at {prior} steps)"]
        print(f"initialised all {len(state)} tensors from {name} ({prior} steps)", flush=True)
        if name == (self.args.model_name or f"echo_seg_{self.args.arch}"):
            # the published model is the one to beat: score it on the held-out selection set first
            metrics = self.validate()
            self.best = metrics["dice_mean"]
            self.history.append(metrics)
            print("baseline " + " ".join(f"{k}={v:.4f}" for k, v in metrics.items()), flush=True)

    def _root_holding(self, name: str) -> Path | None:
        """--models-root, or None (the published models) when a staging --models-root does not hold `name`: a
        staging run starts from, and learns from, the published model of that name."""
        from app.ml.weights import model_available

        root = self.args.models_root
        return None if root is not None and not model_available(name, root) else root

    def _load_teacher(self):
        """The published model to distil from, frozen, in eval mode (BatchNorm on its running statistics)."""
        from app.ml.weights import load_model

        teacher = load_model(self.args.distill_from, self.device, root=self._root_holding(self.args.distill_from))
        teacher = teacher.float().eval().requires_grad_(False)
        self.meta["distilled_from"] = self.args.distill_from
        print(f"distilling from {self.args.distill_from} (weight {self.args.distill_weight})", flush=True)
        return teacher

    def _load_distill_clips(self) -> np.ndarray | None:
        """(N, S, S) uint8 frames of --distill-clips (every beat's ED and ES), or None."""
        if self.args.distill_clips is None:
            return None
        if self.teacher is None or self.args.arch != "base":
            raise SystemExit("--distill-clips needs --arch base and --distill-from")
        from lab.training.echo_clip_data import beat_frames, read_cache

        if not self.args.distill_clips.is_file():
            raise SystemExit(f"--distill-clips {self.args.distill_clips}: no such file")
        clips = read_cache(self.args.distill_clips)
        frames = beat_frames(clips)
        if frames.shape[1:] != (self.args.size, self.args.size):
            raise SystemExit(f"--distill-clips: frames of {frames.shape[1:]} px, the network takes {self.args.size}")
        print(f"distilling on {len(frames)} frames of {len(clips)} clinical clips too", flush=True)
        return frames

    def clip_distill_batch(self) -> np.ndarray:
        """(M, S, S) float32: --distill-clip-frames random clinical frames through a random gain and gamma (M = 0
        without --distill-clips)."""
        if self.clip_frames is None:
            return np.zeros((0, self.args.size, self.args.size), np.float32)
        pick = self.rng.choice(len(self.clip_frames), size=min(self.args.distill_clip_frames, len(self.clip_frames)),
                               replace=False)
        out = [gain_gamma(self.clip_frames[i].astype(np.float32) / 255.0, self.rng) for i in pick]
        return np.stack(out).astype(np.float32)

    def _prunable(self, source: dict) -> bool:
        """True when `source` is the same architecture with at least as many filters at every level."""
        wide, narrow = source.get("channels", []), self.meta["channels"]
        return (all(source.get(k) == self.meta[k] for k in ("architecture", "lstm_levels", "input_size"))
                and len(wide) == len(narrow) and all(n <= w for n, w in zip(narrow, wide, strict=True)))

    def _init_pruned(self, name: str, source: dict, state: dict) -> None:
        """Narrower network: start from the wider model's most important filters (lab/training/prune.py)."""
        from lab.training.prune import prune_state

        own = self.model.state_dict()
        pruned = prune_state(state, source["channels"], self.meta["channels"], self.meta["lstm_levels"])
        self.model.load_state_dict({k: v.to(own[k].dtype) for k, v in pruned.items()})
        prior = int(source.get("trained_steps", 0))
        self.meta["initialised_from"] = (f"{name} pruned from channels {source['channels']} to {self.meta['channels']} "
                                         f"(top filters by |BN gamma|, {prior} steps)")
        self.meta["prior_steps"] = prior
        self.commands = [*source.get("command_history", []), f"{self.command}  (pruned from {name} at {prior} steps)"]
        print(f"initialised by pruning {name} {source['channels']} -> {self.meta['channels']}", flush=True)

    def save_checkpoint(self) -> None:
        from lab.training.checkpoint import save_checkpoint

        if self.sequences is not None:
            self.sequences.save_cache()
        save_checkpoint(self._ckpt_path(), {
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "step": self.step,
            "best": self.best, "history": self.history, "meta": self.meta, "commands": self.commands,
            "extras": self.checkpoint_extras(),
        })

    def checkpoint_extras(self) -> dict:
        """State a subclass keeps in the checkpoint beside the model's and the optimiser's (none here)."""
        return {}

    # -- one step ------------------------------------------------------------------------------
    def _lr(self) -> float:
        warm = min(1.0, (self.step + 1) / 100)
        return self.args.lr * warm * 0.5 * (1 + np.cos(np.pi * min(self.step / max(self.args.steps, 1), 1.0)))

    def train_step(self) -> float:
        import torch

        self.model.train()
        for group in self.opt.param_groups:
            group["lr"] = self._lr()
        with cpu_autocast(not self.args.no_bf16 and use_bf16(self.device)):
            loss = self.step_loss()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.opt.step()
        self.step += 1
        return float(loss.detach())

    def step_loss(self):
        """The loss of one training batch for --arch (a scalar tensor; a subclass may add terms)."""
        import torch

        from lab.training.losses import bce_loss, dice_loss, distillation_loss, masked_cross_entropy, temporal_loss

        if self.sequences is None:
            frames, labels = self.base_frames()
            unlabelled = self.clip_distill_batch()
            x = make_input(torch.from_numpy(np.concatenate([frames, unlabelled]))).to(self.device)
            logits = self.model(x).float()
            loss = self.base_loss(logits[:len(frames)], labels)
            if self.teacher is not None:
                with torch.no_grad():
                    teacher_logits = self.teacher(x).float()
                loss = loss + self.args.distill_weight * distillation_loss(logits, teacher_logits)
        else:
            use_phantom = self.phantoms is not None and self.rng.random() < self.args.phantom_fraction
            if use_phantom:
                frames, labels, labelled, views = self.phantoms.batch(self.args.batch, self.args.seq_len, self.rng,
                                                                      self.augment, with_views=True)
            else:
                frames, labels, labelled = self.sequences.batch(self.args.batch, self.args.seq_len, self.rng,
                                                                self.augment)
                views = ["a4c"] * len(frames)
            x = make_input(torch.from_numpy(frames)).to(self.device)
            y = torch.from_numpy(labels).to(self.device).flatten(0, 1)
            mask = torch.from_numpy(labelled).to(self.device).flatten()
            if self.args.arch == "aggregation":
                logits, view_logits, _ = self.model.forward_with_view(x)
            else:
                logits, _ = self.model(x)
            logits = logits.float()
            probs = torch.softmax(logits, 2)
            flat_logits, flat_probs = logits.flatten(0, 1), probs.flatten(0, 1)
            if self.args.arch == "aggregation":
                seg = dice_loss(flat_probs, y, mask) + bce_loss(flat_probs, y, mask)
                seg = seg + VIEW_WEIGHT * view_loss(view_logits, views)
            else:
                seg = dice_loss(flat_probs, y, mask) + 0.5 * masked_cross_entropy(flat_logits, y, mask)
            seg = seg + self._boundary(flat_probs, labels.reshape(-1, *labels.shape[-2:]), mask)
            w = self.args.temporal_weight
            if self.args.temporal_margin == "motion":
                tl = temporal_loss(probs, labels=torch.from_numpy(labels).to(self.device).long(),
                                   labelled=torch.from_numpy(labelled).to(self.device))
            else:
                tl = temporal_loss(probs)
            loss = (1.0 - w) * seg + w * tl
            if self.teacher is not None:
                with torch.no_grad():
                    teacher_logits, _ = self.teacher(x)
                loss = loss + self.args.distill_weight * distillation_loss(flat_logits, teacher_logits.flatten(0, 1))
        return loss

    def base_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """One labelled batch of the per-frame network: CAMUS frames and phantom frames (--phantom-fraction),
        augmented: (B, S, S) float32 and (B, S, S) int64."""
        n_phantom = (
            min(int(self.rng.binomial(self.args.batch, self.args.phantom_fraction)), self.args.batch - 1)
            if self.phantoms
            else 0
        )
        frames, labels = base_batch(self.train, self.args.batch - n_phantom, self.rng, self.augment)
        if n_phantom:
            pf, pl = self.phantoms.frame_batch(n_phantom, self.rng, self.augment)
            frames, labels = np.concatenate([frames, pf]), np.concatenate([labels, pl])
        return frames, labels

    def base_loss(self, logits, labels: np.ndarray):
        """Soft Dice + cross-entropy (+ boundary, + area terms) of (B, K, S, S) float logits against labels."""
        import torch

        from lab.training.losses import dice_loss, masked_cross_entropy, relative_area_loss

        y = torch.from_numpy(labels).to(self.device)
        probs = torch.softmax(logits, 1)
        loss = dice_loss(probs, y) + masked_cross_entropy(logits, y) + self._boundary(probs, labels)
        if self.args.area_weight > 0:
            loss = loss + self.args.area_weight * relative_area_loss(probs, y, (1,))
        return loss

    def _boundary(self, probs, labels: np.ndarray, mask=None):
        """--boundary-weight x the scale-balanced boundary loss of (N, K, H, W) probs against (N, H, W) labels."""
        import torch

        from lab.training.losses import boundary_distances, boundary_loss

        if self.args.boundary_weight <= 0:
            return probs.sum() * 0.0
        dist, perimeter = boundary_distances(np.asarray(labels), self.boundary_classes)
        y = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(self.device)
        return self.args.boundary_weight * boundary_loss(
            probs, y, torch.from_numpy(dist).to(self.device), torch.from_numpy(perimeter).to(self.device),
            self.boundary_classes, mask)

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> dict:
        import torch

        self.model.eval()
        with torch.no_grad(), cpu_autocast(use_bf16(self.device)):
            if self.sequences is None:
                frames = self.holdout.images.reshape(-1, *self.holdout.images.shape[2:])
                truth = self.holdout.labels.reshape(-1, *self.holdout.labels.shape[2:])
                logits = self.model(make_input(torch.from_numpy(frames)).to(self.device))
                pred = logits.float().argmax(1).cpu().numpy()
                extra = {}
            else:
                pred, truth, fip = self.holdout_sequences.evaluate(self.model, make_input, self.device)
                extra = {"holdout_mfip": fip}
        dice = hard_dice_per_class(pred, truth)
        return {"step": self.step, "dice_lv": dice[0], "dice_myo": dice[1], "dice_la": dice[2],
                "dice_mean": float(dice.mean()), **extra}

    def publish(self, metrics: dict) -> None:
        from lab.model_notes import publish as save_model

        meta = dict(self.meta)
        meta.update({
            "training_data": self._data_description(),
            "command": self.command,
            "command_history": self.commands,
            "trained_steps": self.meta.get("prior_steps", 0) + self.step,
            "loss": self._loss_description(),
            "selection_metrics_holdout": {k: round(float(v), 4) for k, v in metrics.items()},
            "dataset_citation": "Leclerc et al., IEEE TMI 38(9):2198-2210, 2019, doi:10.1109/TMI.2019.2900516 (CAMUS)",
        })
        previous = self._previous_metadata()
        for key in ("validation_metrics", "benchmark"):
            if key in previous and previous.get("trained_steps") == meta["trained_steps"]:
                meta[key] = previous[key]
        same_net = all(previous.get(k) == meta[k] for k in ("architecture", "channels", "lstm_levels", "input_size"))
        if "benchmark" in previous and same_net:
            meta["benchmark"] = previous["benchmark"]  # speed depends on the network's shape, not its weights
        save_model(
            self.model, self.args.model_name or f"echo_seg_{self.args.arch}", meta, self.args.models_root, half=True
        )

    def _previous_metadata(self) -> dict:
        from app.ml.weights import WeightsError
        from lab.model_notes import read_metadata

        try:
            return read_metadata(self.args.model_name or f"echo_seg_{self.args.arch}", self.args.models_root)
        except WeightsError:
            return {}

    def _loss_description(self) -> str:
        """The training loss in words, as train_step computes it for --arch."""
        boundary = (f" + {self.args.boundary_weight:g} x scale-balanced boundary loss (classes "
                    f"{self.args.boundary_classes})" if self.args.boundary_weight > 0 else "")
        if self.args.arch == "base":
            area = f" + {self.args.area_weight:g} x relative LV area loss" if self.args.area_weight > 0 else ""
            clips = "" if self.clip_frames is None else \
                f", {self.args.distill_clip_frames} unlabelled clinical frames a step"
            distill = "" if self.teacher is None else \
                f" + {self.args.distill_weight:g} x distillation from {self.args.distill_from} (every frame{clips})"
            return "soft Dice + cross-entropy" + boundary + area + distill
        seg = (
            f"(Dice + BCE per class + {VIEW_WEIGHT:g} x view cross-entropy{boundary})"
            if self.args.arch == "aggregation"
            else f"(Dice + 0.5 x cross-entropy{boundary})"
        )
        w = self.args.temporal_weight
        text = f"{1 - w:g} x {seg} on labelled frames + {w:g} x temporal loss ({self.args.temporal_margin} margin)"
        if self.teacher is not None:
            text += f" + {self.args.distill_weight:g} x distillation from {self.args.distill_from}"
        return text

    def _data_description(self) -> str:
        n = len(self.train.patients)
        text = (f"CAMUS A4C train split, {n} patients (ED+ES frames, expert masks); last "
                f"{len(self.holdout.patients)} train patients held out for model selection; CAMUS valid not used")
        if self.sequences is not None:
            text += "; " + self.sequences.description
        if self.phantoms is not None:
            text += (f"; {len(self.phantoms.frames)} {self.phantoms.description}, "
                     f"{self.args.phantom_fraction:.0%} of {'steps' if self.sequences is not None else 'frames'}")
        if self.clip_frames is not None:
            text += (f"; {len(self.clip_frames)} ED/ES frames of clinical clips ({self.args.distill_clips.name}), "
                     f"unlabelled: the teacher's probabilities only")
        if self.args.clinical_augment > 0:
            text += (f"; {self.args.clinical_augment:.0%} of clips degraded as clinical exports (lab.data.degrade: "
                     "64-160 px, blur, MJPEG/MPEG-4, gain, contrast, depth cut)")
        return text

    # -- loop ----------------------------------------------------------------------------------
    def run(self) -> dict | None:
        clock = TrainingClock(self.args.checkpoint_minutes, self.args.max_minutes)
        losses: list[float] = []
        metrics = None
        while self.step < self.args.steps:
            losses.append(self.train_step())
            if self.step % 25 == 0:
                print(f"step {self.step} loss {np.mean(losses[-25:]):.4f} lr {self._lr():.2e} "
                      f"{60 * clock.minutes() / max(len(losses), 1):.2f}s/step", flush=True)
            if self.step % self.args.val_every == 0 or self.step == self.args.steps:
                metrics = self.validate()
                self.history.append(metrics)
                print("validate " + " ".join(f"{k}={v:.4f}" for k, v in metrics.items()), flush=True)
                if metrics["dice_mean"] > self.best:
                    self.best = metrics["dice_mean"]
                    self.publish(metrics)
                    print(f"published model at step {self.step}", flush=True)
            if clock.checkpoint_due():
                self.save_checkpoint()
            if clock.out_of_time():
                break
        self.save_checkpoint()
        return metrics


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    require_splits(args.data, "train")
    Trainer(args, argv).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
