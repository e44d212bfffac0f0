"""Training and evaluation samples for short-axis MRI segmentation, on a 1 x 1 mm grid around the LV.

A sample is one slice's whole cycle: image (T, S, S) float32 0..1 and target (T, S, S) uint8 with
  0 background, 1 blood pool, 2 myocardium       (fully labelled phase)
  4 "not blood pool" (background or myocardium)   (Sunnybrook ES: only the endocardium is drawn)
  255 unlabelled phase (no loss).
Sunnybrook gives labels at ED (endo + epi) and ES (endo); phantom stacks give every phase.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.analysis.lv_localise import crop_around, localise_stack
from lab.data import sunnybrook

GRID_MM = 1.0
CROP_PX = 128
CENTRAL_FRACTION = 0.5  # normalise by the percentiles of the central half (64 mm) of the crop
PREPROCESSING = "1 mm grid, 128 px crop around the LV, 1st-99.5th percentile of the central 64 px"
NOT_POOL = 4
UNLABELLED = 255
EPI_TOLERANCE = 0.02
TABLE_PATH = Path(__file__).resolve().parents[2] / "resources" / "sunnybrook_epicardium_alignment.json"
# in the cache file names: 2 = centre-aligned labels, expert polygons filled on the grid; 3 = the contours counted
# from pixel 0 (lab/data/sunnybrook.py; before, they sat one pixel right of and below their image)
SAMPLES_VERSION = 3


@dataclass(frozen=True)
class MriSample:
    """One slice cycle on the crop grid; offset_rc/scale map crop pixels back to the source grid."""

    case: str
    slice_index: int
    image: np.ndarray  # (T, CROP, CROP) float32 0..1
    target: np.ndarray  # (T, CROP, CROP) uint8, codes above
    source_spacing_mm: tuple[float, float]
    offset_rc: tuple[int, int]  # top-left of the crop on the 1 mm grid


def grid_size(hw: tuple[int, int], spacing_mm: tuple[float, float]) -> tuple[int, int]:
    """(rows, cols) of an (H, W) image of spacing_mm resampled to the 1 mm grid."""
    return max(1, round(hw[0] * spacing_mm[0] / GRID_MM)), max(1, round(hw[1] * spacing_mm[1] / GRID_MM))


def to_grid(frames: np.ndarray, spacing_mm: tuple[float, float], nearest: bool = False) -> np.ndarray:
    """Resample (..., H, W) from spacing_mm to the 1 mm grid (linear for images, nearest for labels).

    Both keep pixel centres aligned; cv2's INTER_NEAREST does not (it takes floor(x * scale)) and put label
    maps about half a grid pixel off their images. INTER_NEAREST_EXACT is the centre-aligned nearest.
    """
    h, w = frames.shape[-2:]
    rows, cols = grid_size((h, w), spacing_mm)
    interp = cv2.INTER_NEAREST_EXACT if nearest else cv2.INTER_LINEAR
    flat = frames.reshape(-1, h, w)
    out = np.stack([cv2.resize(f, (cols, rows), interpolation=interp) for f in flat])
    return out.reshape(frames.shape[:-2] + out.shape[-2:])


def points_to_grid(points_px: np.ndarray, source_hw: tuple[int, int], grid_hw: tuple[int, int]) -> np.ndarray:
    """(N, 2) (x=col, y=row) source pixel points -> the same points on the grid of to_grid (centre-aligned)."""
    scale = np.array([grid_hw[1] / source_hw[1], grid_hw[0] / source_hw[0]])
    return (points_px + 0.5) * scale - 0.5


def normalise(cine: np.ndarray, central: float = CENTRAL_FRACTION) -> np.ndarray:
    """(T, H, W) -> float32 0..1 by the 1st-99.5th percentile of the central `central` x `central` region.

    On an LV-centred crop the central region holds the blood pool and myocardium, so the pool maps to
    about 0.5-0.7 in every patient; percentiles of the whole image let bright fat or a large dark
    background set the scale instead (the blood pool then ranged 0.2-0.45 between Sunnybrook patients).
    """
    h, w = cine.shape[-2:]
    r0, c0 = int(h * (1 - central) / 2), int(w * (1 - central) / 2)
    lo, hi = np.percentile(cine[..., r0 : h - r0, c0 : w - c0], [1.0, 99.5])
    return np.clip((cine - lo) / max(hi - lo, 1e-6), 0.0, 1.0).astype(np.float32)


def prepare_cine(grid_cine: np.ndarray, centre_rc: tuple[float, float]) -> tuple[np.ndarray, tuple[int, int]]:
    """(T, H, W) cine on the 1 mm grid -> (T, CROP, CROP) crop around the LV centre, normalised; + offset.

    The one preprocessing shared by training samples (Sunnybrook, phantom) and inference.
    """
    crop, offset = crop_around(grid_cine.astype(np.float32), centre_rc, CROP_PX)
    return normalise(crop), offset


def expert_labels(im: sunnybrook.ContouredImage, grid_hw: tuple[int, int],
                  epi_shift_px: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(rows, cols) uint8 training codes of one contoured image on the 1 mm grid: 0/1/2 where a consistent
    epicardium is drawn, else 1 / NOT_POOL. The expert polygons are filled on the grid itself (resampling
    masks filled on the coarser source grid made their borders staircase: 0.92 myocardial Dice against
    the polygon filled on the grid). An epicardium that leaves more than EPI_TOLERANCE of the endocardium
    outside it is misregistered and dropped (SC-HF-I-6: every o-contour sits ~15 px below its i-contour,
    20-60 % of the blood pool outside it) unless epi_shift_px (dx, dy) grid pixels re-registers it
    (lab/training/mri_epi_alignment.py)."""
    endo, epi = contour_masks(im, grid_hw, epi_shift_px)
    if epi is not None and epicardium_consistent(endo, epi):
        return np.where(endo, 1, np.where(epi, 2, 0)).astype(np.uint8)
    return np.where(endo, 1, NOT_POOL).astype(np.uint8)


def contour_masks(im: sunnybrook.ContouredImage, grid_hw: tuple[int, int],
                  epi_shift_px: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray | None]:
    """The expert endocardium and (shifted by epi_shift_px = (dx, dy)) epicardium filled on the 1 mm grid."""
    endo = sunnybrook.contour_mask(points_to_grid(im.endo_px, im.image.shape, grid_hw), grid_hw)
    if im.epi_px is None:
        return endo, None
    epi_points = points_to_grid(im.epi_px, im.image.shape, grid_hw) + np.asarray(epi_shift_px, float)
    return endo, sunnybrook.contour_mask(epi_points, grid_hw)


def epicardium_consistent(endo: np.ndarray, epi: np.ndarray) -> bool:
    """The epicardium encloses the endocardium (at most EPI_TOLERANCE of the blood pool outside it)."""
    return bool((endo & ~epi).sum() <= EPI_TOLERANCE * endo.sum())


def sunnybrook_samples(root: Path, case: str,
                       epi_shifts_px: dict[int, tuple[float, float]] | None = None) -> list[MriSample]:
    """Every contoured slice of a Sunnybrook case as a whole-cycle sample; epi_shifts_px: instance ->
    (dx, dy) grid pixels re-registering misdrawn epicardia (lab/training/mri_epi_alignment.py)."""
    epi_shifts_px = epi_shifts_px or {}
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
        image_crop, offset = prepare_cine(to_grid(stack[s].astype(np.float32), spacing), centre_mm)
        grid_hw = grid_size(stack.shape[-2:], spacing)
        target = np.full((len(stack[s]),) + grid_hw, UNLABELLED, np.uint8)
        for im in labelled:
            shift = epi_shifts_px.get(im.instance, (0.0, 0.0))
            target[sunnybrook.slice_and_phase(im.instance)[1]] = expert_labels(im, grid_hw, shift)
        target_crop, _ = crop_around(target, centre_mm, CROP_PX)  # padding is background...
        target_crop[(target == UNLABELLED).all(axis=(1, 2))] = UNLABELLED  # ...except in unlabelled phases
        samples.append(MriSample(case, s, image_crop, target_crop, spacing, offset))
    return samples


def epi_shifts_for(holdout: str, table_path: Path = TABLE_PATH) -> dict[str, dict[int, tuple[float, float]]]:
    """case -> {instance: (dx, dy) grid pixels} re-registering the training epicardia of the run that holds
    out `holdout` ('none': the shipped model); {} when the table or the run's entry is missing. The table is
    written by lab/training/mri_epi_alignment.py."""
    if not table_path.is_file():
        return {}
    entry = json.loads(table_path.read_text()).get("shifts_by_training_run", {}).get(holdout, {})
    return {case: {int(k): (float(v["dx"]), float(v["dy"])) for k, v in by_instance.items()}
            for case, by_instance in entry.items()}


def apical_flags(samples: list[MriSample], area_ratio: float = 0.5) -> list[bool]:
    """Which samples are apical slices: their largest labelled blood pool is below `area_ratio` of the largest
    of their case (the slices where the Sunnybrook experts trace the bright blood only, and networks draw the
    pool and the epicardium too wide)."""
    pool_px = [int((s.target == 1).sum(axis=(1, 2)).max()) for s in samples]
    case_max: dict[str, int] = {}
    for s, area in zip(samples, pool_px, strict=False):
        case_max[s.case] = max(case_max.get(s.case, 0), area)
    return [0 < area < area_ratio * case_max[s.case] for s, area in zip(samples, pool_px, strict=False)]
