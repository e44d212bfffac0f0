"""Class probabilities smoothed over time for the per-frame echo U-Net (the WMA baseline of the temporal
segmentation study): `wma_weights`, the causal weighted moving average of a stream (newest first), and
`centred_average`, binomial weights centred on each frame of a whole recording."""

from __future__ import annotations

import math

import numpy as np

WMA_WINDOW = 6  # frames


def wma_weights(window: int = WMA_WINDOW) -> np.ndarray:
    """(window,) linearly decreasing weights, newest first, summing to 1."""
    w = np.arange(window, 0, -1, dtype=np.float32)
    return w / w.sum()


def centred_average(probs: np.ndarray, window: int) -> np.ndarray:
    """(T, K, S, S) -> same shape: binomial weights centred on each frame, renormalised at the clip ends."""
    half = max(int(window) // 2, 0)
    if half == 0 or len(probs) < 2:
        return probs
    weights = np.array([math.comb(2 * half, k) for k in range(2 * half + 1)], np.float64)
    out = np.zeros_like(probs)
    norm = np.zeros(len(probs))
    for k, w in zip(range(-half, half + 1), weights, strict=True):
        lo, hi = max(0, -k), min(len(probs), len(probs) - k)
        out[lo:hi] += w * probs[lo + k:hi + k]
        norm[lo:hi] += w
    return (out / norm[:, None, None, None]).astype(probs.dtype)
