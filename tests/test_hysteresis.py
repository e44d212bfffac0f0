"""Label hysteresis (app/ml/hysteresis.py): near-ties hold the previous label, clear evidence switches at once."""

from __future__ import annotations

import numpy as np

from app.ml.hysteresis import class_argmax, sticky_argmax, sticky_labels
from lab.evaluation.seg_metrics import label_reversals


def _two_class(p1: np.ndarray) -> np.ndarray:
    """(T,) or (T, H, W) probability of class 1 -> (T, 2, H, W) probabilities."""
    p1 = np.asarray(p1, np.float32).reshape(len(p1), 1, 1) if np.ndim(p1) == 1 else np.asarray(p1, np.float32)
    return np.stack([1 - p1, p1], axis=1)


def test_first_frame_and_zero_margin_are_the_argmax():
    probs = _two_class(np.array([0.45, 0.55, 0.45]))
    assert sticky_argmax(probs[0], None, 0.2)[0, 0] == 0
    assert list(sticky_labels(probs, 0.0)[:, 0, 0]) == [0, 1, 0]


def test_near_ties_hold_the_previous_label():
    jitter = np.array([0.45, 0.55, 0.47, 0.56, 0.44, 0.53])  # speckle around the border
    labels = sticky_labels(_two_class(jitter), 0.2)
    assert list(labels[:, 0, 0]) == [0] * 6
    assert label_reversals(sticky_labels(_two_class(jitter), 0.0)) > 0.5
    assert label_reversals(labels) == 0.0


def test_clear_evidence_switches_without_delay():
    step = np.array([0.1, 0.1, 0.9, 0.9, 0.1])
    assert list(sticky_labels(_two_class(step), 0.2)[:, 0, 0]) == [0, 0, 1, 1, 0]


def test_a_held_pixel_follows_the_most_probable_class_once_past_the_margin():
    probs = np.zeros((2, 3, 1, 1), np.float32)
    probs[0, :, 0, 0] = [0.2, 0.7, 0.1]
    probs[1, :, 0, 0] = [0.3, 0.25, 0.45]  # class 2 beats the held class 1 by 0.2
    assert list(sticky_labels(probs, 0.15)[:, 0, 0]) == [1, 2]
    assert list(sticky_labels(probs, 0.25)[:, 0, 0]) == [1, 1]


def test_class_argmax_is_numpy_argmax_ties_included():
    rng = np.random.default_rng(1)
    probs = rng.integers(0, 3, (4, 20, 30)).astype(np.float32)  # many ties
    labels, best = class_argmax(probs)
    assert np.array_equal(labels, probs.argmax(0)) and labels.dtype == np.uint8
    assert np.array_equal(best, probs.max(0))
