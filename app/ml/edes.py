"""ED/ES frame detection with TempReg-Net: `detect_ed_es(recording)` -> EdEsDetection.

The clip (one slice; the mid-ventricular slice of an MR stack by default) is scaled to 0..1, cropped to
the ultrasound sector (echo) or around the LV (MRI), resized to the net's input (S x S) and run through the net in
overlapping windows (blended), giving a volume-like curve (T,) that is 1 at ED and 0 at ES. ED frames are
its maxima and ES frames its minima (`curve_extrema`: several beats, beats cut at either end).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from scipy.signal import find_peaks

from app.analysis.beats import fuse_events
from app.analysis.lv_localise import crop_around, localise_lv
from app.data.recording import Recording

MODEL_NAME = "ed_es"
FUSED_METHOD = "tempreg+area"
WINDOW_FRAMES = 128
STRIDE_FRAMES = 96
MRI_CROP_MM = 120.0
MAX_HEART_RATE_BPM = 220.0
PROMINENCE = 0.3  # of the curve's 0..1 scale
EDGE_LEVEL = 0.12  # an extremum on the first/last frame counts only this close to 1 (ED) or 0 (ES)
# An event is the last frame of its flat top within (ED, ES) tolerance of the extremum: the Kong curve
# approaches ED and ES slowly and leaves them steeply. Per modality (cine MR has fewer frames per beat than
# echo), chosen for the shipped weights on tuning phantoms (seeds 305000+/315000+, never the evaluation
# seeds) with `python -m app.ml.edes_tuning`; re-run it after retraining models/ed_es.
PLATEAU_TOL = {"echo": (0.01, 0.02), "mri": (0.03, 0.05)}


def plateau_tolerances(modality: str | None) -> tuple[float, float]:
    """(ED, ES) plateau tolerances of a modality ("echo" for any other or None)."""
    return PLATEAU_TOL.get(modality or "echo", PLATEAU_TOL["echo"])


@dataclass(frozen=True)
class EdEsDetection:
    """ED and ES frames (sorted, alternating) of one slice, and the per-frame curve they come from.

    curve: (T,) float32, TempReg-Net's volume-like prediction (about 1 at ED, 0 at ES).
    """

    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    curve: np.ndarray
    method: str = "tempreg"
    slice_index: int = 0


def default_slice(recording: Recording) -> int:
    """The mid-ventricular slice of a stack (0 for a 2D+t clip)."""
    return recording.n_slices // 2 if recording.is_stack else 0


def prepare_clip(recording: Recording, slice_index: int, size: int) -> np.ndarray:
    """(T, size, size) float32 0..1 frames of one slice.

    Echo: cropped to the sector's bounding box when the mask is known. MRI: a MRI_CROP_MM square
    around the LV found by app.analysis.lv_localise (blood pool circle + motion).
    """
    if recording.modality == "mri":
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
    from app.ml.device import choose_device
    from app.ml.nets.tempreg import build_tempreg
    from app.ml.weights import load_model

    import torch

    device = torch.device(device_key) if device_key else choose_device()
    return load_model(MODEL_NAME, lambda meta: build_tempreg(meta.get("build")), device, root=Path(models_root))


def load_tempreg(device=None):
    """The trained TempReg-Net from models/ed_es (WeightsError when absent or corrupted)."""
    from app.ml.weights import models_dir

    return _cached_model(str(device) if device is not None else "", str(models_dir()))


def detect_ed_es(recording: Recording, *, slice_index: int | None = None, device=None,
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
    return EdEsDetection(tuple(ed), tuple(es), curve, "tempreg", slice_index)


def es_slide_frames(modality: str | None, n_frames: int) -> int:
    """How far the pipeline lets each TempReg ES slide down the segmented LV curve (fuse_with_curve's radius).

    Echo: 0. The segmented area curve dips again when the mitral leaflets open, 1-3 frames after ES, so
    its minimum is late (96 phantoms, `evaluate ed-es --segmented`: ES aFD 0.35, 0.95 when refined).
    Cine MR stacks: a third of the clip. ES is by definition the phase of the smallest slice-summation
    volume, and on the three Sunnybrook patients that minimum lies 1-2 phases from the expert's ES phase
    while TempReg's ES (mid slice, trained on MR phantoms only) comes 2-6 phases late. On the 48 MR
    phantoms, whose slices our model segments less well than real ones, TempReg alone is better
    (ES aFD 0.18 vs 0.52).
    """
    return max(2, int(n_frames) // 3) if modality == "mri" else 0


def fuse_with_curve(detection: EdEsDetection, lv_curve: np.ndarray, frame_rate_hz: float | None,
                    refine_es: bool = True, radius: int = 2, periodic: bool = False) -> EdEsDetection:
    """TempReg's events combined with the segmented LV volume (or area) curve (lv_curve: (T,), NaN gaps).

    TempReg decides which events exist and where ED is: the Kong curve leaves ED steeply, while the volume
    curve is flat around ED (diastasis, atrial kick, isovolumic contraction). With refine_es (method
    "tempreg+area") each ES slides down the volume curve to its minimum, at most `radius` frames: the Kong
    curve approaches ES slowly (cubic), a well-timed volume curve has a sharp minimum there. Either way, events
    on the clip's first/last frames, which curve_extrema leaves out as ambiguous, come from the curve's
    extrema (app.analysis.beats.fuse_events; periodic: the curve is one gated cycle, cine MR); without
    refine_es the method stays "tempreg".
    """
    y = np.asarray(lv_curve, dtype=np.float64)
    if y.shape != np.shape(detection.curve):
        raise ValueError(f"the LV curve has {y.shape} frames, the detection {np.shape(detection.curve)}")
    ed, es = fuse_events(detection.ed_frames, detection.es_frames, y, frame_rate_hz, refine_es, radius, periodic)
    return replace(detection, ed_frames=ed, es_frames=es, method=FUSED_METHOD if refine_es else "tempreg")


def curve_extrema(curve: np.ndarray, frame_rate_hz: float | None,
                  modality: str = "echo") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames), alternating, from a TempReg (T,) curve (about 1 at ED, 0 at ES).

    Peaks at least one beat at MAX_HEART_RATE_BPM apart with PROMINENCE, moved to the end of a flat top
    (within the modality's plateau_tolerances).
    The first frame counts as ED (ES) when the curve is within EDGE_LEVEL of 1 (0) there and falls (rises)
    into the clip: the curve leaves ED and ES steeply, so this is unambiguous. The last frame is never
    reported: the curve approaches ED (cube root) and ES (cube) slowly, so a high or low last frame does
    not tell whether the event is on it or a few frames later. Ties within a run keep the most extreme.
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.ndim != 1 or len(y) < 3:
        return (), ()
    min_dist = max(2, int(0.8 * frame_rate_hz * 60.0 / MAX_HEART_RATE_BPM)) if frame_rate_hz else 3
    tol_ed, tol_es = plateau_tolerances(modality)
    events = ([(f, "ed") for f in _peaks(y, min_dist, tol_ed)]
              + [(f, "es") for f in _peaks(1.0 - y, min_dist, tol_es)])
    out: list[tuple[int, str]] = []
    for frame, kind in sorted(events):
        if out and out[-1][1] == kind:
            if (y[frame] > y[out[-1][0]]) == (kind == "ed"):
                out[-1] = (frame, kind)
            continue
        out.append((frame, kind))
    return tuple(f for f, k in out if k == "ed"), tuple(f for f, k in out if k == "es")


def _peaks(y: np.ndarray, min_dist: int, plateau_tol: float) -> list[int]:
    """Maxima of y (0..1 scale) including the edges when they are within EDGE_LEVEL of 1."""
    padded = np.concatenate([[-1.0], y, [-1.0]])
    peaks, _ = find_peaks(padded, distance=min_dist, prominence=PROMINENCE)
    last = len(y) - 1
    keep = []
    for p in (int(q) - 1 for q in peaks):
        if p == 0 and not (y[0] >= 1.0 - EDGE_LEVEL and y[0] > y[1]):
            continue
        if p == last:  # the Kong curve approaches ED and ES slowly: a low/high last frame is ambiguous
            continue
        keep.append(_last_of_plateau(y, p, min_dist, plateau_tol))
    return keep


def _last_of_plateau(y: np.ndarray, peak: int, min_dist: int, tol: float = 0.01) -> int:
    """The last frame near peak within tol of the local maximum: the Kong curve approaches ES (cubic)
    and ED (cube root) slowly and leaves them steeply, so a flat top ends at the event."""
    half = max(1, min_dist // 2)
    lo, hi = max(0, peak - half), min(len(y), peak + half + 1)
    top = y[lo:hi].max()
    frame = peak
    while frame + 1 < hi and y[frame + 1] >= top - tol:
        frame += 1
    return frame
