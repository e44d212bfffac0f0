"""Sunnybrook cine MRI (../shared/data/sunnybrook): short-axis series and expert contours as masks.

Layout (see ../shared/data/README.md): `dicoms/SCDxxxxx01/<instance>.dcm` single-frame MR images and
`contourfiles/SC-HF-I-N/{i,o}-contours/IM-0001-NNNN-{i,o}contour-manual.txt` with one `x y` pixel pair
per line (x = column, y = row), NNNN the instance number. Endocardium is drawn at ED and ES of each
contoured slice, epicardium at ED only.

The files count pixels from 1 (the first pixel's centre is at x = y = 1, as MATLAB counts); `read_contour`
returns them counted from 0, as numpy indexes the image. Read as they are, the contours sit about one pixel
right of and below their images. Measured on the images alone, without any network (the translation that puts
the endocardial contours on the strongest image edges; tests/test_sunnybrook_contours.py): rows / columns
-1.0 / -0.5, -0.75 / -1.0 and -0.875 / -0.75 pixels for SC-HF-I-4, -5 and -6 as read (0.0 / +0.5, +0.25 / 0.0,
0.0 / +0.25 read from 0), against +0.125 / +0.25 for ACDC's expert masks, whose borders are exact.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pydicom
from skimage.draw import polygon as fill_polygon

CONTOUR_NAME = re.compile(r"IM-0001-(\d{4})-([io])contour-manual\.txt$")
FIRST_PIXEL_PX = 1.0  # the contour files' coordinate of the first pixel's centre (see the module docstring)


@dataclass(frozen=True)
class ContouredImage:
    """One expert-contoured short-axis image.

    image: (H, W) float32 raw MR intensities; endo_mask, epi_mask: (H, W) bool (epi None when not drawn);
    endo_px / epi_px: (N, 2) (x=col, y=row) contour points; position_mm: ImagePositionPatient.
    """

    patient: str
    instance: int
    trigger_time_ms: float
    position_mm: tuple[float, float, float]
    image: np.ndarray
    spacing_mm: tuple[float, float]
    endo_px: np.ndarray
    epi_px: np.ndarray | None
    endo_mask: np.ndarray
    epi_mask: np.ndarray | None

    @property
    def labels(self) -> np.ndarray:
        """(H, W) uint8: 1 blood pool, 2 myocardium (only where the epicardium was drawn)."""
        out = np.zeros(self.endo_mask.shape, np.uint8)
        if self.epi_mask is not None:
            out[self.epi_mask] = 2
        out[self.endo_mask] = 1
        return out


def patients(root: Path) -> dict[str, Path]:
    """Map of original case name (SC-HF-I-4 ...) -> DICOM folder, for the cases present on disk."""
    out: dict[str, Path] = {}
    with open(root / "link.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            folder = root / "dicoms" / row["patient_id"]
            if folder.is_dir() and (root / "contourfiles" / row["original_id"]).is_dir():
                out[row["original_id"]] = folder
    return out


def read_contour(path: Path) -> np.ndarray:
    """(N, 2) float (x=col, y=row) pixel points of one contour file, counted from 0 like the image's indices."""
    points = np.loadtxt(path, dtype=np.float64, ndmin=2)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
        raise ValueError(f"{path}: not a contour of x y pairs")
    return points - FIRST_PIXEL_PX


def contour_mask(points_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool mask inside a closed contour given as (x, y) pixel points."""
    rr, cc = fill_polygon(points_px[:, 1], points_px[:, 0], shape)
    mask = np.zeros(shape, bool)
    mask[rr, cc] = True
    return mask


def contoured_images(root: Path, case: str) -> list[ContouredImage]:
    """Every image of `case` with an endocardial contour, sorted by instance number."""
    folder = patients(root)[case]
    contour_dir = root / "contourfiles" / case
    epi_files = {int(m.group(1)): p for p in (contour_dir / "o-contours").glob("*.txt")
                 if (m := CONTOUR_NAME.search(p.name))}
    images = []
    for path in sorted((contour_dir / "i-contours").glob("*.txt")):
        match = CONTOUR_NAME.search(path.name)
        if not match:
            continue
        instance = int(match.group(1))
        ds = pydicom.dcmread(folder / f"{instance}.dcm")
        image = ds.pixel_array.astype(np.float32)
        shape = image.shape
        endo = read_contour(path)
        epi = read_contour(epi_files[instance]) if instance in epi_files else None
        images.append(ContouredImage(
            patient=case,
            instance=instance,
            trigger_time_ms=float(ds.get("TriggerTime", 0.0)),
            position_mm=cast(tuple[float, float, float], tuple(float(v) for v in ds.ImagePositionPatient)),
            image=image,
            spacing_mm=(float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])),
            endo_px=endo,
            epi_px=epi,
            endo_mask=contour_mask(endo, shape),
            epi_mask=contour_mask(epi, shape) if epi is not None else None,
        ))
    return images


PHASES_PER_SLICE = 20


def slice_and_phase(instance: int) -> tuple[int, int]:
    """(slice index, phase index) of an instance number: 20 phases per slice, slices in instance order."""
    return (instance - 1) // PHASES_PER_SLICE, (instance - 1) % PHASES_PER_SLICE


def slice_cine(root: Path, case: str, slice_index: int) -> np.ndarray:
    """(T, H, W) float32 cine of one slice of `case`, phases in instance (= trigger time) order."""
    folder = patients(root)[case]
    first = slice_index * PHASES_PER_SLICE + 1
    frames = [pydicom.dcmread(folder / f"{first + p}.dcm").pixel_array for p in range(PHASES_PER_SLICE)]
    return np.stack(frames).astype(np.float32)
