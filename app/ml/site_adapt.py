"""The site model: the shipped echo U-Net fine-tuned on the site's corrected frames, checked, offered only if better.

`adapt_site_model(corrections)` is a task (app.tasks), cancellable, reporting progress:
1. the patients are split: about a quarter of them (at least one) held out for the check, the rest train;
2. the shipped U-Net is fine-tuned on the training patients' frames (cross-entropy + soft Dice, the shipped
   training's augmentations, app/ml/augment.py), its BatchNorm statistics kept (a few hundred site frames are
   too few to re-estimate them);
3. both networks are scored on the held-out patients' frames (Dice of LV cavity, myocardium, LA);
4. the site model is written to the user's site folder (app/ml/site_model.py) only if it wins: checked on at
   least MIN_CHECK_FRAMES frames, mean Dice higher by at least MIN_GAIN, the frames' paired gain above zero at
   one-sided 95 % (a gain on two frames is luck, not evidence), no structure lower by more than MAX_LOSS, and the LV
   cavity's area no further from the corrected one than the shipped model's by more than MAX_AREA_LOSS (the
   volumes and EF come from that area: a better Dice with a systolic cavity drawn larger is no better EF).
   Otherwise it is refused with the reason.
The model offered is the model that was checked (not retrained on the held-out patients afterwards).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from app.tasks import Cancel, Progress, is_cancelled

MODEL = "echo_seg_base"
MIN_GAIN = 0.005  # mean Dice the site model must gain on held-out patients to be offered
MAX_LOSS = 0.01  # no structure may lose more than this
MAX_AREA_LOSS = 0.01  # mean |LV area / corrected LV area - 1| may grow by at most this
MIN_PATIENTS = 2  # one to learn from, one to check on
MIN_CHECK_FRAMES = 6  # held-out frames below which no gain can be shown
Z_95 = 1.645  # one-sided 95 % normal quantile of the paired per-frame gain
HELDOUT_SHARE = 0.25
STRUCTURES = ("lv", "myocardium", "la")


class AdaptError(Exception):
    """The corrections cannot make a site model (too few patients or frames): the reason, for the user."""


@dataclass(frozen=True)
class DiceScore:
    """Mean Dice per structure over the held-out frames (a structure absent from truth and prediction counts 1)."""

    lv: float
    myocardium: float
    la: float
    frames: int
    per_frame: tuple[float, ...] = ()  # each frame's mean Dice of the three structures, in frame order
    lv_area_error: float = 0.0  # mean |LV area / corrected LV area - 1| over the frames with a corrected LV

    @property
    def mean(self) -> float:
        return (self.lv + self.myocardium + self.la) / 3.0


@dataclass(frozen=True)
class AdaptOutcome:
    accepted: bool
    reason: str
    shipped: DiceScore
    site: DiceScore
    train_patients: tuple[str, ...]
    heldout_patients: tuple[str, ...]
    train_frames: int
    studies: int
    steps: int
    seconds: float
    folder: Path | None  # where the accepted model was written


def split_patients(patients: Sequence[str], seed: int = 0) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held out): a seeded quarter of the patients (at least one) held out; AdaptError under MIN_PATIENTS."""
    unique = sorted(set(patients))
    if len(unique) < MIN_PATIENTS:
        raise AdaptError(f"corrected studies of {len(unique)} patient(s): at least {MIN_PATIENTS} are needed, "
                         "one to learn from and one to check the result on")
    order = np.random.default_rng(seed).permutation(len(unique))
    n_held = max(1, int(round(len(unique) * HELDOUT_SHARE)))
    held = tuple(sorted(unique[i] for i in order[:n_held]))
    return tuple(p for p in unique if p not in held), held


@dataclass(frozen=True, eq=False)
class Checked:
    """The fine-tuned network and its check against the shipped one, before any verdict."""

    net: Any
    shipped: DiceScore
    site: DiceScore
    train_patients: tuple[str, ...]
    heldout_patients: tuple[str, ...]
    train_frames: int


def train_and_check(corrections, steps: int = 300, batch: int = 8, lr: float = 1e-4, seed: int = 0,
                    cancel: Cancel = None) -> Iterator[Progress | Checked]:
    """Task: split the patients, fine-tune the shipped U-Net on the training ones' frames and score both networks on
    the held-out ones' (steps 1-3 of the module's docstring). AdaptError when it cannot be tried at all."""
    from app.ml.device import choose_device
    from app.ml.weights import load_model, models_dir

    train_p, held_p = split_patients([f.patient for f in corrections.frames], seed)
    train = [f for f in corrections.frames if f.patient in train_p]
    held = [f for f in corrections.frames if f.patient in held_p]
    device = choose_device()
    yield Progress(0.02, f"checking the shipped model on {len(held_p)} held-out patient(s)")
    shipped_score = score(load_model(MODEL, device, root=models_dir()), held, device)
    site = load_model(MODEL, device, root=models_dir())
    for done in fine_tune(site, train, steps, batch, lr, seed, device):
        if is_cancelled(cancel):
            return
        yield Progress(0.05 + 0.85 * done / steps, f"learning from {len(train)} frames: step {done} of {steps}")
    yield Progress(0.92, "checking the site model")
    yield Checked(site, shipped_score, score(site, held, device), train_p, held_p, len(train))


def adapt_site_model(corrections, steps: int = 300, batch: int = 8, lr: float = 1e-4, seed: int = 0,
                     root: Path | None = None, cancel: Cancel = None) -> Iterator[Progress | AdaptOutcome]:
    """Task: fine-tune, check and (if it wins) publish the site model of `corrections`
    (app.workflow.site_corrections.CorrectionSet). AdaptError when it cannot be tried at all."""
    start = time.perf_counter()
    checked = None
    for item in train_and_check(corrections, steps, batch, lr, seed, cancel):
        if isinstance(item, Progress):
            yield item
        else:
            checked = item
    if checked is None:  # cancelled
        return
    accepted, reason = verdict(checked.shipped, checked.site)
    folder = publish(checked, corrections, steps, root) if accepted else None
    yield Progress(1.0, reason)
    yield AdaptOutcome(accepted, reason, checked.shipped, checked.site, checked.train_patients,
                       checked.heldout_patients, checked.train_frames, corrections.studies, steps,
                       time.perf_counter() - start, folder)


def verdict(shipped: DiceScore, site: DiceScore) -> tuple[bool, str]:
    """(offered, why) by MIN_CHECK_FRAMES, MAX_LOSS, MAX_AREA_LOSS, MIN_GAIN and the paired gain's one-sided 95 %
    bound."""
    n = min(len(shipped.per_frame), len(site.per_frame))
    if n < MIN_CHECK_FRAMES:
        return False, (f"refused: the held-out patients have {n} corrected frames; at least {MIN_CHECK_FRAMES} are "
                       "needed to show a gain (correct more studies)")
    gain = site.mean - shipped.mean
    losses = {s: getattr(shipped, s) - getattr(site, s) for s in STRUCTURES}
    worst = max(losses, key=lambda s: losses[s])
    if losses[worst] > MAX_LOSS:
        return False, (f"refused: on the held-out patients the site model's {worst} Dice is "
                       f"{getattr(site, worst):.3f} against the shipped model's {getattr(shipped, worst):.3f}")
    if site.lv_area_error > shipped.lv_area_error + MAX_AREA_LOSS:
        return False, (f"refused: on the held-out patients the site model's LV area is {100 * site.lv_area_error:.1f} "
                       f"% off the corrected contours against the shipped model's {100 * shipped.lv_area_error:.1f} %")
    if gain < MIN_GAIN:
        return False, (f"refused: on the held-out patients the site model's mean Dice is {site.mean:.3f} against "
                       f"the shipped model's {shipped.mean:.3f} (it must gain at least {MIN_GAIN})")
    diffs = np.subtract(site.per_frame[:n], shipped.per_frame[:n])
    lower = float(diffs.mean() - Z_95 * diffs.std(ddof=1) / np.sqrt(n))
    if lower <= 0:
        return False, (f"refused: the mean Dice gain of {gain:+.3f} is within the spread between the {n} held-out "
                       "frames (not shown at 95 %)")
    return True, (f"accepted: mean Dice {site.mean:.3f} against the shipped model's {shipped.mean:.3f} "
                  "on held-out patients")


def fine_tune(net, frames, steps: int, batch: int, lr: float, seed: int, device) -> Iterator[int]:
    """Train `net` in place on the frames' (image, labels); yields the steps done."""
    import torch
    import torch.nn.functional as F

    from app.ml.augment import augment
    from app.ml.inference import make_input

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    images = np.stack([f.image for f in frames])
    labels = np.stack([f.labels for f in frames])
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    net.eval()  # BatchNorm statistics stay the shipped ones; the weights still learn
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(images), batch)
        pairs = [augment(images[i][None], labels[i][None], rng) for i in idx]
        x = make_input(torch.as_tensor(np.stack([p[0][0] for p in pairs]), device=device))
        y = torch.as_tensor(np.stack([p[1][0] for p in pairs]).astype(np.int64), device=device)
        with torch.enable_grad():
            logits = net(x)
            probs = logits.softmax(1)
            onehot = F.one_hot(y, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
            inter = (probs * onehot).sum((-2, -1))
            dice = (2 * inter + 1.0) / (probs.sum((-2, -1)) + onehot.sum((-2, -1)) + 1.0)
            loss = F.cross_entropy(logits, y) + (1.0 - dice[:, 1:].mean())
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        yield step


def score(net, frames, device) -> DiceScore:
    """Hard Dice per structure of `net` on the frames."""
    import torch

    from app.ml.inference import make_input

    if not frames:
        return DiceScore(float("nan"), float("nan"), float("nan"), 0)
    per: list[tuple[float, float, float]] = []
    area: list[float] = []
    with torch.inference_mode():
        for i in range(0, len(frames), 16):
            chunk = frames[i:i + 16]
            logits = net(make_input(torch.as_tensor(np.stack([f.image for f in chunk]), device=device)))
            pred = logits.argmax(1).cpu().numpy()
            per.extend(_dice(p, f.labels) for p, f in zip(pred, chunk, strict=True))
            area.extend(abs(float((p == 1).sum()) / float((f.labels == 1).sum()) - 1.0)
                        for p, f in zip(pred, chunk, strict=True) if (f.labels == 1).any())
    lv, myo, la = np.mean(per, axis=0)
    return DiceScore(float(lv), float(myo), float(la), len(frames), tuple(float(np.mean(d)) for d in per),
                     float(np.mean(area)) if area else 0.0)


def _dice(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    out = []
    for k in (1, 2, 3):
        p, t = pred == k, truth == k
        denom = int(p.sum() + t.sum())
        out.append(1.0 if denom == 0 else 2.0 * float((p & t).sum()) / denom)
    return out[0], out[1], out[2]


def publish(checked: Checked, corrections, steps: int, root: Path | None) -> Path:
    """Write the checked site model and its card to the site folder (root: its models folder); returns the folder."""
    from app.ml.site_model import site_models_dir
    from app.ml.weights import read_card, save_model

    train_p, held_p, shipped, site = checked.train_patients, checked.heldout_patients, checked.shipped, checked.site
    base = read_card(MODEL)
    card = base.to_dict()
    card["provenance"] = {
        "data": (f"the shipped {MODEL} fine-tuned on {corrections.studies} of this site's corrected studies: "
                 f"{len(corrections.frames)} frames ({corrections.count('hand')} corrected by hand, "
                 f"{corrections.count('propagated')} propagated, {corrections.count('confirmed')} confirmed ED/ES) "
                 f"of {len(train_p)} patients; checked on {len(held_p)} other patients"),
        "command": f"python -m app adapt echo-seg (steps {steps})",
        "metrics": {"site_studies": corrections.studies, "site_patients": len(train_p) + len(held_p),
                    "site_heldout_patients": len(held_p), "site_frames": len(corrections.frames),
                    "site_check_dice_shipped": round(shipped.mean, 4), "site_check_dice_site": round(site.mean, 4),
                    "site_check_dice_lv": round(site.lv, 4), "shipped_check_dice_lv": round(shipped.lv, 4)},
        "date": date.today().isoformat(),
        "notes": f"shipped model sha256 {base.provenance.sha256}",
    }
    for key in ("name", "n_parameters", "stored_dtype", "int8"):  # int8: the shipped weights' graph, not these
        card.pop(key, None)
    folder = root or site_models_dir()
    save_model(checked.net, MODEL, card, root=folder, half=base.stored_dtype == "float16")
    return folder / MODEL
