"""The heart's box in a short-axis stack: where the ensemble and its test-time views look.

The whole-slice network (app/ml/mri_inference.py) needs no localisation, but most of a slice is chest wall,
lungs, liver and air: over ACDC's 80 stacks the experts' heart with 40 mm around it holds a third of the slice's
pixels on the 1.25 mm grid (3.2 times fewer, median; at least 2.2). So one member, at one view, segments the
first and the middle phase of every slice whole (`locate`), its LV pool, myocardium and RV pool after the stack
clean-up (app/ml/mri_stack_cleanup.py: one 3D region each, so stray islands do not widen the box) mark the
heart, and the full ensemble with its test-time views then segments only that box, widened by
MARGIN_PX on every side, on every phase (`predict_in_box`); outside it every pixel is background. The members
were trained on 128 px crops of this grid moved around the heart (lab/training/mri_acdc.py), so a box around the
heart is what they know. When nothing is found, or the box would cover most of the slice (WHOLE_FRACTION), the
slices are segmented whole, as before.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from app.ml.mri_preprocess import PAD_MULTIPLE
from app.ml.mri_stack_cleanup import clean_phase_stack

MARGIN_PX = 32  # 40 mm of context on every side of the heart (the training crops moved up to 32 px around it)
WHOLE_FRACTION = 0.6  # a box this large a share of the slice saves too little: segment whole slices
HEART_LABELS = (1, 2, 3)  # LV pool, myocardium, RV pool

Box = tuple[slice, slice]


def located_phases(n_phases: int) -> list[int]:
    """The phases the locating pass looks at: the first (end-diastole in a gated cine or an ED/ES pair) and the
    middle one (near end-systole in a cine, the other phase of a pair)."""
    return sorted({0, n_phases // 2})


def locate(first_member: Callable[[np.ndarray], np.ndarray], inputs: list[np.ndarray],
           grid_hw: tuple[int, int]) -> Box | None:
    """The heart's box on the padded grid from one network's probabilities.

    first_member: (P, [C,] H', W') inputs -> (P, K, H', W') class probabilities (one pass, one view);
    inputs: per slice, its located_phases as prepared for the network (padded grid, all slices alike);
    grid_hw: the unpadded grid's (rows, cols). Returns (rows, cols) slices whose sizes are multiples of
    PAD_MULTIPLE, or None (segment whole slices)."""
    if not inputs:
        return None
    labels = np.stack([first_member(x).argmax(axis=1).astype(np.uint8) for x in inputs], axis=1)  # (P, S, H', W')
    heart: np.ndarray = np.zeros(labels.shape[-2:], bool)
    for phase in labels:  # the stack clean-up's ventricles: stray islands elsewhere in the slices do not count
        heart |= np.isin(clean_phase_stack(phase), HEART_LABELS).any(axis=0)
    if not heart.any():
        return None
    padded_hw = heart.shape
    rows, cols = np.flatnonzero(heart.any(axis=1)), np.flatnonzero(heart.any(axis=0))
    box = (_span(rows[0], rows[-1] + 1, grid_hw[0], padded_hw[0]),
           _span(cols[0], cols[-1] + 1, grid_hw[1], padded_hw[1]))
    box_px = (box[0].stop - box[0].start) * (box[1].stop - box[1].start)
    return None if box_px > WHOLE_FRACTION * padded_hw[0] * padded_hw[1] else box


def _span(first: int, stop: int, size: int, padded: int) -> slice:
    """[first, stop) widened by MARGIN_PX within the image (`size`), then to a multiple of PAD_MULTIPLE within
    the padded grid (`padded`, itself a multiple)."""
    start, end = max(0, int(first) - MARGIN_PX), min(size, int(stop) + MARGIN_PX)
    end = start + -(-(end - start) // PAD_MULTIPLE) * PAD_MULTIPLE
    if end > padded:
        start, end = max(0, start - (end - padded)), padded
    return slice(start, end)


def predict_in_box(predict: Callable[[np.ndarray], np.ndarray], stacked: np.ndarray, box: Box | None) -> np.ndarray:
    """(T, [C,] H', W') inputs -> (T, K, H', W') probabilities: `predict` (the ensemble with its views) on the
    box, background (probability 1) outside it; on the whole slice when there is no box."""
    if box is None:
        return predict(stacked)
    inside = predict(np.ascontiguousarray(stacked[..., box[0], box[1]]))
    out = np.zeros((inside.shape[0], inside.shape[1], *stacked.shape[-2:]), np.float32)
    out[:, 0] = 1.0
    out[:, :, box[0], box[1]] = inside
    return out
