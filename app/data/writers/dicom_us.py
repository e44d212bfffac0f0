"""DICOM Ultrasound Multi-frame Image writer (8-bit grey) with a Sequence of Ultrasound Regions.

Spacing goes in the region's PhysicalDeltaX/Y (cm, as scanners write it), timing in FrameTime (ms) with
the FrameIncrementPointer to it, plus CineRate and HeartRate; the view is named in the
SeriesDescription and ViewCodeSequence so the reader finds it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, JPEG2000Lossless, RLELossless, generate_uid

from app.data.recording import Recording
from app.data.writers.dicom_common import fill_patient_study, stable_uid

US_MULTIFRAME_SOP = "1.2.840.10008.5.1.4.1.1.3.1"
VIEW_CODES = {  # SNOMED-RT codes used by ultrasound (DICOM CID 12226)
    "a4c": ("G-A19C", "Apical four chamber"),
    "a2c": ("G-A19B", "Apical two chamber"),
    "a3c": ("G-A19D", "Apical three chamber"),
}
COMPRESSIONS = {"none": ExplicitVRLittleEndian, "rle": RLELossless, "jpeg2000": JPEG2000Lossless}


def _region(recording: Recording) -> Dataset:
    rows, cols = recording.image_shape
    region = Dataset()
    region.RegionSpatialFormat = 1  # 2D
    region.RegionDataType = 1  # tissue
    region.RegionFlags = 0
    region.RegionLocationMinX0 = 0
    region.RegionLocationMinY0 = 0
    region.RegionLocationMaxX1 = cols - 1
    region.RegionLocationMaxY1 = rows - 1
    region.ReferencePixelX0 = int(round((cols - 1) / 2.0))  # the probe: top centre
    region.ReferencePixelY0 = 0
    region.PhysicalUnitsXDirection = 3  # cm
    region.PhysicalUnitsYDirection = 3
    region.PhysicalDeltaX = float(recording.spacing_mm[1]) / 10.0
    region.PhysicalDeltaY = float(recording.spacing_mm[0]) / 10.0
    return region


def write_us_dicom(recording: Recording, path: str | Path, compression: str = "none") -> Path:
    """Write a (T, H, W) echo recording as one multi-frame US DICOM file; returns the path."""
    path = Path(path)
    frames = np.ascontiguousarray(_as_uint8(recording.frames))
    if frames.ndim != 3:
        raise ValueError(f"an ultrasound file holds (T, H, W) frames, got shape {frames.shape}")
    series_uid = stable_uid("us-series", recording.patient.patient_id, recording.series_description,
                            str(frames.shape), recording.view)
    ds = _base_dataset(US_MULTIFRAME_SOP, "US", stable_uid("us-image", series_uid))
    fill_patient_study(ds, recording, series_uid=series_uid)
    t, rows, cols = frames.shape
    ds.NumberOfFrames = t
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    rate = recording.frame_rate_hz or 30.0
    ds.FrameTime = f"{1000.0 / rate:.12g}"[:16]
    ds.FrameIncrementPointer = Tag("FrameTime")
    ds.CineRate = int(round(rate))
    ds.RecommendedDisplayFrameRate = int(round(rate))
    if recording.heart_rate_bpm:
        ds.HeartRate = int(round(recording.heart_rate_bpm))
    ds.SequenceOfUltrasoundRegions = Sequence([_region(recording)])
    if recording.view in VIEW_CODES:
        code = Dataset()
        code.CodeValue, code.CodeMeaning = VIEW_CODES[recording.view]
        code.CodingSchemeDesignator = "SRT"
        ds.ViewCodeSequence = Sequence([code])
    ds.PixelData = frames.tobytes()
    _compress(ds, frames, compression)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _compress(ds: Dataset, frames: np.ndarray, compression: str) -> None:
    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}")
    if compression != "none":
        ds.compress(COMPRESSIONS[compression], frames, generate_instance_uid=False)


def _base_dataset(sop_class: str, modality: str, instance_uid: str | None = None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(instance_uid) if instance_uid else generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    return ds


def _as_uint8(frames: np.ndarray) -> np.ndarray:
    if frames.dtype == np.uint8:
        return frames
    data = frames.astype(np.float32)
    lo, hi = float(data.min()), float(data.max())
    return np.round((data - lo) / max(hi - lo, 1e-9) * 255.0).astype(np.uint8)
