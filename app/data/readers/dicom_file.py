"""One DICOM file -> Recording: decide ultrasound vs MR (single or enhanced multi-frame) from content."""

from __future__ import annotations

from pathlib import Path

from app.data.errors import LoadError
from app.data.readers import dicom_common as dc

US_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.6.", "1.2.840.10008.5.1.4.1.1.3.")
MR_SOPS = ("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.3")
ENHANCED_MR_SOPS = ("1.2.840.10008.5.1.4.1.1.4.1", "1.2.840.10008.5.1.4.1.1.4.3")
ECHO_MODALITIES = ("US", "IVUS", "OT", "XC", "SC")


def kind_of(ds, path: Path) -> str:
    """'us', 'mr' (single-frame image of a series) or 'mr_enhanced'; LoadError for other images."""
    modality = str(dc.get(ds, "Modality", "")).upper().strip()
    sop = dc.sop_class(ds)
    if modality == "MR" or sop in MR_SOPS:
        frames = dc.get(ds, "NumberOfFrames", 1)
        try:
            multi = int(frames or 1) > 1
        except (TypeError, ValueError):
            multi = False
        return "mr_enhanced" if multi or sop in ENHANCED_MR_SOPS else "mr"
    if modality in ECHO_MODALITIES or sop.startswith(US_SOP_PREFIXES) or "SequenceOfUltrasoundRegions" in ds:
        return "us"
    what = f"modality {modality}" if modality else "no modality stated"
    raise LoadError(path, f"unsupported DICOM image ({what}); CardioTrace reads ultrasound (US) and MR")


def is_dicomdir(ds) -> bool:
    return dc.sop_class(ds) == dc.DICOMDIR_SOP or "DirectoryRecordSequence" in ds


def read_dicom_file(path: Path, summary_only: bool = False):
    """Recording from one DICOM image file (ultrasound clip/still, MR image, enhanced MR); summary_only: for its
    summary, its frames not all decoded (summary_only.py)."""
    from app.data.readers.dicom_us import read_us
    from app.data.readers.mr_sources import read_enhanced_mr, read_mr_files

    ds = dc.read_dataset(path)
    if is_dicomdir(ds):
        raise LoadError(path, "this is a DICOMDIR index; open it as a folder of series")
    dc.refuse_non_images(ds, path)
    kind = kind_of(ds, path)
    if kind == "us":
        return read_us(ds, path, summary_only)
    if kind == "mr_enhanced":
        return read_enhanced_mr(ds, path, summary_only)
    return read_mr_files([path], path)
