"""Whole cardiac cycles for the cyclic ConvLSTMs of the four-class short-axis network (lab/training/mri_cycles.py).

ACDC labels only ED and ES, so the ConvLSTMs, which run over a cycle's phases, learn from phantom cine stacks
(app/data/phantom: every phase labelled; hearts of 90-260 ml and EF 15-70 %, half with infarcts, image quality
excellent to poor, 16-30 phases, 1.2-1.6 mm pixels). Each slice is prepared as the app prepares it
(app/ml/mri_preprocess.prepare_slice: the whole slice on the 1.25 mm grid, intensities by the slice's
percentiles over all its phases) and its labels resampled to the same grid.

The phantom labels the LV pool and the myocardium but draws its right ventricle without a label, so every pixel
outside the LV's epicardium is BG_OR_RV: background or RV pool, whichever (the loss scores the two together,
lab/training/mri_losses.cycle_loss). Cached as one npz per set of cases under the checkpoints folder.

Real cycles: Sunnybrook's cine slices (`sunnybrook_cycles`), labelled by its experts at ED and ES only (LV
endocardium, and the epicardium where one is drawn consistently: lab/training/mri_data.expert_labels); their
other phases are UNLABELLED, and a slice with the endocardium only is NOT_POOL_ANY outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.analysis.lv_localise import crop_around
from app.ml.mri_preprocess import GRID_MM, prepare_slice, resample

BG_OR_RV = 5  # target code: background or RV pool (0 and 3 scored together)
NOT_POOL_ANY = 6  # target code: anything but the LV pool (a slice whose expert drew the endocardium only)
UNLABELLED = 255  # a phase nobody labelled (the loss anchors it to the CNN alone)
PHASES = (16, 30)  # range of the phantom cines' phase counts
CYCLES_VERSION = 1


@dataclass(frozen=True)
class Cycle:
    """One slice's whole cycle on the grid: image (T, H, W) float16 0..1, target (T, H, W) uint8 (0 outside the
    scan, 1 LV pool, 2 myocardium, BG_OR_RV or NOT_POOL_ANY where the labels leave the class open, UNLABELLED
    phases), centre_rc of the LV on the grid; case names the stack (its slices share their phase count)."""

    case: str
    slice_index: int
    image: np.ndarray
    target: np.ndarray
    centre_rc: tuple[float, float]


def phantom_cycles(n_cases: int, seed: int, cache: Path) -> list[Cycle]:
    """The slices holding the LV of `n_cases` random phantom cine stacks (cached)."""
    from app.data.phantom import make_mri
    from lab.training.mri_phantom import random_params

    path = Path(cache) / f"phantom_cycles_{n_cases}_{seed}_grid{GRID_MM:g}_v{CYCLES_VERSION}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=True) as data:
            return [Cycle(**item) for item in data["cycles"]]
    rng = np.random.default_rng(seed)
    out: list[Cycle] = []
    for k in range(n_cases):
        params = replace(random_params(rng), n_phases=int(rng.integers(PHASES[0], PHASES[1] + 1)))
        case = make_mri(params, seed=int(rng.integers(1 << 30)))
        out += case_cycles(case.recording.frames, case.truth.labels, case.recording.spacing_mm, f"phantom{seed}_{k}")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, cycles=np.array([c.__dict__ for c in out], dtype=object))
    return out


def case_cycles(frames: np.ndarray, labels: np.ndarray, spacing_mm: tuple[float, float], name: str) -> list[Cycle]:
    """(S, T, H, W) images and labels (0 / 1 LV pool / 2 myocardium) of one stack -> its slices with any LV
    label, on the grid (padded as the network input is)."""
    out = []
    heart = np.isin(labels, (1, 2))
    for s in np.flatnonzero(heart.any(axis=(1, 2, 3))):
        image, grid_hw = prepare_slice(frames[s], spacing_mm)
        grid_labels = resample(labels[s], spacing_mm, nearest=True)
        target = np.zeros(image.shape, np.uint8)
        target[:, :grid_hw[0], :grid_hw[1]] = np.where(grid_labels > 0, grid_labels, BG_OR_RV)
        rows, cols = np.nonzero(np.isin(target, (1, 2)).any(axis=0))
        out.append(Cycle(name, int(s), image.astype(np.float16), target, (float(rows.mean()), float(cols.mean()))))
    return out


def sunnybrook_cycles(root: Path, cases: tuple[str, ...]) -> list[Cycle]:
    """Every contoured slice of the Sunnybrook `cases` as a whole cycle on the grid (ED/ES labelled)."""
    from lab.data import sunnybrook
    from lab.training.mri_data import contour_masks, epicardium_consistent

    out = []
    for case in cases:
        images = sunnybrook.contoured_images(root, case)
        spacing = images[0].spacing_mm
        by_slice: dict[int, list] = {}
        for im in images:
            by_slice.setdefault(sunnybrook.slice_and_phase(im.instance)[0], []).append(im)
        for s, labelled in sorted(by_slice.items()):
            image, grid_hw = prepare_slice(sunnybrook.slice_cine(root, case, s), spacing)
            target = np.full(image.shape, UNLABELLED, np.uint8)
            for im in labelled:
                endo, epi = contour_masks(im, grid_hw)
                if epi is not None and epicardium_consistent(endo, epi):
                    codes = np.where(endo, 1, np.where(epi, 2, BG_OR_RV))
                else:
                    codes = np.where(endo, 1, NOT_POOL_ANY)
                phase = target[sunnybrook.slice_and_phase(im.instance)[1]]
                phase[:] = 0
                phase[:grid_hw[0], :grid_hw[1]] = codes
            rows, cols = np.nonzero((target == 1).any(axis=0))
            out.append(Cycle(case, int(s), image.astype(np.float16), target, (float(rows.mean()), float(cols.mean()))))
    return out


def draw_cycle(cycle: Cycle, rng: np.random.Generator, size_px: int, jitter_px: int) -> tuple[np.ndarray, np.ndarray]:
    """A crop of size_px around the LV moved by up to jitter_px: (T, size, size) float32 image and uint8 target
    (0 past the slice's edges, as the network sees zero padding there)."""
    centre = (cycle.centre_rc[0] + rng.integers(-jitter_px, jitter_px + 1),
              cycle.centre_rc[1] + rng.integers(-jitter_px, jitter_px + 1))
    image, _ = crop_around(cycle.image.astype(np.float32), centre, size_px)
    target, _ = crop_around(cycle.target, centre, size_px)
    target[(cycle.target == UNLABELLED).all(axis=(1, 2))] = UNLABELLED  # the crop's padding is 0 in labelled phases
    return image, target
