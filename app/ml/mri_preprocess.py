"""Whole-slice preprocessing of short-axis MRI for the four-class network (LV pool, myocardium, RV pool).

Every slice is prepared whole, resampled to a GRID_MM grid and padded to a multiple of PAD_MULTIPLE: no
fixed-size crop around a located LV, because the right ventricle reaches 60-90 mm from the LV centre in dilated
hearts and the heart sits up to 80 mm from the image centre in ACDC's scans (measured over its 80 patients).
The inference segments the box of the whole heart one member finds there (LV, myocardium and RV, with 40 mm
around them: app/ml/mri_heart_box.py), or the whole slice.
Intensities are scaled per slice by the 1st-99.5th percentile of all its phases, so a 2-phase ED/ES stack
and a 25-phase cine of the same slice map alike. A network with slice context (in_channels 3) sees each slice
with its two neighbours in the stack (neighbour_channels). Training (lab/training/mri_acdc.py) and inference
(app/ml/mri_inference.py) both call these functions; the model's metadata names this preprocessing.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID_MM = 1.25
PAD_MULTIPLE = 8
PERCENTILES = (1.0, 99.5)
PREPROCESSING = (f"whole slice on a {GRID_MM} mm grid, padded to a multiple of {PAD_MULTIPLE} px; "
                 f"intensity 0..1 by the {PERCENTILES[0]}-{PERCENTILES[1]} percentile of the slice's phases")


def grid_shape(hw: tuple[int, int], spacing_mm: tuple[float, float], grid_mm: float = GRID_MM) -> tuple[int, int]:
    """(rows, cols) of an (H, W) image of spacing_mm resampled to a grid_mm grid."""
    return max(1, round(hw[0] * spacing_mm[0] / grid_mm)), max(1, round(hw[1] * spacing_mm[1] / grid_mm))


def resample(frames: np.ndarray, spacing_mm: tuple[float, float], grid_mm: float = GRID_MM,
             nearest: bool = False) -> np.ndarray:
    """(..., H, W) of spacing_mm -> the grid_mm grid, pixel centres aligned (linear for images; for labels
    INTER_NEAREST_EXACT, the centre-aligned nearest: cv2's INTER_NEAREST is half a pixel off)."""
    h, w = frames.shape[-2:]
    rows, cols = grid_shape((h, w), spacing_mm, grid_mm)
    interp = cv2.INTER_NEAREST_EXACT if nearest else cv2.INTER_LINEAR
    flat = frames.reshape(-1, h, w)
    out = np.stack([cv2.resize(f, (cols, rows), interpolation=interp) for f in flat])
    return out.reshape(frames.shape[:-2] + out.shape[-2:])


def normalise_slice(phases: np.ndarray) -> np.ndarray:
    """(T, H, W) one slice's phases -> float32 0..1 by the slice's 1st-99.5th percentile."""
    lo, hi = np.percentile(phases, PERCENTILES)
    return np.clip((phases.astype(np.float32) - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0).astype(np.float32)


def pad_to_multiple(frames: np.ndarray, multiple: int = PAD_MULTIPLE) -> tuple[np.ndarray, tuple[int, int]]:
    """Zero-pad (..., H, W) at the bottom/right to multiples of `multiple`; returns the padded array and (H, W)."""
    h, w = frames.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    widths = [(0, 0)] * (frames.ndim - 2) + [(0, pad_h), (0, pad_w)]
    return np.pad(frames, widths), (h, w)


def prepare_slice(phases: np.ndarray, spacing_mm: tuple[float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """(T, H, W) raw phases of one slice -> (T, H', W') network input (grid, normalised, padded) and the
    (rows, cols) of the unpadded grid image."""
    grid = normalise_slice(resample(np.asarray(phases, np.float32), spacing_mm))
    return pad_to_multiple(grid)


def neighbour_channels(before: np.ndarray | None, this: np.ndarray, after: np.ndarray | None,
                       channels: int) -> np.ndarray:
    """Prepared (T, H', W') grids of a slice and its neighbours in the stack (None past the stack's ends) ->
    (T, channels, H', W'): 1 channel = the slice; 3 = the slice before, the slice, the slice after (zeros where
    there is no neighbour)."""
    if channels == 1:
        return this[:, None]
    if channels != 3:
        raise ValueError(f"neighbour channels are 1 or 3, not {channels}")
    blank = np.zeros_like(this)
    return np.stack([blank if before is None else before, this, blank if after is None else after], axis=1)


def reference_channels(this: np.ndarray, reference_phase: int) -> np.ndarray:
    """Prepared (T, H', W') grids of a slice -> (T, 2, H', W'): each phase with the slice's reference phase (the
    end-diastolic one, which a gated cine starts with and a 2-phase stack holds first), so a network sees which
    phase it segments against the same slice at end-diastole."""
    reference = np.broadcast_to(this[reference_phase], this.shape)
    return np.stack([this, reference], axis=1)


def probabilities_to_recording(probs: np.ndarray, grid_hw: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """(T, C, H', W') padded-grid probabilities -> (T, C, H, W) on the recording grid (linear)."""
    rows, cols = grid_hw
    cropped = probs[:, :, :rows, :cols]
    out = np.empty(probs.shape[:2] + tuple(out_hw), np.float32)
    for t in range(probs.shape[0]):
        for k in range(probs.shape[1]):
            out[t, k] = cv2.resize(cropped[t, k], (out_hw[1], out_hw[0]), interpolation=cv2.INTER_LINEAR)
    return out
