"""Train TempReg-Net (`python -m app train ed-es`): resumable, checkpoints in checkpoints/ed_es/.

Data: cached clips in checkpoints/ed_es_data/*.npz (built once by `tempreg_cache`): CAMUS-warped echo
clips and phantom echo / cine-MR clips. Training windows of 16..128 frames start anywhere in a clip.
Every `eval_every` steps the validation clips are scored (aFD of ED and ES); the best weights so far are
written to models/ed_es with their metadata via app.ml.weights.save_model.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from app.commands.usage import OneLineParser
from app.report.cli_hooks import positive_int
from lab.training.checkpoint import CHECKPOINTS_DIR, TrainingClock
from lab.training.tempreg_cache import DATA_DIR  # where `tempreg_cache` writes the training clips
from lab.training.tempreg_sample import TrainClip, load_clips, sample_batch, sampling_weights

CKPT_DIR = CHECKPOINTS_DIR / "ed_es"


@dataclass(frozen=True)
class TrainOptions:
    steps: int = 6000
    batch_size: int = 6
    lr: float = 1e-3
    max_len: int = 128
    eval_every: int = 250
    checkpoint_every_s: float = 180.0
    threads: int = 2
    seed: int = 0
    max_minutes: float | None = None  # stop (with a last validation + checkpoint) after this long
    resume: bool = True
    init_from_published: bool = False  # a fresh run starts from the weights in models/ed_es
    hflip: bool = False  # mirror half of the training windows left-right
    save_best: bool = True
    ckpt_dir: Path = CKPT_DIR
    data_dir: Path = DATA_DIR
    command: str = field(default_factory=lambda: "python -m app " + shlex.join(sys.argv[1:]))


@dataclass(frozen=True)
class TrainProgress:
    step: int
    steps: int
    loss: float
    val_afd: float | None = None
    best_afd: float | None = None


def afd_of_clips(model, clips: list[TrainClip], device) -> dict:
    """Mean absolute frame difference of ED and ES on clips (nearest detection of the same kind)."""
    from app.analysis.edes_fusion import curve_extrema
    from app.ml.edes import predict_curve
    from lab.evaluation.edes_scoring import match_errors

    errs = {"ed": [], "es": []}
    missed = 0
    for clip in clips:
        curve = predict_curve(model, clip.frames.astype(np.float32) / 255.0, device)
        ed, es = curve_extrema(curve, clip.frame_rate_hz, clip.modality)
        for kind, truth, found in (("ed", clip.ed_frames, ed), ("es", clip.es_frames, es)):
            e, m = match_errors(truth, found, clip.frame_rate_hz)
            errs[kind] += e
            missed += m
    return {"ed_afd": float(np.mean(errs["ed"])) if errs["ed"] else float("nan"),
            "es_afd": float(np.mean(errs["es"])) if errs["es"] else float("nan"), "missed": missed}


NO_CLIPS = "no training clips in {}; build them with `python -m lab.training.tempreg_cache`"


def _is_validation(path: Path) -> bool:
    return path.stem.startswith("val")


def _load_data(data_dir: Path) -> tuple[list[TrainClip], list[TrainClip]]:
    train, val = [], []
    for path in sorted(data_dir.glob("*.npz")):
        (val if _is_validation(path) else train).extend(load_clips(path))
    if not train:
        raise FileNotFoundError(NO_CLIPS.format(data_dir))
    return train, val


def train(opts: TrainOptions) -> Iterator[TrainProgress]:
    """Run training; yields progress every few steps. Stop by closing the generator (Ctrl+C)."""
    import torch

    from app.ml.device import choose_device
    from app.ml.nets.tempreg import build_tempreg, tempreg_loss

    torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    device = choose_device()
    train_clips, val_clips = _load_data(opts.data_dir)
    targets = [c.target() for c in train_clips]
    weights = sampling_weights(train_clips)
    model = build_tempreg().to(device)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    step, best = 0, float("inf")
    last = opts.ckpt_dir / "last.pt"
    if opts.resume and last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step = int(state["step"])
        if val_clips:  # the validation set may have grown since: score the resumed weights on it
            model.eval()
            best = _val_score(afd_of_clips(model, val_clips, device), len(val_clips))
            if opts.save_best:  # and the published weights, so a worse model never replaces them
                best = min(best, _published_score(val_clips, device))
    elif opts.init_from_published:
        model.load_state_dict(_published_model(device).state_dict())
        if val_clips and opts.save_best:  # the published weights' score, to beat before anything is saved
            model.eval()
            best = _val_score(afd_of_clips(model, val_clips, device), len(val_clips))
    rng = np.random.default_rng(opts.seed + step)
    clock = TrainingClock(opts.checkpoint_every_s / 60.0, opts.max_minutes or None)
    losses: list[float] = []
    while step < opts.steps:
        last_step = step + 1 == opts.steps or clock.out_of_time()
        model.train()
        for group in optim.param_groups:
            group["lr"] = learning_rate(step, opts)
        x, y = sample_batch(train_clips, targets, opts.batch_size, rng, max_len=opts.max_len,
                            weights=weights, hflip=opts.hflip)
        pred = model(torch.from_numpy(x).to(device)[:, :, None])
        loss = tempreg_loss(pred, torch.from_numpy(y).to(device), model)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
        step += 1
        losses.append(float(loss.detach()))
        val = None
        if val_clips and (step % opts.eval_every == 0 or last_step):
            model.eval()
            scores = afd_of_clips(model, val_clips, device)
            val = _val_score(scores, len(val_clips))
            if val < best:
                best = val
                if opts.save_best:
                    save_weights(model, opts, step, scores, len(train_clips), len(val_clips))
        if clock.checkpoint_due() or last_step or val is not None:
            _checkpoint(last, model, optim, step, best)
            clock.mark_checkpoint()
        if step % 25 == 0 or val is not None or last_step:
            yield TrainProgress(step, opts.steps, float(np.mean(losses[-25:])), val, best)
        if last_step:
            break


def _published_model(device):
    """The TempReg-Net in models/ed_es (WeightsError when absent or corrupted)."""
    from app.ml.weights import load_model

    return load_model("ed_es", device)


def _published_score(val_clips: list[TrainClip], device) -> float:
    """Validation objective of the weights in models/ed_es (inf when there are none)."""
    from app.ml.weights import WeightsError

    try:
        published = _published_model(device)
    except WeightsError:
        return float("inf")
    return _val_score(afd_of_clips(published, val_clips, device), len(val_clips))


def _val_score(scores: dict, n_clips: int) -> float:
    """Validation objective: mean of ED and ES aFD plus missed events per clip."""
    return (scores["ed_afd"] + scores["es_afd"]) / 2 + scores["missed"] / max(n_clips, 1)


def learning_rate(step: int, opts: TrainOptions) -> float:
    """Linear warm-up over 100 steps, then cosine decay to 2 % at opts.steps (so runs can be extended)."""
    warm = min(1.0, (step + 1) / 100.0)
    progress = min(1.0, step / max(opts.steps, 1))
    return opts.lr * warm * (0.02 + 0.98 * 0.5 * (1.0 + np.cos(np.pi * progress)))


def _checkpoint(path: Path, model, optim, step: int, best: float) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optim": optim.state_dict(),
                "step": step, "best": best}, tmp)
    tmp.replace(path)


def data_summary(data_dir: Path) -> dict:
    """Clip counts per cache file (for the metadata)."""
    out = {}
    for path in sorted(data_dir.glob("*.npz")):
        with np.load(path) as data:
            out[path.stem] = {"clips": int(len(data["lengths"])), "frames": int(data["lengths"].sum())}
    return out


def save_weights(model, opts: TrainOptions, step: int, scores: dict, n_train: int, n_val: int) -> Path:
    """models/ed_es/model.pt + metadata.json (architecture, input, data, command, validation aFD)."""
    import copy

    from lab.model_notes import publish as save_model, read_metadata

    try:
        old = read_metadata("ed_es")
    except Exception:  # noqa: BLE001 - first save
        old = {}
    meta = {
        "architecture": "TempReg-Net (Kong et al., MICCAI 2016): per-frame CNN on frame + temporal "
                        "difference, bidirectional LSTM, per-frame linear regression of the volume-like curve",
        "build": model.config.to_dict(),
        "input": {"size": model.config.input_size, "channels": "grey 0..1 (1st-99.5th percentile), "
                  "cropped to the sector box, area-resized", "window_frames": 128},
        "label": "Kong et al. curve, delta=3 (systole), upsilon=1/3 (diastole); 1 at ED, 0 at ES",
        "loss": "MSE + temporal structured hinge loss + 1e-6 L2 on weights",
        "training_data": data_summary(opts.data_dir),
        "training_step": step,
        "n_train_clips": n_train,
        "validation": {"clips": n_val, **{k: round(float(v), 4) for k, v in scores.items()}},
        "command": opts.command,
        "datasets": ["CAMUS (Leclerc et al., IEEE TMI 38(9):2198-2210, 2019; doi:10.1109/TMI.2019.2900516), "
                     "train split ED/ES frames warped into clips", "CardioTrace phantom (app.data.phantom)"],
        "evaluation": None,  # filled by `python -m app evaluate ed-es --write-metadata` for these weights
        "training_history": old.get("training_history", []),
    }
    return save_model(copy.deepcopy(model).cpu(), "ed_es", meta)


def main(argv: list[str] | None = None) -> int:

    parser = OneLineParser(prog="cardiotrace train ed-es")
    parser.add_argument("--steps", type=positive_int, default=TrainOptions.steps)
    parser.add_argument("--batch-size", type=int, default=TrainOptions.batch_size)
    parser.add_argument("--lr", type=float, default=TrainOptions.lr)
    parser.add_argument("--eval-every", type=int, default=TrainOptions.eval_every)
    parser.add_argument("--threads", type=int, default=TrainOptions.threads)
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    parser.add_argument("--fresh", action="store_true", help="ignore checkpoints/ed_es/last.pt")
    parser.add_argument("--init-from-published", action="store_true",
                        help="without a checkpoint to resume, start from the weights in models/ed_es")
    parser.add_argument("--hflip", action="store_true", help="mirror half of the training windows left-right")
    args = parser.parse_args(argv)
    opts = TrainOptions(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                        eval_every=args.eval_every, threads=args.threads, resume=not args.fresh,
                        max_minutes=args.max_minutes, init_from_published=args.init_from_published,
                        hflip=args.hflip)
    if not any(not _is_validation(p) for p in opts.data_dir.glob("*.npz")):  # before any work, as _load_data says
        raise SystemExit(NO_CLIPS.format(opts.data_dir))
    for p in train(opts):
        extra = f" val={p.val_afd:.3f} best={p.best_afd:.3f}" if p.val_afd is not None else ""
        print(f"step {p.step}/{p.steps} loss={p.loss:.4f}{extra}", flush=True)
    print(json.dumps({"checkpoint": str(opts.ckpt_dir / "last.pt")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
