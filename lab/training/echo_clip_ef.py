"""`train echo-clip-ef`: fine-tune the echo U-Net on CAMUS (Dice) with clinical clips' expert EF as weak supervision.

On clinical video the U-Net trained on CAMUS drew the systolic cavity too large (issue 53), which CAMUS' own ED/ES
frames do not show. Each step here is the CAMUS (and phantom)
batch of `train echo-seg --arch base` with its Dice + cross-entropy loss, and in the same forward pass the ED and
ES frames of a few clinical beats (lab.training.echo_clip_data): their EF, computed from the network's soft LV
masks, is pulled towards the echocardiographer's EF of the clip (`ef_loss`). The EF is the pipeline's own (method
of disks on the traced contour, monoplane) at the hard prediction; its gradient reaches the masks through the
soft LV area (a disk volume grows as area^1.5 when the shape is kept). Nothing tells the network where the
border is: CAMUS' expert masks keep the shapes, the clips only say how much the cavity shrinks.

Clips in training are never scored: `--fold K/N` trains on the clips outside fold K (by clip) and writes the
fold's clips beside the model, which `evaluate echo-clips --clips` scores (lab/notes/echo_clip_ef.md has the
commands). The model is published once, at the last step (the CAMUS hold-out Dice is reported, not used to
select: it cannot see what the clips teach).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from app.ml.inference import make_input
from lab.training.augment import gain_gamma
from lab.training.echo_seg import Trainer, build_parser
from lab.training.ef_loss import AREA_EXPONENT, disk_volumes, ef_loss, plausible_beats

DEFAULT_CLIPS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "echonet_clips"
HELDOUT_FILE = "echo_clip_ef_heldout.txt"


def parser():
    p = build_parser()
    p.prog = "cardiotrace train echo-clip-ef"
    p.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="echonet_clips folder (AVIs, FileList.csv)")
    p.add_argument("--events", type=Path, required=True,
                   help="`evaluate echo-clips --json` of the shipped model: each clip's trusted beats")
    p.add_argument("--fold", type=str, default=None, metavar="K/N",
                   help="cross-validation by clip: train on the clips outside fold K of N (echo_clip_data.clip_folds); "
                        f"the held-out clips are written to <models-root>/{HELDOUT_FILE}")
    p.add_argument("--clips-per-step", type=int, default=4, help="clinical beats (ED + ES frames) per step")
    p.add_argument("--ef-weight", type=float, default=1.0, help="weight of the EF loss (EF as a fraction)")
    p.add_argument("--clip-cache", type=Path, default=None, help="npz cache of the clips' beat frames")
    p.add_argument("--camus-ef-pairs", type=int, default=0,
                   help="CAMUS training patients per step whose ED/ES pair joins the EF loss, against the EF of their "
                        "expert masks (0: clips only). The clips are all normal EF; CAMUS' pairs span reduced EFs "
                        "too. Tried with 4: the training patients' EF fits far better, CAMUS valid's does not "
                        "(lab/notes/echo_clip_ef.md, session 46)")
    p.add_argument("--pseudo-weight", type=float, default=0.0, metavar="W",
                   help="weight of the clips' own frames labelled by a mean teacher (lab.training.mean_teacher) and "
                        "learnt through the training augmentations; 0: off")
    p.add_argument("--pseudo-frames", type=int, default=8, help="training clips' frames per step (--pseudo-weight)")
    p.add_argument("--ema-decay", type=float, default=0.99, help="the mean teacher's decay per step (--pseudo-weight)")
    return p


def clip_fine_tune(command_history: list[str]) -> str | None:
    """The last command of a model's history that fine-tuned it on the clinical clips, or None."""
    seen = [c for c in command_history if f"train {ClipEfTrainer.TARGET}" in c]
    return seen[-1] if seen else None


class ClipEfTrainer(Trainer):
    """Trainer (--arch base) whose loss adds the clinical beats' EF loss."""

    TARGET = "echo-clip-ef"

    def __init__(self, args, argv: list[str]):
        from lab.training.echo_clip_data import load_clip_beats

        if args.arch != "base":
            raise SystemExit("train echo-clip-ef fine-tunes the per-frame U-Net: --arch base")
        if args.distill_from or args.distill_clips:
            raise SystemExit("train echo-clip-ef does not distil: train a student with train echo-seg")
        super().__init__(args, argv)
        clips = load_clip_beats(args.clips, args.events, args.size, args.clip_cache)
        self.fold = ""
        if args.fold:
            clips = self._outside_fold(clips, args.fold)
        if not clips:
            raise SystemExit("no clinical clip with trusted beats to train on")
        self.clips = clips
        self.ef_terms: list[float] = []
        self.camus_ef = self._camus_pair_efs() if args.camus_ef_pairs > 0 else np.zeros(0)
        self.mean_teacher, self.pseudo_terms = self._mean_teacher(), []
        print(f"{len(clips)} clinical clips, {sum(len(c.frames) for c in clips)} beats", flush=True)

    def _mean_teacher(self):
        """The EMA teacher of --pseudo-weight over the training clips' beat frames (resumed with the run), or
        None; its own random stream, so that the CAMUS and EF batches are drawn as in a run without it."""
        if self.args.pseudo_weight <= 0:
            return None
        from lab.training.echo_clip_data import beat_frames
        from lab.training.mean_teacher import EmaTeacher

        teacher = EmaTeacher(self.model, self.args.ema_decay, beat_frames(self.clips), self.args.pseudo_frames,
                             np.random.default_rng([self.args.seed, 1, self.step]))
        if "ema_teacher" in self.resumed_extras:
            teacher.load_state_dict(self.resumed_extras["ema_teacher"])
        return teacher

    def checkpoint_extras(self) -> dict:
        return {} if self.mean_teacher is None else {"ema_teacher": self.mean_teacher.state_dict()}

    def pseudo_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The mean teacher's augmented frames and labels ((M, S, S) float32 and int64; M = 0 without it)."""
        if self.mean_teacher is None:
            size = self.args.size
            return np.zeros((0, size, size), np.float32), np.zeros((0, size, size), np.int64)
        return self.mean_teacher.batch(self.augment, self.device)

    def _camus_pair_efs(self) -> np.ndarray:
        """(N,) the EF of each CAMUS training patient's expert ED/ES masks at the network's size, as the pipeline
        measures a contour (disk_volumes, square pixels: the network's and the masks' EF are measured alike); NaN
        where the masks give no EF the pipeline would trust."""
        labels = self.train.labels  # (N, 2, S, S): ED, ES
        volumes = disk_volumes(labels.reshape(-1, *labels.shape[2:]), np.ones((2 * len(labels), 2)))
        ok = np.isfinite(volumes).reshape(-1, 2).all(axis=1) & plausible_beats(volumes)
        with np.errstate(divide="ignore", invalid="ignore"):
            ef = 100.0 * (1.0 - volumes[1::2] / volumes[0::2])
        if not ok.any():
            raise SystemExit("--camus-ef-pairs: no CAMUS training pair whose expert masks give a trustable EF")
        ef = np.where(ok, ef, np.nan)
        print(f"CAMUS pairs in the EF loss: {int(ok.sum())} of {len(ok)} patients, expert EF "
              f"{np.nanmin(ef):.0f}-{np.nanmax(ef):.0f} % (below 40 %: {int(np.sum(ef < 40))})", flush=True)
        return ef

    def _init_from_model(self) -> None:
        """The starting weights; for a fold, never a model already fine-tuned on these clips (its history names
        this trainer): its fold would be scored on clips it saw (session 43 started folds from such a model)."""
        super()._init_from_model()
        seen = clip_fine_tune(self.commands[:-1])
        if self.args.fold and seen:
            raise SystemExit(f"--fold {self.args.fold}: --init-from {self.args.init_from} was already fine-tuned on "
                             f"the clinical clips ({seen[:80]}...); a fold must start from a model that never saw them")

    def _outside_fold(self, clips, fold: str):
        """The clips outside fold K of N (of every clip in FileList.csv, present or not: with --clip-cache only the
        list travels); the fold's clips written beside the published model, for `evaluate echo-clips --clips`."""
        from lab.evaluation.echo_clips import read_file_list
        from lab.training.echo_clip_data import clip_folds

        try:
            k, n = (int(v) for v in fold.split("/"))
        except ValueError:
            raise SystemExit(f"--fold {fold!r}: give K/N, e.g. 0/2") from None
        if not 0 <= k < n or n < 2:
            raise SystemExit(f"--fold {fold!r}: K must be 0..N-1 and N at least 2")
        held = clip_folds([r.name for r in read_file_list(self.args.clips, present_only=False)], n)[k]
        root = self.args.models_root or Path("models")
        root.mkdir(parents=True, exist_ok=True)
        (root / HELDOUT_FILE).write_text("\n".join(held) + "\n", encoding="utf-8")
        self.fold = f"; cross-validation fold {k} of {n} by clip: {len(held)} clips held out ({root / HELDOUT_FILE})"
        return [c for c in clips if c.name not in set(held)]

    def clip_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(2B, S, S) float32 frames (ED, ES of each beat), (2B, 2) pixel sizes, (B,) expert EF; one random beat
        of each of B random clips, ED and ES through the same gain and gamma (their EF unchanged)."""
        pick = self.rng.choice(len(self.clips), size=min(self.args.clips_per_step, len(self.clips)), replace=False)
        frames, pixel_hw, ef = [], [], []
        for i in pick:
            clip = self.clips[int(i)]
            beat = clip.frames[int(self.rng.integers(len(clip.frames)))].astype(np.float32) / 255.0
            frames.append(gain_gamma(beat, self.rng))
            pixel_hw += [clip.pixel_hw, clip.pixel_hw]
            ef.append(clip.ef_pct)
        return np.concatenate(frames), np.asarray(pixel_hw), np.asarray(ef, dtype=np.float32)

    def camus_pair_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """clip_batch's arrays for --camus-ef-pairs CAMUS training patients: their ED and ES frames through the
        same gain and gamma, square pixels, the expert masks' EF."""
        usable = np.flatnonzero(np.isfinite(self.camus_ef))
        pick = self.rng.choice(usable, size=min(self.args.camus_ef_pairs, len(usable)), replace=False)
        frames = []
        for i in pick:
            frames.append(gain_gamma(self.train.images[i], self.rng))
        return np.concatenate(frames).astype(np.float32), np.ones((2 * len(pick), 2)), self.camus_ef[pick].astype(
            np.float32)

    def ef_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The beats of the EF loss: clip_batch's, then camus_pair_batch's (--camus-ef-pairs)."""
        parts = [self.clip_batch()] + ([self.camus_pair_batch()] if self.args.camus_ef_pairs > 0 else [])
        frames, pixel_hw, ef = (np.concatenate([part[i] for part in parts]) for i in range(3))
        return frames, pixel_hw, ef

    def step_loss(self):
        import torch

        frames, labels = self.base_frames()
        clip_frames, pixel_hw, ef = self.ef_batch()
        pseudo_frames, pseudo_labels = self.pseudo_batch()
        x = make_input(torch.from_numpy(np.concatenate([frames, clip_frames, pseudo_frames]).astype(np.float32)))
        logits = self.model(x.to(self.device)).float()
        n, m = len(frames), len(frames) + len(clip_frames)
        loss = self.base_loss(logits[:n], labels)
        if len(pseudo_frames):
            term = self.base_loss(logits[m:], pseudo_labels)
            self.pseudo_terms.append(float(term.detach()))
            loss = loss + self.args.pseudo_weight * term
        clip_logits = logits[n:m]
        hard = disk_volumes(clip_logits.argmax(1).cpu().numpy().astype(np.uint8), pixel_hw)
        ok = np.isfinite(hard).reshape(-1, 2).all(axis=1) & plausible_beats(hard)
        if ok.any():
            keep = torch.from_numpy(np.repeat(ok, 2)).to(self.device)
            probs = torch.softmax(clip_logits[keep], 1)[:, 1]
            volumes = torch.from_numpy(hard[np.repeat(ok, 2)].astype(np.float32)).to(self.device)
            term = ef_loss(probs, volumes, torch.from_numpy(ef[ok]).to(self.device))
            self.ef_terms.append(float(term.detach()))
            loss = loss + self.args.ef_weight * term
        return loss

    def train_step(self) -> float:
        loss = super().train_step()
        if self.mean_teacher is not None:
            self.mean_teacher.update(self.model)
        if self.step % 25 == 0 and self.ef_terms:
            pseudo = f", pseudo-label loss {np.mean(self.pseudo_terms[-25:]):.4f}" if self.pseudo_terms else ""
            print(f"step {self.step} EF loss {np.mean(self.ef_terms[-25:]):.4f} (smooth-L1 of the EF fraction){pseudo}",
                  flush=True)
        return loss

    def _loss_description(self) -> str:
        return (super()._loss_description() + f" + {self.args.ef_weight:g} x smooth-L1 of the EF of "
                f"{self.args.clips_per_step} clinical beats per step (soft LV area^{AREA_EXPONENT:g} x the "
                "argmax mask's disk volume) against the echocardiographer's EF, beats of a trustable EF only"
                + (f", and of {self.args.camus_ef_pairs} CAMUS training ED/ES pairs per step against their expert "
                   "masks' EF" if self.args.camus_ef_pairs > 0 else "")
                + (f"; + {self.args.pseudo_weight:g} x the same Dice + cross-entropy on {self.args.pseudo_frames} "
                   "training clips' frames per step labelled by a mean teacher (EMA of the weights, decay "
                   f"{self.args.ema_decay:g}) and augmented as the CAMUS frames" if self.mean_teacher else ""))

    def _data_description(self) -> str:
        return (super()._data_description() + f"; {len(self.clips)} EchoNet-Dynamic clinical A4C clips "
                f"({sum(len(c.frames) for c in self.clips)} beats; ED/ES frames of the shipped pipeline's trusted "
                "beats) with the echocardiographer's EF only (weak supervision; Ouyang et al., Nature 580:252-256, "
                "2020)" + self.fold)

    def run(self) -> dict | None:
        """Train to --steps (resumable); publish the last step's weights, with the CAMUS hold-out Dice."""
        args = self.args
        if self.step >= args.steps:
            return None
        metrics = super().run()
        if self.step >= args.steps:
            metrics = metrics if metrics and metrics.get("step") == self.step else self.validate()
            self.publish(metrics)
            print(f"published the last step ({self.step}) to {args.models_root or 'models'}", flush=True)
        return metrics


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    if args.val_every < args.steps:
        args.val_every = args.steps  # validation does not select here; it is reported at the last step
    ClipEfTrainer(args, argv).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
