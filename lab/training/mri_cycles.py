"""Train the cyclic ConvLSTMs of one ACDC fold's four-class network on whole cycles (the temporal part).

    python -m app train mri-seg-cycles --fold 0 --from shipped --temporal multi --steps 600 --tag cyc --bf16
    python -m app evaluate mri-seg --tag cyc        # ACDC folds (2-phase stacks: the CNN alone) + Sunnybrook cines

The multi-level ConvLSTM study's network is a per-phase CNN plus ConvLSTMs over the closed cycle. Its CNN learns
from ACDC's labelled ED and ES slices (lab/training/mri_acdc.py); ACDC has no cycles, so the ConvLSTMs learn
here from whole cycles (lab/training/mri_cycle_data.py): phantom cine stacks labelled at every phase (--cycles
phantom), Sunnybrook's real cines labelled at ED and ES (--cycles sunnybrook, leave-one-out with --holdout CASE),
or both. Fold k's CNN (member k
of the shipped ensemble with --from shipped, or the finished run of a tag) is loaded with its ConvLSTMs silenced
(lab/training/mri_warm_start.py: the network starts as that CNN, exactly) and frozen; only the ConvLSTMs train,
so fold k's held-out ACDC patients stay unseen; Sunnybrook scores the cines (held out whole when the ConvLSTMs
learn from the phantom, by patient with --holdout when they learn from Sunnybrook).

The network runs its ConvLSTMs only over cycles of at least --min-cycle-phases phases (a 2-phase ED/ES stack is
no cycle: there it is its CNN alone). Each step draws --batch slices of one stack, one geometry and intensity
transfer each (lab/training/mri_augment.py, another scanner's degradation for --scanner-fraction of them), one
random cycle start for all, and for phantom stacks a phase stride of 1 or 2. Loss: lab/training/mri_losses.cycle_loss
(LV pool and myocardium; background and the unlabelled phantom RV scored together, anchored to the CNN alone's
probabilities there and in unlabelled phases). Every --val-every steps: Dice of LV pool and myocardium over the
labelled phases of held-out cycles (phantom stacks of another seed, or the --holdout case), and the label
flicker between consecutive phases, against the CNN alone. Resumable:
checkpoints/mri_acdc_<fold>_<tag>/last.pt, which `evaluate mri-seg --tag` and `train mri-seg-acdc --publish`
read as any fold's run.

Measured (lab/notes/mri_seg.md, session 28), not shipped: the ConvLSTMs learn the labelling of the cycles they see.
From the phantom they cost Sunnybrook's cines 0.05 endocardial Dice; from two Sunnybrook patients they gain 0.005
on the third and lose on the phantom's cycles. They need labelled real cycles from several centres.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.checkpoint import CHECKPOINTS_DIR, TrainingClock, load_checkpoint, save_checkpoint
from lab.training.mri_acdc_folds import N_FOLDS, build_net, load_fold_net, run_dir

CHECKPOINT_MINUTES = 3.0
MIN_CYCLE_PHASES = 10


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train mri-seg-cycles", description=__doc__.splitlines()[0])
    p.add_argument("--fold", default="0", help="ACDC fold 0-4 whose CNN gets ConvLSTMs")
    p.add_argument("--from", dest="source", default="shipped",
                   help='the CNN: "shipped" (member FOLD of models/mri_seg) or the tag of finished mri-seg-acdc runs')
    p.add_argument("--temporal", choices=("single", "multi"), default="multi")
    p.add_argument("--min-cycle-phases", type=int, default=MIN_CYCLE_PHASES)
    p.add_argument("--steps", type=positive_int, default=600)
    p.add_argument("--batch", type=int, default=2, help="slices of one stack per step")
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--jitter", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--anchor-weight", type=float, default=0.5)
    p.add_argument("--scanner-fraction", type=float, default=0.3)
    p.add_argument("--cycles", choices=("phantom", "sunnybrook", "both"), default="phantom",
                   help="what the ConvLSTMs learn from: phantom cines (every phase labelled), Sunnybrook's real cines "
                        "(ED and ES labelled), or both (--real-fraction of the draws real)")
    p.add_argument("--holdout", default="none",
                   help="a Sunnybrook case left out of training and scored every --val-every steps (leave-one-out)")
    p.add_argument("--real-fraction", type=float, default=0.5)
    p.add_argument("--phantom", type=int, default=48, help="phantom stacks to train on")
    p.add_argument("--valid-phantom", type=int, default=4, help="held-out phantom stacks (another seed)")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None)
    p.add_argument("--bf16", action="store_true", help="forward pass in bf16 autocast (only on a native-bf16 CPU)")
    p.add_argument("--tag", default="cyc")
    p.add_argument("--score-phantom", action="store_true",
                   help="train nothing: score the run on the held-out phantom stacks (what ConvLSTMs that learnt "
                        "from Sunnybrook do on cycles of another source)")
    return p


def source_state(fold: str, source: str) -> tuple[dict, dict]:
    """(state dict, build) of fold `fold`'s CNN alone: the shipped member or a finished run of tag `source`."""
    if source == "shipped":
        from lab.training.mri_acdc import shipped_member

        state = shipped_member(fold)
        in_channels = int(state["stem.0.weight"].shape[1])
        base = int(state["stem.0.weight"].shape[0])
        blocks = sum(1 for k in state if k.startswith("down_quarter.") and k.endswith(".body.0.weight")) - 2
        return state, {"base_channels": base, "context_blocks": blocks, "in_channels": in_channels}
    net = load_fold_net(int(fold), source)
    if net is None:
        raise ValueError(f"no finished run {run_dir(fold, source)}")
    state = load_checkpoint(run_dir(fold, source) / "last.pt")
    return net.state_dict(), dict(state["build"])


class Trainer:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        import torch

        from lab.evaluation.mri_sunnybrook import CASES, SUNNYBROOK
        from lab.training.mri_cycle_data import phantom_cycles, sunnybrook_cycles
        from lab.training.mri_warm_start import freeze_cnn, warm_start_from_cnn

        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.args, self.argv = args, argv
        self.rng = np.random.default_rng(args.seed + 31 * (int(args.fold) + 1))
        cache = CHECKPOINTS_DIR / "mri_data"
        self.phantom = _by_case(phantom_cycles(args.phantom, 4242, cache)) if args.cycles != "sunnybrook" else {}
        self.real = _by_case(sunnybrook_cycles(SUNNYBROOK, tuple(c for c in CASES if c != args.holdout))) \
            if args.cycles != "phantom" else {}
        self.valid = []
        if args.val_every:
            self.valid = sunnybrook_cycles(SUNNYBROOK, (args.holdout,)) if args.holdout in CASES else \
                phantom_cycles(args.valid_phantom, 9191, cache)
        cnn_state, cnn_build = source_state(args.fold, args.source)
        self.build = {**cnn_build, "temporal": args.temporal, "min_cycle_phases": args.min_cycle_phases}
        self.net = build_net(self.build)
        warm_start_from_cnn(self.net, cnn_state)
        self.opt = torch.optim.AdamW(freeze_cnn(self.net), lr=args.lr, weight_decay=1e-4)
        self.ckpt = run_dir(args.fold, args.tag) / "last.pt"
        self.step, self.history = 0, []
        state = load_checkpoint(self.ckpt)
        if state:
            self.net.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.step, self.history = state["step"], state.get("history", [])

    def save(self) -> None:
        save_checkpoint(self.ckpt, {"model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                                    "step": self.step, "history": self.history, "args": vars(self.args),
                                    "argv": self.argv, "build": self.build})

    def batch(self):
        import torch

        from lab.training.mri_augment import augment, scanner
        from lab.training.mri_cycle_data import draw_cycle

        real = not self.phantom or bool(self.real and self.rng.random() < self.args.real_fraction)
        stacks = self.real if real else self.phantom
        cases = list(stacks)
        cycles = stacks[cases[int(self.rng.integers(len(cases)))]]
        images, targets = [], []
        for i in self.rng.choice(len(cycles), size=self.args.batch, replace=len(cycles) < self.args.batch):
            image, target = draw_cycle(cycles[int(i)], self.rng, self.args.crop, self.args.jitter)
            image, target = augment(image, target, self.rng, temporal=False)
            if self.rng.random() < self.args.scanner_fraction:
                image = scanner(image, self.rng)
            images.append(image)
            targets.append(target)
        start = int(self.rng.integers(len(images[0])))
        stride = 1 if real else 1 + int(self.rng.random() < 0.5)  # a stride would drop real ED/ES labels
        x = np.roll(np.stack(images), -start, axis=1)[:, ::stride]
        y = np.roll(np.stack(targets), -start, axis=1)[:, ::stride]
        return torch.from_numpy(np.ascontiguousarray(x))[:, :, None], torch.from_numpy(y.astype(np.int64))

    def train_step(self) -> float:
        import torch

        from app.ml.device import cpu_autocast
        from lab.training.mri_losses import cycle_loss
        from lab.training.mri_warm_start import train_mode

        x, y = self.batch()
        lr = self.args.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, self.step / max(1, self.args.steps))))
        for group in self.opt.param_groups:
            group["lr"] = lr
        train_mode(self.net, cnn_frozen=True)
        with cpu_autocast(self.args.bf16):
            with torch.no_grad():
                anchor = torch.softmax(self.net(x, cycle=False).float(), dim=2)
            logits = self.net(x, cycle=True)
        loss = cycle_loss(logits.float(), y, anchor, self.args.anchor_weight)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        return float(loss.detach())

    def validate(self) -> dict:
        from lab.training.mri_cycle_scores import score_cycles

        return {**score_cycles(self.net, self.valid, self.args.crop), "step": self.step}

    def run(self) -> None:
        clock, recent = TrainingClock(CHECKPOINT_MINUTES, self.args.max_minutes), []
        if self.valid and not self.history:
            self.history.append(self.validate())
            print(json.dumps(self.history[-1]), flush=True)
        while self.step < self.args.steps and not clock.out_of_time():
            recent.append(self.train_step())
            if self.step % 25 == 0:
                print(f"step {self.step} loss {np.mean(recent):.4f} ({clock.minutes():.1f} min)", flush=True)
                recent = []
            if self.valid and self.step % self.args.val_every == 0:
                self.history.append(self.validate())
                print(json.dumps(self.history[-1]), flush=True)
            if clock.checkpoint_due():
                self.save()
        self.save()
        print(f"fold {self.args.fold}: step {self.step} of {self.args.steps}", flush=True)


def _by_case(cycles: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in cycles:
        out.setdefault(c.case, []).append(c)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from lab.evaluation.mri_sunnybrook import CASES, SUNNYBROOK

    if args.holdout not in (*CASES, "none"):
        print(f"error: --holdout must be one of {', '.join(CASES)} or none, got {args.holdout!r}", file=sys.stderr)
        return 2
    if args.cycles != "phantom" and not SUNNYBROOK.is_dir():
        print(f"error: Sunnybrook data not found at {SUNNYBROOK}", file=sys.stderr)
        return 2
    if args.fold not in {str(k) for k in range(N_FOLDS)}:
        print(f"error: --fold must be 0-{N_FOLDS - 1}, got {args.fold!r}", file=sys.stderr)
        return 2
    try:
        trainer = Trainer(args, argv)
    except (ValueError, FileNotFoundError) as exc:  # no such CNN, or one that does not fit the network
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.score_phantom and trainer.step == 0:
        print(f"error: no trained run at {trainer.ckpt}", file=sys.stderr)
        return 2
    if args.score_phantom:
        from lab.training.mri_cycle_data import phantom_cycles
        from lab.training.mri_cycle_scores import score_cycles

        valid = phantom_cycles(args.valid_phantom, 9191, CHECKPOINTS_DIR / "mri_data")
        print(json.dumps({**score_cycles(trainer.net, valid, args.crop), "step": trainer.step}), flush=True)
        return 0
    trainer.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
