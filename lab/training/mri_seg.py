"""Train the short-axis MRI segmentation network (CNN / one-level / multi-level ConvLSTM).

    python -m app train mri-seg --temporal none --holdout SC-HF-I-4 --steps 2000 --threads 1 --phantom 12 \
        --phantom-fraction 0.5 --max-minutes 75 --val-every 500                       # one LOO fold
    python -m app train mri-seg --temporal none --holdout none --steps 2000 --threads 1 --phantom 12 \
        --phantom-fraction 0.5 --max-minutes 75 --val-every 500 --publish             # the shipped model

Resumable: the state is saved under checkpoints/mri_seg_<temporal>_<holdout>/last.pt every few minutes
and on exit; running the same command again continues. When the steps are done, the batch-norm
statistics are recomputed over all training samples (lab/training/batchnorm.py; once per run).
Samples: Sunnybrook whole-cycle slices (labels at ED and ES; SC-HF-I-6's misdrawn epicardia dropped, or with
--realign-epicardia re-registered by lab/training/mri_epi_alignment.py) plus phantom short-axis stacks with infarcts
(every phase labelled, --phantom-fraction of the draws) when --phantom > 0; augmentation in
mri_augment.py. A LOO fold prints the held-out Dice every --val-every steps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.checkpoint import CHECKPOINTS_DIR, TrainingClock, load_checkpoint, save_checkpoint
from lab.training.mri_augment import augment
from lab.training.mri_data import (
    PREPROCESSING,
    SAMPLES_VERSION,
    UNLABELLED,
    MriSample,
    apical_flags,
    epi_shifts_for,
    sunnybrook_samples,
)
from lab.training.mri_decision import score_sample

__all__ = ["augment", "main", "score_sample"]

SUNNYBROOK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sunnybrook"
CASES = ("SC-HF-I-4", "SC-HF-I-5", "SC-HF-I-6")
CHECKPOINT_MINUTES = 3.0
PHASES_PER_DRAW = 2  # labelled phases per slice in a CNN-alone batch (Sunnybrook labels ED and ES)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace train mri-seg", description=__doc__.splitlines()[0])
    p.add_argument("--temporal", choices=("none", "single", "multi"), default="multi")
    p.add_argument("--holdout", default="none", help="Sunnybrook case left out (LOO), or 'none'")
    p.add_argument("--steps", type=positive_int, default=800)
    p.add_argument("--max-minutes", type=float, default=60.0)
    p.add_argument("--base-channels", type=int, default=8)
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        help="slices per step; with --temporal none each contributes %d labelled phases, not its "
        "whole cycle (the CNN sees phases one by one, so unlabelled ones add nothing)" % PHASES_PER_DRAW,
    )
    p.add_argument("--phantom", type=int, default=0, help="phantom short-axis stacks to add to training")
    p.add_argument("--phantom-trabeculae", action="store_true",
                   help="phantom hearts with an apical trabecular layer labelled myocardium, as the Sunnybrook "
                        "experts trace the apex (app/data/phantom/mri_scene.py)")
    p.add_argument("--phantom-fraction", type=float, default=0.25,
                   help="share of training draws taken from the phantom samples (the rest: Sunnybrook)")
    p.add_argument("--apical-weight", type=float, default=1.0,
                   help="draw Sunnybrook apical slices (largest pool below half the case's largest) this many times "
                        "as often as the others (1: uniform; 3 gave no gain in leave-one-out: see the metadata's "
                        "comparison_note)")
    p.add_argument("--val-every", type=int, default=100, help="held-out Dice every N steps (LOO folds)")
    p.add_argument("--tag", default="", help="suffix of the run folder (experiments beside the standard run)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true",
                   help="forward pass in bf16 autocast on the CPU (faster only on a CPU with native bf16, AVX512-BF16 "
                        "or AMX: elsewhere it is emulated and several times slower; app/ml/device.use_bf16)")
    p.add_argument("--realign-epicardia", action="store_true",
                   help="train on SC-HF-I-6's misdrawn epicardia re-registered by "
                        "resources/sunnybrook_epicardium_alignment.json instead of dropping them (no gain in "
                        "leave-one-out: see the metadata's comparison_note)")
    p.add_argument("--init-from-cnn", default="", metavar="TAG",
                   help="start a ConvLSTM approach from the CNN-alone run of the same holdout and TAG "
                        "(checkpoints/mri_seg_none_<holdout>_<TAG>), its ConvLSTMs silenced "
                        "(lab/training/mri_warm_start.py)")
    p.add_argument("--freeze-cnn", action="store_true",
                   help="train only the ConvLSTMs (the CNN's layers, batch-norm statistics included, stay as loaded)")
    p.add_argument("--data", type=Path, default=SUNNYBROOK)
    p.add_argument("--publish", action="store_true", help="write models/mri_seg when done")
    return p


def run_name(temporal: str, holdout: str, tag: str = "") -> str:
    """checkpoints/<run_name>/last.pt of one training run."""
    return f"mri_seg_{temporal}_{holdout}" + (f"_{tag}" if tag else "")


def cnn_run(holdout: str, tag: str) -> Path:
    """The checkpoint of the CNN-alone run a ConvLSTM approach starts from (--init-from-cnn TAG)."""
    return CHECKPOINTS_DIR / run_name("none", holdout, tag) / "last.pt"


def load_samples(root: Path, cases: tuple[str, ...], cache: Path,
                 epi_shifts: dict[str, dict[int, tuple[float, float]]] | None = None) -> list[MriSample]:
    """Sunnybrook samples for `cases`, cached as npz (resampling and localisation take seconds);
    epi_shifts: case -> re-registered epicardia (lab/training/mri_epi_alignment.py; training only)."""
    out = []
    for case in cases:
        shifts = (epi_shifts or {}).get(case) or {}
        path = cache / f"sunnybrook_{case}_v{SAMPLES_VERSION}{shifts_suffix(shifts)}.npz"
        if path.is_file():
            data = np.load(path, allow_pickle=True)
            out += [MriSample(**item) for item in data["samples"]]
            continue
        samples = sunnybrook_samples(root, case, shifts)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, samples=np.array([s.__dict__ for s in samples], dtype=object))
        out += samples
    return out


def real_draw_probabilities(samples: list[MriSample], apical_weight: float) -> np.ndarray | None:
    """Draw probabilities of the Sunnybrook training slices, apical ones (mri_data.apical_flags) apical_weight
    times as likely; None (uniform draws, exactly as before the option existed) at weight 1."""
    if apical_weight == 1.0:
        return None
    weights = np.where(apical_flags(samples), apical_weight, 1.0)
    return weights / weights.sum()


def shifts_suffix(shifts: dict[int, tuple[float, float]]) -> str:
    """Cache-name suffix telling samples with re-registered epicardia apart ('' without)."""
    if not shifts:
        return ""
    text = json.dumps(sorted((int(k), [float(v) for v in val]) for k, val in shifts.items()))
    return "_epi" + hashlib.sha256(text.encode()).hexdigest()[:10]


class Trainer:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        import torch

        from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
        from lab.training.mri_warm_start import freeze_cnn

        torch.manual_seed(args.seed)
        torch.set_num_threads(args.threads)
        self.args, self.argv = args, argv
        self.rng = np.random.default_rng(args.seed)
        held = () if args.holdout == "none" else (args.holdout,)
        cache = CHECKPOINTS_DIR / "mri_data"
        self.epi_shifts = epi_shifts_for(args.holdout) if args.realign_epicardia else {}
        self.train = load_samples(args.data, tuple(c for c in CASES if c not in held), cache, self.epi_shifts)
        self.valid = load_samples(args.data, held, cache) if held else []
        self.draw_p = real_draw_probabilities(self.train, args.apical_weight)
        self.phantom: list[MriSample] = []
        if args.phantom:
            from lab.training.mri_phantom import phantom_samples

            self.phantom = phantom_samples(args.phantom, seed=1000 + args.seed, cache=cache,
                                           trabeculae=getattr(args, "phantom_trabeculae", False))
        self.net = MultiLevelConvLSTMNet(args.base_channels, args.temporal)
        self.run_name = run_name(args.temporal, args.holdout, args.tag)
        self.ckpt = CHECKPOINTS_DIR / self.run_name / "last.pt"
        self.step, self.history = 0, []
        state = load_checkpoint(self.ckpt)
        if args.init_from_cnn and not state:
            self.warm_start(args.init_from_cnn)
        params = freeze_cnn(self.net) if args.freeze_cnn else list(self.net.parameters())
        self.opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
        if state:
            self.net.load_state_dict(state["model"])
            self.opt.load_state_dict(state["optimizer"])
            self.step, self.history = state["step"], state.get("history", [])
        self.bn_recalibrated = bool(state and state.get("bn_recalibrated"))

    def warm_start(self, tag: str) -> None:
        """The CNN-alone fold of this holdout and `tag` as the starting point (ConvLSTMs silenced)."""
        from lab.training.mri_warm_start import warm_start_from_cnn

        source = cnn_run(self.args.holdout, tag)
        cnn = load_checkpoint(source)
        if not cnn:
            raise ValueError(f"no CNN-alone run at {source}")
        warm_start_from_cnn(self.net, cnn["model"])
        print(f"started from {source} (step {cnn['step']}), ConvLSTMs silenced", flush=True)

    def save(self) -> None:
        save_checkpoint(self.ckpt, {"model": self.net.state_dict(), "optimizer": self.opt.state_dict(),
                                    "step": self.step, "history": self.history, "args": vars(self.args),
                                    "bn_recalibrated": self.bn_recalibrated})

    def recalibrate(self) -> None:
        """Precise BatchNorm statistics over every training sample (lab/training/batchnorm.py), once."""
        import torch

        from lab.training.batchnorm import recalibrate_batchnorm

        n = recalibrate_batchnorm(
            self.net, (torch.from_numpy(s.image)[None, :, None] for s in self.train + self.phantom)
        )
        self.bn_recalibrated = True
        print(f"batch-norm statistics recomputed over {n} training samples", flush=True)
        if self.valid:
            self.history.append({**self.validate(), "bn_recalibrated": True})
            print(json.dumps(self.history[-1]), flush=True)
        self.save()

    def train_step(self) -> float:
        import torch

        from app.ml.device import cpu_autocast
        from lab.training.mri_losses import partial_label_loss
        from lab.training.mri_warm_start import train_mode

        draws = [self.draw() for _ in range(self.args.batch)]
        lr = self.args.lr * 0.5 * (1 + np.cos(np.pi * min(1.0, self.step / max(1, self.args.steps))))
        for group in self.opt.param_groups:
            group["lr"] = lr
        train_mode(self.net, cnn_frozen=bool(getattr(self.args, "freeze_cnn", False)))
        x = torch.from_numpy(np.stack([image for image, _ in draws]))[:, :, None]
        y = torch.from_numpy(np.stack([target for _, target in draws]).astype(np.int64))
        with cpu_autocast(getattr(self.args, "bf16", False)):
            logits = self.net(x)
        loss = partial_label_loss(logits.float(), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step += 1
        self.bn_recalibrated = False
        return float(loss.detach())

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """One augmented training item: a whole cycle, or PHASES_PER_DRAW labelled phases for the CNN alone."""
        from_phantom = self.phantom and self.rng.random() < self.args.phantom_fraction
        sample = self.phantom[int(self.rng.integers(len(self.phantom)))] if from_phantom else self.draw_real()
        if self.args.temporal != "none":
            return augment(sample.image, sample.target, self.rng)
        labelled = np.flatnonzero((sample.target != UNLABELLED).any(axis=(1, 2)))
        keep = np.sort(self.rng.choice(labelled, PHASES_PER_DRAW, replace=len(labelled) < PHASES_PER_DRAW))
        return augment(sample.image[keep], sample.target[keep], self.rng, temporal=False)

    def draw_real(self) -> MriSample:
        """A Sunnybrook training slice: uniform, or by draw_p (apical slices --apical-weight times as likely)."""
        if self.draw_p is None:
            return self.train[int(self.rng.integers(len(self.train)))]
        return self.train[int(self.rng.choice(len(self.train), p=self.draw_p))]

    def validate(self) -> dict:
        from lab.training.mri_crop_inference import predict_cycle

        scores = [score_sample(predict_cycle(self.net, s.image), s.target) for s in self.valid]
        pool = [d for s in scores for d in s["dice_pool"]]
        myo = [d for s in scores for d in s["dice_myo"]]
        return {"dice_pool": float(np.mean(pool)) if pool else None,
                "dice_myo": float(np.mean(myo)) if myo else None, "step": self.step}

    def run(self) -> dict:
        clock, losses = TrainingClock(CHECKPOINT_MINUTES, self.args.max_minutes), []
        if self.step >= self.args.steps:  # nothing to train: keep the checkpoint (and its recorded args) as is
            print(f"checkpoint already at step {self.step} of {self.args.steps}", flush=True)
        while self.step < self.args.steps and not clock.out_of_time():
            losses.append(self.train_step())
            if self.step % 25 == 0:
                print(f"step {self.step} loss {np.mean(losses[-25:]):.4f}", flush=True)
            if self.valid and self.args.val_every and self.step % self.args.val_every == 0:
                self.history.append(self.validate())
                print(json.dumps(self.history[-1]), flush=True)
            if clock.checkpoint_due():
                self.save()
        if losses:
            self.save()
        if self.step >= self.args.steps and not self.bn_recalibrated and not getattr(self.args, "freeze_cnn", False):
            self.recalibrate()  # a frozen CNN keeps the statistics its ConvLSTMs were trained against
        metrics = self.validate() if self.valid else {"step": self.step}
        print(json.dumps(metrics), flush=True)
        if self.args.publish and self.step >= self.args.steps:
            self.publish(metrics)
        return metrics

    def epi_note(self) -> str:
        """What the training data did with misdrawn epicardia, for the metadata."""
        n = sum(len(v) for v in self.epi_shifts.values())
        if not n:
            return "; misdrawn epicardia (SC-HF-I-6) dropped"
        return (f"; {n} misdrawn SC-HF-I-6 epicardia re-registered by whole-pixel shifts, "
                "resources/sunnybrook_epicardium_alignment.json")

    def apical_note(self) -> str:
        """What --apical-weight did to the Sunnybrook draws, for the metadata."""
        if self.draw_p is None:
            return ""
        return (f"; Sunnybrook apical slices (largest pool below half the case's largest) drawn "
                f"{self.args.apical_weight:g}x as often "
                "(lab/training/mri_data.apical_flags)")

    def publish(self, metrics: dict) -> None:
        from lab.model_notes import notes_path, publish as save_model, read_metadata

        previous = read_metadata("mri_seg") if notes_path("mri_seg").is_file() else {}
        save_model(
            self.net,
            "mri_seg",
            {
                "architecture": f"MultiLevelConvLSTMNet(temporal={self.args.temporal}) "
                "- Zhang et al. multi-level ConvLSTM",
                "build": {
                    "base_channels": self.args.base_channels,
                    "temporal": self.args.temporal,
                    "closed_cycle": True,
                },
                "input": {
                    "grid_mm": 1.0,
                    "crop_px": 128,
                    "channels": 1,
                    "range": "0..1",
                    "preprocessing": PREPROCESSING,
                },
                "classes": ["background", "lv_blood_pool", "myocardium"],
                "training_data": f"Sunnybrook Cardiac Data (Radau et al. 2009, CC0) cases {', '.join(CASES)} "
                f"(ED/ES expert contours{self.epi_note()}), plus {self.args.phantom} phantom "
                f"short-axis stacks ({self.args.phantom_fraction:.0%} of draws){self.apical_note()}",
                "augmentation": "rotation, flip, zoom 0.7-1.4, shift; contrast/brightness/gamma, shading, blur, "
                "noise; cycle start, phase stride 1-2 (lab/training/mri_augment.py)",
                "postprocessing": 'labels by the probability thresholds of "decision" '
                "(lab/training/mri_decision.py; argmax "
                "without), then lab/training/mri_postprocess.py: central pool component, convex hull, "
                "wall <= 20 mm, no LV where the pool is less than 50 % surrounded by myocardium "
                "(basal-slice rule)",
                "command": "python -m app train mri-seg " + " ".join(self.argv),
                "steps": self.step,
                "metrics": metrics,
                **carried_tables(loo_summary(self.args.tag), previous),
                **loo_decision(self.args.temporal, self.args.tag),
            },
        )


def carried_tables(summary: dict | None, previous: dict) -> dict:
    """The comparison tables of a newly published model: the LOO table of its run's tag (with the rows of the
    approaches it lacks kept from the previous model's table) and the previous infarct-phantom comparison of
    the LOO folds (its "published" entry dropped: that was the previous model), and the notes on earlier
    comparisons ("comparison_note": what was tried and why it was or was not kept)."""
    old_loo = previous.get("leave_one_out") or {}
    out = {"leave_one_out": carry_over(summary, old_loo) if summary else (old_loo or None)}
    if previous.get("comparison_note"):
        out["comparison_note"] = previous["comparison_note"]
    infarct = previous.get("infarct_phantom_comparison")
    if infarct:
        out["infarct_phantom_comparison"] = {k: ({a: v for a, v in val.items() if a != "published"}
                                                 if isinstance(val, dict) else val) for k, val in infarct.items()}
    return out


def carry_over(new: dict, old: dict) -> dict:
    """The LOO table `new`, plus the rows, means, thresholds and fold recipes of every approach that `old` has
    and `new` lacks (its folds were not on this machine), listed under "carried_over" with the command that
    measured them, so retraining one approach does not erase the comparison with the others."""
    evaluated = {row["approach"] for row in new.get("rows", [])}
    kept = sorted({row["approach"] for row in old.get("rows", [])} - evaluated)
    if not kept:
        return new
    out = {**new, "rows": new.get("rows", []) + [r for r in old["rows"] if r["approach"] in kept]}
    out["means"] = {**new.get("means", {}), **{a: m for a, m in old.get("means", {}).items() if a in kept}}
    out["decisions_all_folds"] = {**new.get("decisions_all_folds", {}),
                                  **{a: d for a, d in old.get("decisions_all_folds", {}).items() if a in kept}}
    out["fold_training_args"] = {**new.get("fold_training_args", {}),
                                 **{k: v for k, v in old.get("fold_training_args", {}).items()
                                    if k.split("/")[0] in kept}}
    out["carried_over"] = {a: old.get("carried_over", {}).get(a, old.get("command", "")) for a in kept}
    return out


def loo_summary_path(tag: str = "") -> Path:
    """checkpoints/mri_seg_loo[_TAG]/summary.json, the table of `evaluate mri-seg [--tag TAG]`; an ensemble's
    comma-separated tags are joined by '+' in the folder name."""
    return CHECKPOINTS_DIR / ("mri_seg_loo" + (f"_{tag.replace(',', '+')}" if tag else "")) / "summary.json"


def loo_summary(tag: str = "") -> dict | None:
    """The table written by `python -m app evaluate mri-seg [--tag TAG]` (loo_summary_path), if any."""
    path = loo_summary_path(tag)
    return json.loads(path.read_text()) if path.is_file() else None


def loo_decision(temporal: str, tag: str = "") -> dict:
    """{"decision": thresholds} of this approach tuned by `evaluate mri-seg` on all its held-out predictions
    (lab/training/mri_decision.py), or {} (argmax) when it has not been evaluated."""
    decision = ((loo_summary(tag) or {}).get("decisions_all_folds") or {}).get(temporal)
    return (
        {"decision": {**decision, "tuned_on": "all leave-one-out held-out predictions of this approach"}}
        if decision
        else {}
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.batch > 1 and args.temporal != "none":
        print("error: --batch > 1 needs --temporal none (whole cycles differ in length)", file=sys.stderr)
        return 2
    if not args.data.is_dir():
        print(f"error: Sunnybrook data not found at {args.data}", file=sys.stderr)
        return 2
    if (args.init_from_cnn or args.freeze_cnn) and args.temporal == "none":
        print("error: --init-from-cnn and --freeze-cnn need --temporal single or multi", file=sys.stderr)
        return 2
    source = cnn_run(args.holdout, args.init_from_cnn) if args.init_from_cnn else None
    if source is not None and not source.is_file():
        print(f"error: no CNN-alone run at {source} (train it first: "
              f"--temporal none --holdout {args.holdout} --tag {args.init_from_cnn})", file=sys.stderr)
        return 2
    Trainer(args, argv).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
