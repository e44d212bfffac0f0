"""Peaks of a short 1-D curve by distance and prominence: `scipy.signal.find_peaks(x, distance=d, prominence=p)[0]`,
the same indices (tests/test_peaks.py compares them on random curves with plateaus and ties).

Why not scipy's own: importing scipy.signal pulls in scipy.stats, 1.4 s of every `analyze` run and of every
batch worker's first clip (benchmarks/NOTES.md), for a search over a few hundred samples. The steps are scipy's:
local maxima (a flat top counts once, at its middle, rounded down; never the first or last sample), then the
distance rule (the highest peaks first, in the order of numpy's argsort of their heights), then the prominence.
Plain numpy.
"""

from __future__ import annotations

import math

import numpy as np


def find_peaks(x: np.ndarray, distance: float | None = None, prominence: float | None = None) -> np.ndarray:
    """Indices (int64) of the peaks of a finite (T,) curve at least `distance` samples apart (the higher kept)
    whose prominence is at least `prominence`."""
    y = np.asarray(x, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"find_peaks needs a 1-D curve, got shape {y.shape}")
    if distance is not None and distance < 1:
        raise ValueError("distance must be at least 1 sample")
    peaks = local_maxima(y)
    if distance is not None and peaks.size > 1:
        peaks = peaks[_far_enough(peaks, y[peaks], math.ceil(distance))]
    if prominence is not None:
        peaks = peaks[prominences(y, peaks) >= prominence]
    return peaks


def local_maxima(y: np.ndarray) -> np.ndarray:
    """Samples higher than both neighbours; a flat top once, at its middle (rounded down); not the ends."""
    found = []
    i, last = 1, len(y) - 1
    while i < last:
        if y[i - 1] < y[i]:
            ahead = i + 1
            while ahead < last and y[ahead] == y[i]:
                ahead += 1
            if y[ahead] < y[i]:
                found.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.asarray(found, dtype=np.int64)


def _far_enough(peaks: np.ndarray, heights: np.ndarray, distance: int) -> np.ndarray:
    """Keep mask: from the highest peak down, every peak closer than `distance` to a kept one is dropped."""
    keep = np.ones(peaks.size, bool)
    for j in np.argsort(heights)[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < peaks.size and peaks[k] - peaks[j] < distance:
            keep[k] = False
            k += 1
    return keep


def prominences(y: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Each peak's height above the higher of the lowest points on either side before the curve rises above it
    (or ends)."""
    out = np.empty(peaks.size)
    for n, p in enumerate(peaks):
        top = y[p]
        above_left = np.flatnonzero(y[:p] > top)
        above_right = np.flatnonzero(y[p + 1:] > top)
        lo = above_left[-1] + 1 if above_left.size else 0
        hi = p + 1 + above_right[0] if above_right.size else len(y)
        out[n] = top - max(y[lo:p + 1].min(), y[p:hi].min())
    return out
