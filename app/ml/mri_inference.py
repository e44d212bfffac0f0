"""Short-axis MRI segmentation inference: every phase of every slice, back on the recording's grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from app.analysis.lv_localise import localise_stack
from app.tasks import Cancel, Progress, is_cancelled
from app.data.recording import Recording
from app.ml.mri_decision import ARGMAX, Decision, decide
from app.ml.mri_postprocess import impose_labels
from app.ml.training.mri_data import CROP_PX, GRID_MM, prepare_cine, to_grid

MODEL_NAME = "mri_seg"


@dataclass(frozen=True)
class MriSegmentation:
    """labels (S, T, H, W) uint8 on the recording grid: 0 background, 1 LV blood pool, 2 myocardium, and
    3 RV blood pool from a four-class model; confidence (S, T) mean max-probability inside the predicted LV."""

    labels: np.ndarray
    confidence: np.ndarray
    center_rc: tuple[float, float]


# Test-time augmentation: the crop is also segmented flipped and turned (the net was trained with flips and
# rotations) and the class probabilities averaged back on the original orientation. 0 = off.
TTA_VIEWS = 8
_DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))  # (quarter turns, mirror)


def predict_cycle(net, cine_crop: np.ndarray, clean: bool = True, tta_views: int | None = None,
                  decision: Decision = ARGMAX) -> np.ndarray:
    """(T, S, S) float 0..1 crop -> (T, S, S) uint8 labels (net in eval mode, no grad), by default with the
    anatomical clean-up of app/ml/mri_postprocess.py (as segment_stack); `decision` as app/ml/mri_decision.py."""
    return decide(predict_cycle_probs(net, cine_crop, tta_views), decision, clean)


def predict_cycle_probs(net, cine_crop: np.ndarray, tta_views: int | None = None) -> np.ndarray:
    """(T, S, S) float 0..1 crop -> (T, 3, S, S) float32 class probabilities, averaged over the first
    tta_views (default TTA_VIEWS, at most 8) flips/quarter turns of the crop (0 or 1: the crop as it is).
    An ensemble (app/ml/nets/mri_ensemble.py) shares the views among its members in turn (member i % M
    segments view i), so it costs max(views, members) forward passes, as many as one network's TTA."""
    from app.ml.nets.mri_ensemble import members_of

    views = _DIHEDRAL[:max(1, min(len(_DIHEDRAL), TTA_VIEWS if tta_views is None else int(tta_views)))]
    members = members_of(net)
    passes = max(len(views), len(members))
    total = None
    for i in range(passes):
        turns, mirror = views[i % len(views)]
        view = np.rot90(cine_crop[:, :, ::-1] if mirror else cine_crop, turns, axes=(1, 2))
        probs = np.rot90(_net_probs(members[i % len(members)], view), -turns, axes=(2, 3))
        probs = probs[:, :, :, ::-1] if mirror else probs
        total = probs if total is None else total + probs
    return np.ascontiguousarray(total / passes, dtype=np.float32)


def _net_probs(net, cine_crop: np.ndarray) -> np.ndarray:
    """(T, S, S) -> (T, 3, S, S) softmax of one forward pass, in bf16 autocast where the CPU computes bf16
    natively (about 2x faster, probabilities within 1e-3 of float32), else float32 (app/ml/device.use_bf16)."""
    import torch

    from app.ml.device import cpu_autocast, use_bf16

    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    with torch.inference_mode(), cpu_autocast(use_bf16(device)):
        x = torch.from_numpy(np.ascontiguousarray(cine_crop, np.float32))[None, :, None].to(device)
        probs = torch.softmax(net(x)[0].float(), dim=1).cpu().numpy()
    net.train(was_training)
    return probs


def shipped_decision() -> Decision:
    """The shipped model's label thresholds (metadata "decision"); the argmax when it has none."""
    from app.ml.weights import WeightsError, read_metadata

    try:
        return Decision.from_metadata(read_metadata(MODEL_NAME))
    except WeightsError:
        return ARGMAX


def whole_slice_model(metadata: dict) -> bool:
    """True for a model whose metadata names the whole-slice preprocessing (app/ml/mri_preprocess.py, the
    four-class ACDC network); False for the 128 px crop around the located LV (the earlier three-class model)."""
    return (metadata.get("input") or {}).get("kind") == "whole_slice"


def shipped_tta_views() -> int | None:
    """The shipped model's test-time views (metadata input.tta_views), None when it does not say."""
    from app.ml.weights import WeightsError, read_metadata

    try:
        views = (read_metadata(MODEL_NAME).get("input") or {}).get("tta_views")
    except WeightsError:
        return None
    return None if views is None else int(views)


def shipped_is_whole_slice() -> bool:
    from app.ml.weights import WeightsError, read_metadata

    try:
        return whole_slice_model(read_metadata(MODEL_NAME))
    except WeightsError:
        return False


def load_mri_model(device=None):
    """The shipped MRI network from models/mri_seg (sha256 checked; one network or an ensemble, as its metadata
    says); channels-last on the CPU (faster there)."""
    import torch

    from app.ml.device import choose_device
    from app.ml.nets.mri_ensemble import build
    from app.ml.weights import load_model

    net = load_model(MODEL_NAME, build, device or choose_device())
    on_cpu = next(net.parameters()).device.type == "cpu"
    return net.to(memory_format=torch.channels_last) if on_cpu else net


def segment_stack(recording: Recording, net=None, cancel: Cancel = None,
                  decision: Decision | None = None, whole_slice: bool | None = None,
                  tta_views: int | None = None) -> Iterator[Progress | MriSegmentation]:
    """Cancellable generator (cancel: a threading.Event or a callable, app.tasks): Progress per slice, then
    the MriSegmentation of the whole (S, T) stack.
    decision: the label thresholds of the crop model (default: the shipped model's, app/ml/mri_decision.py).
    whole_slice: the preprocessing of `net` (default: the shipped model's metadata says): the four-class
    whole-slice network runs in app/ml/mri_whole_slice.py."""
    net = net or load_mri_model()
    if shipped_is_whole_slice() if whole_slice is None else whole_slice:
        from app.ml.mri_whole_slice import DEFAULT_TTA_VIEWS, segment_whole_slices

        views = tta_views if tta_views is not None else (shipped_tta_views() or DEFAULT_TTA_VIEWS)
        yield from segment_whole_slices(recording, net, cancel, views)
        return
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


def labels_and_confidence(probs: np.ndarray, lv_labels: tuple[int, ...] = (1,)) -> tuple[np.ndarray, np.ndarray]:
    """(T, C, H, W) class probabilities on the recording grid -> (T, H, W) uint8 argmax labels and (T,) confidence:
    the mean max-probability inside the predicted LV (labels lv_labels), 0 where there is none."""
    labels = probs.argmax(axis=1).astype(np.uint8)
    peak = probs.max(axis=1)
    lv = np.isin(labels, lv_labels)
    confidence = np.array([float(peak[t][lv[t]].mean()) if lv[t].any() else 0.0 for t in range(len(labels))],
                          np.float32)
    return labels, confidence
