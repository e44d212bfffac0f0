"""ACDC short-axis ED/ES volumes with expert labels (../shared/data/acdc), in CardioTrace's label convention.

Source: the ACDC challenge training set (Bernard et al., IEEE TMI 37(11):2514-2525, 2018;
doi:10.1109/TMI.2018.2837502), 80 patients in five diagnostic groups of 16 (DCM, HCM, MINF, NOR, RV).
ACDC labels 1 RV cavity, 2 LV myocardium, 3 LV cavity; here they become CardioTrace's MRI labels
0 background, 1 LV blood pool, 2 LV myocardium, 3 RV blood pool. The in-plane and slice spacing are the
dataset's estimates (their product, the voxel volume, is exact).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUPS = ("DCM", "HCM", "MINF", "NOR", "RV")
ACDC_TO_OURS = np.array([0, 3, 2, 1], np.uint8)  # index: ACDC label -> ours (1 LV, 2 myo, 3 RV)


@dataclass(frozen=True)
class AcdcReference:
    """The dataset's reference values, computed from the expert labels. myo_mass_g_ed is the myocardial
    volume in ml (density 1.0 g/ml: it equals the labelled volume exactly); x 1.05 gives the mass at the
    usual myocardial density."""

    lv_edv_ml: float
    lv_esv_ml: float
    rv_edv_ml: float
    rv_esv_ml: float
    lv_ef_pct: float
    rv_ef_pct: float
    myo_mass_g_ed: float


@dataclass(frozen=True)
class AcdcPatient:
    """One patient: images (2, S, H, W) uint8 (ED, ES), labels (2, S, H, W) uint8 in our convention."""

    patient: str
    group: str
    images: np.ndarray
    labels: np.ndarray
    spacing_mm: tuple[float, float]
    slice_spacing_mm: float
    voxel_volume_mm3: float
    reference: AcdcReference

    @property
    def ed(self) -> int:
        return 0

    @property
    def es(self) -> int:
        return 1


def patient_ids(root: Path) -> list[str]:
    """Patient ids of the dataset folder, sorted."""
    return sorted(p.stem for p in Path(root).glob("patient*.npz"))


def groups(root: Path) -> dict[str, str]:
    """patient id -> diagnostic group, from index.csv."""
    with open(Path(root) / "index.csv", newline="", encoding="utf-8") as handle:
        return {row["patient"]: row["group"] for row in csv.DictReader(handle)}


def to_ours(acdc_labels: np.ndarray) -> np.ndarray:
    """ACDC label map (0 bg, 1 RV, 2 myo, 3 LV) -> ours (0 bg, 1 LV, 2 myo, 3 RV)."""
    return ACDC_TO_OURS[np.asarray(acdc_labels, np.uint8)]


def load_patient(root: Path, patient: str) -> AcdcPatient:
    """One patient's ED and ES volumes and labels (remapped) with its metadata."""
    with np.load(Path(root) / f"{patient}.npz") as data:
        meta = json.loads(str(data["meta"]))
        images = np.stack([data["ed_image"], data["es_image"]])
        labels = to_ours(np.stack([data["ed_label"], data["es_label"]]))
    pixel_mm = float(meta["spacing_mm_estimated"])
    reference = AcdcReference(*(float(meta[k]) for k in AcdcReference.__dataclass_fields__))
    return AcdcPatient(patient, str(meta["group"]), images, labels, (pixel_mm, pixel_mm),
                       float(meta["slice_spacing_mm_estimated"]), float(meta["voxel_volume_mm3"]), reference)


def stratified_folds(patient_groups: dict[str, str], n_folds: int = 5) -> list[list[str]]:
    """Whole patients split into n_folds folds, each holding an equal share of every group (deterministic:
    patients of a group in id order dealt round-robin, the group's start fold rotated)."""
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for g_index, group in enumerate(sorted(set(patient_groups.values()))):
        members = sorted(p for p, g in patient_groups.items() if g == group)
        for i, patient in enumerate(members):
            folds[(i + g_index) % n_folds].append(patient)
    return [sorted(f) for f in folds]


PHASE_INDEX = {"ed": 0, "es": 1}
FRAME_INTERVAL_S = 0.03  # nominal: ACDC keeps only two phases of the cine


def write_nifti(patient: AcdcPatient, image_path: Path, label_path: Path, phases=("ed", "es")) -> tuple[Path, Path]:
    """The patient's image and label files for the given phases ("ed", "es"), as a user's files would be: 4D
    (x, y, slice, phase) for two or more phases, 3D (x, y, slice) for one; the estimated spacing in mm; images as
    int16 (ACDC's source files are 16-bit MR; an 8-bit 3D NIfTI is read as an echo clip), labels ours."""
    import SimpleITK as sitk

    idx = [PHASE_INDEX[ph] for ph in phases]
    pixel_mm = patient.spacing_mm[0]
    for path, source, dtype in ((image_path, patient.images, np.int16), (label_path, patient.labels, np.uint8)):
        data = source[idx].astype(dtype)  # (T, S, H, W)
        if len(idx) == 1:
            image = sitk.GetImageFromArray(data[0])
            image.SetSpacing((pixel_mm, pixel_mm, patient.slice_spacing_mm))
        else:
            image = sitk.GetImageFromArray(data, isVector=False)
            image.SetSpacing((pixel_mm, pixel_mm, patient.slice_spacing_mm, FRAME_INTERVAL_S))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(image, str(path), useCompression=True)
    return Path(image_path), Path(label_path)
