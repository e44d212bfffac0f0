"""Class probabilities from the network's square input grid back to the recording's pixel grid.

`to_grid` resizes (K, S, S) probabilities bilinearly (cv2 INTER_LINEAR, pixel centres) and renormalises them;
`grid_labels` gives the labels and their probability that class_argmax(to_grid(...)) would, interpolating
only the rows and columns where the heart can be (a pixel whose four source pixels are all background with
probability 0.5 or more is background): most of an echo frame is not heart, and this is the per-frame cost
of a long clip.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.ml.hysteresis import class_argmax


def to_grid(probs: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """(K, S, S) probabilities -> (K, H, W), bilinear, renormalised."""
    h, w = shape_hw
    out = cv2.resize(np.ascontiguousarray(probs.transpose(1, 2, 0)), (w, h), interpolation=cv2.INTER_LINEAR)
    out = out.transpose(2, 0, 1)
    return out / np.maximum(out.sum(0, keepdims=True), 1e-6)


def _linear_taps(n_dst: int, n_src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first, second, weight of the second) source index per destination pixel of a bilinear resize from
    n_src to n_dst pixels, as cv2.resize(INTER_LINEAR) places them (pixel centres, clamped at the edges)."""
    x = (np.arange(n_dst, dtype=np.float64) + 0.5) * (n_src / n_dst) - 0.5
    first = np.floor(x)
    frac = (x - first).astype(np.float32)
    first = first.astype(np.intp)
    frac[first < 0] = 0.0
    first[first < 0] = 0
    edge = first >= n_src - 1
    first[edge], frac[edge] = n_src - 1, 0.0
    return first, np.minimum(first + 1, n_src - 1), frac


def _span(possible: np.ndarray, taps) -> slice:
    """Destination pixels whose source taps touch a True of `possible` (one axis), as one slice."""
    first, second, frac = taps
    hit = np.flatnonzero(possible[first] | (possible[second] & (frac > 0)))
    return slice(0, 0) if hit.size == 0 else slice(int(hit[0]), int(hit[-1]) + 1)


def grid_labels(net_probs: np.ndarray, shape_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(K, S, S) probabilities -> the labels and their probability, (H, W) each, as
    class_argmax(to_grid(net_probs, shape_hw)) gives them, interpolated only where the heart can be: a pixel
    whose four source pixels all have a background probability of 0.5 or more is background."""
    h, w = shape_hw
    labels = np.zeros((h, w), np.uint8)
    peak = np.ones((h, w), np.float32)
    possible = net_probs[0] < 0.5
    row_taps, col_taps = _linear_taps(h, net_probs.shape[1]), _linear_taps(w, net_probs.shape[2])
    rows, cols = _span(possible.any(1), row_taps), _span(possible.any(0), col_taps)
    if rows.stop == rows.start or cols.stop == cols.start:
        return labels, peak
    c0, c1, fc = (t[cols] for t in col_taps)
    r0, r1, fr = (t[rows] for t in row_taps)
    top = int(r0[0])  # only the source rows the region reads
    p = net_probs[:, top:int(r1[-1]) + 1].astype(np.float32, copy=False)
    # (K, rows, w') along the rows first, as OpenCV does, then down the columns: first tap x (1 - weight) +
    # second tap x weight, computed in place (np.take and no temporaries: faster, the same bits; benchmarks/NOTES.md)
    across = np.take(p, c0, axis=2)
    across *= 1.0 - fc
    second = np.take(p, c1, axis=2)
    second *= fc
    across += second
    roi = np.take(across, r0 - top, axis=1)
    roi *= (1.0 - fr)[:, None]
    second = np.take(across, r1 - top, axis=1)
    second *= fr[:, None]
    roi += second
    total = roi.sum(0, keepdims=True)
    roi /= np.maximum(total, 1e-6, out=total)
    labels[rows, cols], peak[rows, cols] = class_argmax(roi)
    return labels, peak
