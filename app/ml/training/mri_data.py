"""Training and evaluation samples for short-axis MRI segmentation, on a 1 x 1 mm grid around the LV.

A sample is one slice's whole cycle: image (T, S, S) float32 0..1 and target (T, S, S) uint8 with
  0 background, 1 blood pool, 2 myocardium       (fully labelled phase)
  4 "not blood pool" (background or myocardium)   (Sunnybrook ES: only the endocardium is drawn)
  255 unlabelled phase (no loss).
Sunnybrook gives labels at ED (endo + epi) and ES (endo); phantom stacks give every phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.analysis.lv_localise import crop_around, localise_stack
from app.data.datasets import sunnybrook

GRID_MM = 1.0
CROP_PX = 128
NOT_POOL = 4
UNLABELLED = 255


@dataclass(frozen=True)
class MriSample:
    """One slice cycle on the crop grid; offset_rc/scale map crop pixels back to the source grid."""

    case: str
    slice_index: int
    image: np.ndarray  # (T, CROP, CROP) float32 0..1
    target: np.ndarray  # (T, CROP, CROP) uint8, codes above
    source_spacing_mm: tuple[float, float]
    offset_rc: tuple[int, int]  # top-left of the crop on the 1 mm grid


def to_grid(frames: np.ndarray, spacing_mm: tuple[float, float], nearest: bool = False) -> np.ndarray:
    """Resample (..., H, W) from spacing_mm to the 1 mm grid (area/linear for images, nearest for labels)."""
    h, w = frames.shape[-2:]
    size = (max(1, round(w * spacing_mm[1] / GRID_MM)), max(1, round(h * spacing_mm[0] / GRID_MM)))
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    flat = frames.reshape(-1, h, w)
    out = np.stack([cv2.resize(f, size, interpolation=interp) for f in flat])
    return out.reshape(frames.shape[:-2] + out.shape[-2:])


def normalise(cine: np.ndarray) -> np.ndarray:
    """(T, H, W) -> float32 0..1 by the cine's 1st-99.5th percentile."""
    lo, hi = np.percentile(cine, [1.0, 99.5])
    return np.clip((cine - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)


def sunnybrook_samples(root: Path, case: str) -> list[MriSample]:
    """Every contoured slice of a Sunnybrook case as a whole-cycle sample."""
    images = sunnybrook.contoured_images(root, case)
    by_slice: dict[int, list[sunnybrook.ContouredImage]] = {}
    for im in images:
        by_slice.setdefault(sunnybrook.slice_and_phase(im.instance)[0], []).append(im)
    spacing = images[0].spacing_mm
    n_slices = max(by_slice) + 1
    stack = np.stack([sunnybrook.slice_cine(root, case, s) for s in range(n_slices)])
    centre = localise_stack(stack, spacing).center_rc
    centre_mm = (centre[0] * spacing[0] / GRID_MM, centre[1] * spacing[1] / GRID_MM)
    samples = []
    for s, labelled in sorted(by_slice.items()):
        cine = normalise(to_grid(stack[s], spacing))
        target = np.full(stack[s].shape, UNLABELLED, np.uint8)
        for im in labelled:
            phase = sunnybrook.slice_and_phase(im.instance)[1]
            target[phase] = im.labels if im.epi_mask is not None else np.where(im.endo_mask, 1, NOT_POOL)
        target = to_grid(target, spacing, nearest=True)
        image_crop, offset = crop_around(cine, centre_mm, CROP_PX)
        target_crop, _ = crop_around(target, centre_mm, CROP_PX)  # padding is background...
        target_crop[(target == UNLABELLED).all(axis=(1, 2))] = UNLABELLED  # ...except in unlabelled phases
        samples.append(MriSample(case, s, image_crop, target_crop, spacing, offset))
    return samples

