"""How sure the echo segmenter is of each frame, and the frames it flags for the user to check.

A frame's confidence is the mean top class probability over the pixels it calls heart (times, for the
per-frame network smoothed over time, its LV's agreement with the unsmoothed one: app.ml.inference); a frame
below CONFIDENCE_THRESHOLD, or without an LV, is flagged with its reason.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE_THRESHOLD = 0.75


def frame_confidence(probs: np.ndarray, labels: np.ndarray) -> float:
    """(K, H, W) probabilities + (H, W) labels -> mean max-probability over predicted heart pixels (0 if none)."""
    heart = labels > 0
    if not heart.any():
        return 0.0
    return float(probs.max(0)[heart].mean())


def flag_frames(labels: np.ndarray, confidence: np.ndarray, threshold: float = CONFIDENCE_THRESHOLD):
    """(T, H, W) labels on any grid -> (frames, reasons): low confidence or no LV. (Area jumps are flagged where
    every segmenter's contours are measured: app.analysis.edes_curve.area_jump_frames.)"""
    has_lv = (labels == 1).any(axis=(1, 2))
    frames, reasons = [], []
    for t in range(labels.shape[0]):
        why = []
        if not has_lv[t]:
            why.append("no LV found")
        if confidence[t] < threshold:
            why.append(f"low confidence {confidence[t]:.2f}")
        if why:
            frames.append(t)
            reasons.append("; ".join(why))
    return tuple(frames), tuple(reasons)


def lv_dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of the LV (label 1) of two label maps; 1 when neither has one."""
    p, q = a == 1, b == 1
    denom = p.sum() + q.sum()
    return 1.0 if denom == 0 else float(2 * (p & q).sum() / denom)
