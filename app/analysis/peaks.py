"""Peaks of a short 1-D curve by distance and prominence: `scipy.signal.find_peaks(x, distance, prominence)`.

The same rules as SciPy's (1.17): a peak is a sample higher than its left neighbour and higher than the
first different sample to its right (a flat top counts once, at its middle, rounded down); the distance rule
keeps peaks from the highest down (in `np.argsort` order of their heights, as SciPy), dropping the neighbours
closer than `ceil(distance)` samples; the prominence is the peak's height above the higher of the lowest
points on each side before a higher sample (no window). tests/test_peaks.py checks it equals SciPy's on
random curves with plateaus and ties.

Why not SciPy's: `import scipy.signal` costs 0.5-0.9 s (it imports scipy.stats, scipy.interpolate and
scipy.optimize), a quarter of a whole `analyze` of a 20-frame clip; ED/ES needs only this (issue 33).
The curves are one value per frame (tens to a few thousand samples), so plain loops are fast enough.
"""

from __future__ import annotations

import math

import numpy as np


def find_peaks(x, distance: float | None = None, prominence: float | None = None) -> tuple[np.ndarray, dict]:
    """(indices of the peaks of x (intp, increasing), properties) with the arguments' meaning in SciPy's
    `find_peaks`; properties holds 'prominences', 'left_bases', 'right_bases' when `prominence` is given."""
    x = np.asarray(x, order="C", dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("`x` must be a 1-D array")
    if distance is not None and distance < 1:
        raise ValueError("`distance` must be greater or equal to 1")
    peaks = _local_maxima(x)
    if distance is not None:
        peaks = peaks[_keep_by_distance(peaks, x[peaks], math.ceil(distance))]
    properties: dict[str, np.ndarray] = {}
    if prominence is not None:
        prominences, left_bases, right_bases = _prominences(x, peaks)
        keep = prominence <= prominences
        peaks = peaks[keep]
        properties = {"prominences": prominences[keep], "left_bases": left_bases[keep],
                      "right_bases": right_bases[keep]}
    return peaks, properties


def _local_maxima(x: np.ndarray) -> np.ndarray:
    """Middles of the samples (or flat runs) higher than both neighbours; the ends never count."""
    found: list[int] = []
    i, i_max = 1, x.shape[0] - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < i_max and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                found.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    return np.asarray(found, dtype=np.intp)


def _keep_by_distance(peaks: np.ndarray, heights: np.ndarray, distance: int) -> np.ndarray:
    """Mask of the peaks kept: from the highest down, each removes the others closer than `distance`."""
    keep = np.ones(peaks.shape[0], dtype=bool)
    for j in np.argsort(heights)[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < peaks.shape[0] and peaks[k] - peaks[j] < distance:
            keep[k] = False
            k += 1
    return keep


def _prominences(x: np.ndarray, peaks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prominence, left base, right base) of each peak over the whole curve."""
    prominences = np.empty(peaks.shape[0], dtype=np.float64)
    left_bases = np.empty(peaks.shape[0], dtype=np.intp)
    right_bases = np.empty(peaks.shape[0], dtype=np.intp)
    for n, peak in enumerate(peaks):
        left_bases[n], left_min = _base(x, peak, -1)
        right_bases[n], right_min = _base(x, peak, 1)
        prominences[n] = x[peak] - max(left_min, right_min)
    return prominences, left_bases, right_bases


def _base(x: np.ndarray, peak: int, step: int) -> tuple[int, float]:
    """(index, value) of the lowest sample walking from `peak` by `step` until a higher sample or the end."""
    base, lowest = int(peak), x[peak]
    i = int(peak)
    while 0 <= i < x.shape[0] and x[i] <= x[peak]:
        if x[i] < lowest:
            base, lowest = i, x[i]
        i += step
    return base, float(lowest)
