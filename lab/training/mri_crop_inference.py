"""Inference of the earlier three-class crop model (LV pool, myocardium): a 128 px crop around the located LV
on the 1 mm grid of lab/training/mri_data.py, labelled by the probability thresholds of
lab/training/mri_decision.py and cleaned by lab/training/mri_postprocess.py.

The shipped model (models/mri_seg, input.kind whole_slice) does not use this path: the app runs
app/ml/mri_inference.py. The crop model lives on in the lab for its Sunnybrook leave-one-out
(`evaluate mri-seg-crop-loo`), the infarct comparison and the crop training's validation.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from app.analysis.lv_localise import localise_stack
from app.data.recording import Recording
from app.ml.mri_inference import MriSegmentation, Progress, labels_and_confidence, predict_cycle_probs
from app.tasks import Cancel, is_cancelled
from lab.training.mri_data import CROP_PX, GRID_MM, prepare_cine, to_grid
from lab.training.mri_decision import ARGMAX, Decision, decide
from lab.training.mri_postprocess import impose_labels

MODEL_NAME = "mri_seg"


def predict_cycle(net, cine_crop: np.ndarray, clean: bool = True, tta_views: int | None = None,
                  decision: Decision = ARGMAX) -> np.ndarray:
    """(T, S, S) float 0..1 crop -> (T, S, S) uint8 labels (net in eval mode, no grad), by default with the
    anatomical clean-up of lab/training/mri_postprocess.py; `decision` as lab/training/mri_decision.py."""
    return decide(predict_cycle_probs(net, cine_crop, tta_views), decision, clean)


def shipped_decision() -> Decision:
    """The published model's label thresholds (metadata "decision"); the argmax when it has none."""
    from app.ml.weights import WeightsError
    from lab.model_notes import read_metadata

    try:
        return Decision.from_metadata(read_metadata(MODEL_NAME))
    except WeightsError:
        return ARGMAX


def segment_stack(
    recording: Recording,
    net=None,
    cancel: Cancel = None,
    decision: Decision | None = None,
    whole_slice: bool | None = None,
    tta_views: int | None = None,
) -> Iterator[Progress | MriSegmentation]:
    """Either model: whole_slice True (or None with a whole-slice published model) runs the app's
    app.ml.mri_inference.segment_stack; else the crop model below (decision: default the published one's)."""
    from app.ml import mri_inference

    if whole_slice or (whole_slice is None and mri_inference.shipped_is_whole_slice()):
        yield from mri_inference.segment_stack(recording, net, cancel, tta_views)
        return
    yield from segment_crop_stack(recording, net or mri_inference.load_mri_model(), cancel, decision)


def segment_crop_stack(recording: Recording, net, cancel: Cancel = None,
                       decision: Decision | None = None) -> Iterator[Progress | MriSegmentation]:
    """Cancellable generator of the crop model: Progress per slice, then the MriSegmentation of the stack."""
    decision = shipped_decision() if decision is None else decision
    frames = recording.frames if recording.is_stack else recording.frames[None]
    spacing = recording.spacing_mm
    centre = localise_stack(frames, spacing).center_rc
    centre_grid = (centre[0] * spacing[0] / GRID_MM, centre[1] * spacing[1] / GRID_MM)
    n_slices, n_phases, height, width = frames.shape
    labels = np.zeros(frames.shape, np.uint8)
    confidence = np.zeros((n_slices, n_phases), np.float32)
    for s in range(n_slices):
        if is_cancelled(cancel):
            return
        yield Progress(s / n_slices, f"segmenting slice {s + 1} of {n_slices}")
        grid = to_grid(frames[s].astype(np.float32), spacing)
        crop, offset = prepare_cine(grid, centre_grid)  # the training preprocessing, exactly
        probs = predict_cycle_probs(net, crop)
        probs = impose_labels(probs, decide(probs, decision))
        labels[s], confidence[s] = _to_recording_grid(probs, offset, grid.shape[-2:], (height, width))
    yield Progress(1.0, "segmentation done")
    yield MriSegmentation(labels, confidence, centre)


def _to_recording_grid(probs: np.ndarray, offset: tuple[int, int], grid_hw: tuple[int, int],
                       out_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3, S, S) crop probabilities -> (T, H, W) labels on the recording grid and (T,) confidence."""
    n_phases = probs.shape[0]
    full = np.zeros((n_phases, 3) + tuple(grid_hw), np.float32)
    full[:, 0] = 1.0
    top, left = offset
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + CROP_PX, grid_hw[0]), min(left + CROP_PX, grid_hw[1])
    full[:, :, r0:r1, c0:c1] = probs[:, :, r0 - top : r1 - top, c0 - left : c1 - left]
    resized = np.stack([np.stack([cv2.resize(full[t, k], (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)
                                  for k in range(3)]) for t in range(n_phases)])
    return labels_and_confidence(resized, lv_labels=(1, 2))  # the crop model's LV: pool and myocardium
