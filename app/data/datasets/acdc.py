"""ACDC short-axis MRI (../shared/data/acdc): ED and ES volumes with expert labels, as our label convention
and as NIfTI files the app reads like a user's.

`patientNNN.npz` (see ../shared/data/README.md): `ed_image`, `es_image` uint8 (slices, rows, columns),
`ed_label`, `es_label` in ACDC's convention (1 RV, 2 myocardium, 3 LV), `meta` JSON with the group, the
estimated in-plane and slice spacing (their product is exact) and reference volumes computed from the same
labels. `load_case` remaps the labels to ours (1 LV blood pool, 2 LV myocardium, 3 RV blood pool).

Reference values (meta): `lv_edv_ml`, `lv_esv_ml`, `rv_edv_ml`, `rv_esv_ml`, `lv_ef_pct`, `rv_ef_pct` are
voxel counts x voxel volume; `myo_mass_g_ed` is the myocardial voxel volume in ml, without the 1.05 g/ml
density (patient001: 164.26 ml of myocardial voxels; our mass, 1.05 g/ml x volume, is 172.5 g).

`write_nifti(case, path, phases)` writes a 4D (x, y, slice, phase) NIfTI of the chosen phases ("ed", "es"),
or a 3D (x, y, slice) one for a single phase, with the estimated spacing in mm, the images as int16 (ACDC's
source files are 16-bit MR; 8-bit 3D NIfTI is read as an echo clip), and the labels likewise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ACDC_TO_OURS = np.array([0, 3, 2, 1], np.uint8)  # ACDC 1 RV, 2 myo, 3 LV -> ours 1 LV, 2 myo, 3 RV
GROUPS = ("DCM", "HCM", "MINF", "NOR", "RV")
FRAME_INTERVAL_S = 0.03  # nominal: ACDC keeps only two phases of the cine


@dataclass(frozen=True, eq=False)
class AcdcCase:
    """One patient: images and labels (ours) per phase, (S, H, W); spacing in mm; meta as in the file."""

    patient: str
    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    spacing_mm: float
    slice_spacing_mm: float
    meta: dict

    @property
    def group(self) -> str:
        return str(self.meta["group"])


def case_paths(folder: Path) -> list[Path]:
    """The patient files of an ACDC folder, sorted."""
    return sorted(Path(folder).glob("patient*.npz"))


def load_case(path: Path) -> AcdcCase:
    """One patient file, labels remapped to ours."""
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        images = {ph: np.asarray(z[f"{ph}_image"]) for ph in ("ed", "es")}
        labels = {ph: ACDC_TO_OURS[np.asarray(z[f"{ph}_label"])] for ph in ("ed", "es")}
    return AcdcCase(Path(path).stem, images, labels, float(meta["spacing_mm_estimated"]),
                    float(meta["slice_spacing_mm_estimated"]), meta)


def write_nifti(case: AcdcCase, image_path: Path, label_path: Path, phases=("ed", "es")) -> tuple[Path, Path]:
    """The case's image and label files for the given phases (4D for two or more, 3D for one)."""
    import SimpleITK as sitk

    for path, source, dtype in ((image_path, case.images, np.int16), (label_path, case.labels, np.uint8)):
        data = np.stack([source[ph] for ph in phases]).astype(dtype)  # (T, S, H, W)
        if len(phases) == 1:
            image = sitk.GetImageFromArray(data[0])
            image.SetSpacing((case.spacing_mm, case.spacing_mm, case.slice_spacing_mm))
        else:
            image = sitk.GetImageFromArray(data, isVector=False)
            image.SetSpacing((case.spacing_mm, case.spacing_mm, case.slice_spacing_mm, FRAME_INTERVAL_S))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(path), useCompression=True)
    return Path(image_path), Path(label_path)
