"""Runs of flagged points along a closed outline (cyclic: a run may wrap past the last point), e.g. the points
of an LV outline that lie on the mitral valve plane (app/analysis/contours.py)."""

from __future__ import annotations

import numpy as np


def cyclic_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Cyclic runs of True as (start, length)."""
    n = len(flags)
    if flags.all():
        return [(0, n)]
    shift = int(np.argmin(flags))  # a False element: start scanning there
    rolled = np.roll(flags, -shift)
    padded = np.concatenate([[False], rolled, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int((s + shift) % n), int(e - s)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def longest_run(flags: np.ndarray) -> tuple[int, int]:
    start, length = max(cyclic_runs(flags), key=lambda r: r[1])
    return start, start + length


def close_short_runs(flags: np.ndarray, max_len: int) -> np.ndarray:
    """Drop runs of `flags` shorter than max_len, except the longest (the real base)."""
    runs = cyclic_runs(flags) if flags.any() else []
    if len(runs) <= 1:
        return flags
    out = flags.copy()
    longest = max(runs, key=lambda r: r[1])
    n = len(flags)
    for start, length in runs:
        if (start, length) != longest and length < max_len:
            out[(start + np.arange(length)) % n] = False
    return out


def cyclic_slice(points: np.ndarray, start: int, stop: int) -> np.ndarray:
    idx = np.arange(start, stop) % len(points)
    return points[idx].copy()
