"""ED/ES prediction with TempReg-Net: `predict_ed_es(recording)` -> EdEsDetection (the network only; the curve
rules and the fusion with the segmented LV curve are plain numpy in app/analysis/edes_curve.py, edes_fusion.py).

The clip (one slice; the mid-ventricular slice of an MR stack by default) is scaled to 0..1, cropped to
the ultrasound sector (echo) or around the LV (MRI), resized to the net's input (S x S) and run through the net in
overlapping windows (blended), giving a volume-like curve (T,) that is 1 at ED and 0 at ES. ED frames are
its maxima and ES frames its minima (`curve_extrema`: several beats, beats cut at either end).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from app.analysis.edes_fusion import TEMPREG_METHOD, EdEsDetection, curve_extrema
from app.data.recording import Recording

MODEL_NAME = "ed_es"
WINDOW_FRAMES = 128
STRIDE_FRAMES = 96
MRI_CROP_MM = 120.0


def default_slice(recording: Recording) -> int:
    """The mid-ventricular slice of a stack (0 for a 2D+t clip)."""
    return recording.n_slices // 2 if recording.is_stack else 0


def prepare_clip(recording: Recording, slice_index: int, size: int) -> np.ndarray:
    """(T, size, size) float32 0..1 frames of one slice.

    Echo: cropped to the sector's bounding box when the mask is known. MRI: a MRI_CROP_MM square
    around the LV found by app.analysis.lv_localise (blood pool circle + motion).
    """
    if recording.modality == "mri":
        from app.analysis.lv_localise import crop_around, localise_lv  # skimage's Hough: 0.1-0.2 s to import

        frames = recording.frames_unit(slice_index)
        location = localise_lv(frames, recording.spacing_mm)
        side_px = int(round(MRI_CROP_MM / float(np.mean(recording.spacing_mm))))
        frames, _ = crop_around(frames, location.center_rc, min(side_px, max(frames.shape[1:])))
        return resize_frames(frames, size)
    n_frames, h, w = recording.slice_frames(slice_index).shape
    crop = (slice(0, h), slice(0, w))
    mask = recording.sector_mask
    if mask is not None and mask.shape == (h, w) and mask.any():
        from app.ml.inference import sector_box

        r0, r1, c0, c1 = sector_box(mask)
        crop = (slice(r0, r1), slice(c0, c1))
    out = np.empty((n_frames, size, size), np.float32)  # frame by frame: no float copy of the clip
    for t in range(n_frames):
        out[t] = resize_frames(recording.frames_unit(slice_index, frames=(slice(t, t + 1), *crop)), size)[0]
    return out


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W) float -> (T, size, size) float32 with area averaging."""
    out = np.empty((len(frames), size, size), np.float32)
    for k, frame in enumerate(frames):
        out[k] = cv2.resize(np.ascontiguousarray(frame, dtype=np.float32), (size, size),
                            interpolation=cv2.INTER_AREA)
    return out


def window_starts(n_frames: int, window: int = WINDOW_FRAMES, stride: int = STRIDE_FRAMES) -> list[int]:
    """Start frames of overlapping windows covering 0..n_frames-1 (one window when the clip is short)."""
    if n_frames <= window:
        return [0]
    starts = list(range(0, n_frames - window, stride))
    return starts + [n_frames - window]


def predict_curve(model, clip: np.ndarray, device=None, window: int = WINDOW_FRAMES,
                  stride: int = STRIDE_FRAMES) -> np.ndarray:
    """(T, S, S) float32 clip -> (T,) float32 curve; windows blended with triangular weights."""
    import torch

    device = device if device is not None else next(model.parameters()).device
    n = len(clip)
    total, weight = np.zeros(n, np.float64), np.zeros(n, np.float64)
    with torch.no_grad():
        for start in window_starts(n, window, stride):
            part = clip[start:start + window]
            x = torch.from_numpy(np.ascontiguousarray(part)).to(device)[None, :, None]
            y = model(x)[0].float().cpu().numpy()
            w = np.minimum(np.arange(1, len(part) + 1), np.arange(len(part), 0, -1)).astype(np.float64)
            total[start:start + len(part)] += w * y
            weight[start:start + len(part)] += w
    return (total / np.maximum(weight, 1e-9)).astype(np.float32)


@lru_cache(maxsize=2)
def _cached_model(device_key: str, models_root: str):
    import torch

    from app.ml.device import choose_device
    from app.ml.weights import load_model

    device = torch.device(device_key) if device_key else choose_device()
    return load_model(MODEL_NAME, device, root=Path(models_root))


def load_tempreg(device=None):
    """The trained TempReg-Net from models/ed_es (WeightsError when absent or corrupted)."""
    from app.ml.weights import models_dir

    return _cached_model(str(device) if device is not None else "", str(models_dir()))


def predict_ed_es(recording: Recording, *, slice_index: int | None = None, device=None,
                 model=None) -> EdEsDetection:
    """Every ED and ES frame of one slice of the recording (mid slice of a stack by default)."""
    if recording.n_frames < 3:
        raise ValueError(f"ED/ES detection needs at least 3 frames, the recording has {recording.n_frames}")
    index = default_slice(recording) if slice_index is None else int(slice_index)
    if not 0 <= index < recording.n_slices:
        raise ValueError(f"slice {index} out of range 0..{recording.n_slices - 1}")
    model = model if model is not None else load_tempreg(device)
    clip = prepare_clip(recording, index, int(model.config.input_size))
    return detect_in_clip(model, clip, recording.frame_rate_hz, device, index, recording.modality)


def detect_in_clip(model, clip: np.ndarray, frame_rate_hz: float | None, device=None,
                   slice_index: int = 0, modality: str = "echo") -> EdEsDetection:
    """Detection on an already prepared (T, S, S) float32 clip (see prepare_clip)."""
    curve = predict_curve(model, clip, device)
    ed, es = curve_extrema(curve, frame_rate_hz, modality)
    return EdEsDetection(tuple(ed), tuple(es), curve, TEMPREG_METHOD, slice_index)


