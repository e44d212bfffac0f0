"""Writers: a Recording leaves the app the way real data arrives (DICOM US / MR series, NIfTI, AVI).

    write_recording(recording, path, fmt=None) -> Path   # fmt: "dcm", "nii", "avi" (default: from path)
"""

from __future__ import annotations

from pathlib import Path

from app.data.recording import Recording
from app.data.writers.dicom_mr import write_mr_series
from app.data.writers.dicom_us import write_us_dicom
from app.data.writers.nifti_avi import write_avi, write_nifti

FORMATS = ("dcm", "nii", "avi")


def format_from_path(path: str | Path) -> str | None:
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return "nii"
    if name.endswith(".avi"):
        return "avi"
    if name.endswith(".dcm") or "." not in name:
        return "dcm"
    return None


def write_recording(recording: Recording, path: str | Path, fmt: str | None = None, compression: str = "none",
                    slice_thickness_mm: float | None = None) -> Path:
    """Write `recording` to `path` in `fmt`; an MR stack as DICOM goes to a folder of files.

    compression ("none", "rle", "jpeg2000"; DICOM only) is lossless. Returns the written path.
    """
    fmt = fmt or format_from_path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format for {path}; use one of {', '.join(FORMATS)}")
    if fmt == "nii":
        return write_nifti(recording, path)
    if fmt == "avi":
        return write_avi(recording, path)
    if recording.modality == "mri":
        return write_mr_series(recording, path, slice_thickness_mm=slice_thickness_mm, compression=compression)
    return write_us_dicom(recording, path, compression=compression)


__all__ = ["FORMATS", "format_from_path", "write_avi", "write_mr_series", "write_nifti", "write_recording",
           "write_us_dicom"]
