"""ACDC training samples for the four-class short-axis network, on the whole-slice grid of app/ml/mri_preprocess.

Each patient becomes, per slice, its ED and ES images normalised together (as a 2-phase stack is at inference)
and their label maps (0 background, 1 LV pool, 2 myocardium, 3 RV pool), all on the GRID_MM grid, plus the
heart's centre on that grid (the mean position of every labelled voxel of the patient). Cached as one npz
under the checkpoints folder (resampling 80 patients takes about half a minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.analysis.lv_localise import crop_around
from app.ml.mri_preprocess import GRID_MM, neighbour_channels, normalise_slice, reference_channels, resample
from lab.data import acdc

SAMPLES_VERSION = 1


@dataclass(frozen=True)
class AcdcSlices:
    """One patient on the grid: images (S, 2, H, W) float16 0..1, labels (S, 2, H, W) uint8; centre_rc on the grid."""

    patient: str
    group: str
    images: np.ndarray
    labels: np.ndarray
    centre_rc: tuple[float, float]


def patient_slices(patient: acdc.AcdcPatient) -> AcdcSlices:
    """Resample and normalise one patient's ED/ES volumes slice by slice."""
    images = np.stack([normalise_slice(resample(patient.images[:, s].astype(np.float32), patient.spacing_mm))
                       for s in range(patient.images.shape[1])])
    labels = np.stack([resample(patient.labels[:, s], patient.spacing_mm, nearest=True)
                       for s in range(patient.labels.shape[1])])
    rows, cols = np.nonzero((labels > 0).any(axis=(0, 1)))
    centre = (float(rows.mean()), float(cols.mean())) if len(rows) else (labels.shape[-2] / 2, labels.shape[-1] / 2)
    return AcdcSlices(patient.patient, patient.group, images.astype(np.float16), labels, centre)


def load_all(root: Path, cache_dir: Path) -> list[AcdcSlices]:
    """Every ACDC patient on the grid (cached in cache_dir)."""
    path = Path(cache_dir) / f"acdc_slices_grid{GRID_MM:g}_v{SAMPLES_VERSION}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=True) as data:
            return [AcdcSlices(**item) for item in data["patients"]]
    out = [patient_slices(acdc.load_patient(root, p)) for p in acdc.patient_ids(root)]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, patients=np.array([o.__dict__ for o in out], dtype=object))
    return out


def draw_crop(patient: AcdcSlices, rng: np.random.Generator, size_px: int, jitter_px: int,
              channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A random slice and phase of a patient cropped to size_px around the heart centre moved by up to jitter_px:
    (channels, size, size) float32 image, (1, size, size) uint8 labels (zero padding outside the image).
    channels 3: the slice with its neighbours (app/ml/mri_preprocess.neighbour_channels), in stack order or
    reversed at random, so the network does not learn which end of a stack is the base from the order alone.
    channels 2: the phase with the same slice at ED (app/ml/mri_preprocess.reference_channels)."""
    n_slices = patient.images.shape[0]
    s = int(rng.integers(n_slices))
    phase = int(rng.integers(2))
    centre = (patient.centre_rc[0] + rng.integers(-jitter_px, jitter_px + 1),
              patient.centre_rc[1] + rng.integers(-jitter_px, jitter_px + 1))
    if channels == 2:
        stacked = reference_channels(patient.images[s].astype(np.float32), 0)[phase]  # ED is phase 0
    else:
        around = (s - 1, s, s + 1) if channels > 1 else (s,)  # one channel: no neighbours, no extra random draw
        grids = [patient.images[k, phase:phase + 1].astype(np.float32) if 0 <= k < n_slices else None
                 for k in around]
        if channels > 1 and rng.random() < 0.5:
            grids.reverse()
        stacked = grids[0] if channels == 1 else neighbour_channels(*grids, channels)[0]
    image, _ = crop_around(stacked, centre, size_px)
    labels, _ = crop_around(patient.labels[s, phase:phase + 1], centre, size_px)
    return image, labels
