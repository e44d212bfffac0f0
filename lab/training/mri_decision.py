"""From short-axis class probabilities to labels: nested thresholds, tuned on held-out predictions.

The anatomy is nested (blood pool inside the epicardium), so the labels are decided by two thresholds
rather than the argmax: a pixel is heart (pool or myocardium) when p_pool + p_myo > heart_probability, and
blood pool when p_pool > pool_probability; the rest of the heart is myocardium. On patients it has not
seen, the network is less sure of the LV than of the background and its argmax under-segments (leave-one-
out on Sunnybrook: blood pool 7-9 % too small, myocardium thinner than the expert's); thresholds below
one half undo that bias. They are chosen on held-out predictions only (`tune`): in `evaluate mri-seg` on
the other folds' patients (nested), for the shipped model on all leave-one-out predictions, and stored in
the lab record lab/notes/mri_seg.json ("decision").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from lab.evaluation.seg_metrics import dice
from lab.training.mri_data import UNLABELLED
from lab.training.mri_postprocess import clean_cycle

GRID = tuple(np.round(np.arange(0.15, 0.851, 0.05), 2))


@dataclass(frozen=True)
class Decision:
    """Probability thresholds; None = the argmax of the three classes."""

    pool_probability: float | None = None
    heart_probability: float | None = None

    @classmethod
    def from_metadata(cls, meta: dict) -> "Decision":
        d = meta.get("decision") or {}
        return cls(d.get("pool_probability"), d.get("heart_probability"))

    def as_dict(self) -> dict:
        return {"pool_probability": self.pool_probability, "heart_probability": self.heart_probability}


ARGMAX = Decision()


def decide(probs: np.ndarray, decision: Decision = ARGMAX, clean: bool = True) -> np.ndarray:
    """(T, 3, H, W) probabilities -> (T, H, W) uint8 labels (0 background, 1 pool, 2 myocardium), by default
    with the anatomical clean-up of lab/training/mri_postprocess.py."""
    if decision.pool_probability is None or decision.heart_probability is None:
        labels = probs.argmax(axis=1).astype(np.uint8)
    else:
        labels = np.zeros((probs.shape[0],) + probs.shape[2:], np.uint8)
        labels[probs[:, 1] + probs[:, 2] > decision.heart_probability] = 2
        labels[probs[:, 1] > decision.pool_probability] = 1
    return clean_cycle(labels) if clean else labels


def score_sample(labels: np.ndarray, target: np.ndarray) -> dict:
    """Dice of the blood pool at every labelled phase and of the myocardium at fully labelled phases of
    (T, H, W) labels against a target with the codes of lab/training/mri_data.py."""
    pool, myo = [], []
    for t in range(len(target)):
        if not (target[t] != UNLABELLED).any():
            continue
        pool.append(dice(labels[t], target[t], 1))
        if (target[t] <= 2).all():
            myo.append(dice(labels[t], target[t], 2))
    return {"dice_pool": pool, "dice_myo": myo}


def decision_score(pairs: Iterable[tuple[np.ndarray, np.ndarray]], decision: Decision) -> float:
    """Mean blood-pool Dice plus mean myocardial Dice (score_sample) of (probs (T, 3, H, W), target (T, H, W))
    pairs labelled by `decision`; the myocardium counts only where some phase is fully labelled."""
    pool, myo = [], []
    for probs, target in pairs:
        scores = score_sample(decide(probs, decision), target)
        pool += scores["dice_pool"]
        myo += scores["dice_myo"]
    return float(np.mean(pool) + (np.mean(myo) if myo else 0.0))


def tune(pairs: list[tuple[np.ndarray, np.ndarray]], grid: tuple[float, ...] = GRID) -> Decision:
    """The thresholds of `grid` (every pool x heart pair) with the best decision_score on `pairs`; ties go
    to the first, the lowest thresholds."""
    candidates = [Decision(p, h) for p in grid for h in grid]
    scores = [decision_score(pairs, c) for c in candidates]
    best = candidates[int(np.argmax(scores))]
    return Decision(float(best.pool_probability), float(best.heart_probability))
