"""Short-axis inference of the four-class whole-slice network (LV pool, myocardium, RV pool).

Every slice is segmented whole (app/ml/mri_preprocess.py): no LV localisation, so a heart far from the image
centre or a large right ventricle is never cut off. Class probabilities are averaged over test-time flips and
quarter turns (`tta_views`, as app/ml/mri_inference.py does for the crop model; an ensemble shares the views
among its members), resampled to the recording's grid, and cleaned over the stack (app/ml/mri_stack_cleanup.py).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from app.tasks import Cancel, Progress, is_cancelled
from app.data.recording import Recording
from app.ml.mri_preprocess import prepare_slice, probabilities_to_recording
from app.ml.mri_stack_cleanup import clean_stack

DEFAULT_TTA_VIEWS = 4


def slice_probabilities(net, phases: np.ndarray, spacing_mm: tuple[float, float], out_hw: tuple[int, int],
                        tta_views: int = DEFAULT_TTA_VIEWS) -> np.ndarray:
    """(T, H, W) raw phases of one slice -> (T, C, H, W) class probabilities on the recording grid."""
    from app.ml.mri_inference import predict_cycle_probs

    net_input, grid_hw = prepare_slice(phases, spacing_mm)
    probs = predict_cycle_probs(net, net_input, tta_views)
    return probabilities_to_recording(probs, grid_hw, out_hw)


def segment_whole_slices(recording: Recording, net, cancel: Cancel = None, tta_views: int = DEFAULT_TTA_VIEWS,
                         clean: bool = True) -> Iterator:
    """Cancellable generator: app.tasks.Progress per slice, then the MriSegmentation of the (S, T) stack
    (labels 0 background, 1 LV pool, 2 myocardium, 3 RV pool)."""
    from app.ml.mri_inference import MriSegmentation, labels_and_confidence

    frames = recording.frames if recording.is_stack else recording.frames[None]
    n_slices, n_phases, height, width = frames.shape
    labels = np.zeros(frames.shape, np.uint8)
    confidence = np.zeros((n_slices, n_phases), np.float32)
    for s in range(n_slices):
        if is_cancelled(cancel):
            return
        yield Progress(s / n_slices, f"segmenting slice {s + 1} of {n_slices}")
        probs = slice_probabilities(net, frames[s], recording.spacing_mm, (height, width), tta_views)
        labels[s], confidence[s] = labels_and_confidence(probs)
    if clean:
        labels = clean_stack(labels)
    yield Progress(1.0, "segmentation done")
    yield MriSegmentation(labels, confidence, lv_centre_rc(labels, (height, width)))


def lv_centre_rc(labels: np.ndarray, hw: tuple[int, int]) -> tuple[float, float]:
    """Mean (row, col) of the LV pool over the stack; the image centre when there is none."""
    rows, cols = np.nonzero((labels == 1).any(axis=(0, 1)))
    return (float(rows.mean()), float(cols.mean())) if len(rows) else (hw[0] / 2.0, hw[1] / 2.0)
