"""Test helpers for the reader tests: write small synthetic DICOM files with known facts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

US_MULTIFRAME_SOP = "1.2.840.10008.5.1.4.1.1.3.1"
MR_SOP = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_SOP = "1.2.840.10008.5.1.4.1.1.4.1"


def base_dataset(sop: str, modality: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName = "Test^Patient"
    ds.PatientID = "T001"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Manufacturer = "CardioTrace tests"
    return ds


def set_pixels(ds: Dataset, frames: np.ndarray) -> None:
    """Grey (T, H, W) uint8/uint16 or one (H, W) image as MONOCHROME2 pixel data."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = frames.shape[-2:]
    bits = 8 if frames.dtype == np.uint8 else 16
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 1 if frames.dtype == np.int16 else 0
    if frames.ndim == 3:
        ds.NumberOfFrames = frames.shape[0]
    ds.PixelData = np.ascontiguousarray(frames).tobytes()


def set_rgb_pixels(ds: Dataset, rgb: np.ndarray) -> None:
    """(T, H, W, 3) uint8 frames as uncompressed RGB pixel data (colour echo files)."""
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.Rows, ds.Columns = rgb.shape[1:3]
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.NumberOfFrames = rgb.shape[0]
    ds.PixelData = np.ascontiguousarray(rgb).tobytes()


def add_region(ds: Dataset, spatial_format: int, data_type: int, box: tuple[int, int, int, int]) -> None:
    """Append an ultrasound region (DICOM RegionSpatialFormat, RegionDataType; box (row0, col0, row1, col1))."""
    item = Dataset()
    item.RegionSpatialFormat, item.RegionDataType, item.RegionFlags = spatial_format, data_type, 0
    keywords = ("RegionLocationMinY0", "RegionLocationMinX0", "RegionLocationMaxY1", "RegionLocationMaxX1")
    for keyword, value in zip(keywords, box, strict=True):
        setattr(item, keyword, value)
    ds.SequenceOfUltrasoundRegions = Sequence([*ds.get("SequenceOfUltrasoundRegions", []), item])


def echo_frames(n_frames: int = 6, shape=(120, 160), seed: int = 0) -> np.ndarray:
    """(T, H, W) uint8: a fan-shaped speckle sector that changes every frame plus static text blocks."""
    rng = np.random.default_rng(seed)
    h, w = shape
    rows, cols = np.mgrid[:h, :w]
    apex = (10, w // 2)
    radius = np.hypot(rows - apex[0], cols - apex[1])
    angle = np.degrees(np.arctan2(cols - apex[1], rows - apex[0]))
    sector = (radius < h - 15) & (np.abs(angle) < 35) & (rows > apex[0])
    frames = np.zeros((n_frames, h, w), dtype=np.uint8)
    for t in range(n_frames):
        frames[t][sector] = rng.integers(40, 230, size=int(sector.sum()))
    frames[:, 2:8, 2:40] = 255  # static "text" in the corner
    frames[:, h - 4 : h - 2, 10 : w - 10] = 200  # static ruler along the bottom (below the fan)
    return frames, sector


def write_us(path: Path, frames: np.ndarray, *, region_box=None, delta_cm=None, frame_time_ms=None,
             heart_rate=None, description="", view_meaning=None) -> Path:
    ds = base_dataset(US_MULTIFRAME_SOP, "US")
    set_pixels(ds, frames)
    if region_box is not None:
        item = Dataset()
        item.RegionSpatialFormat = 1
        item.RegionDataType = 1
        item.RegionFlags = 0
        item.RegionLocationMinY0, item.RegionLocationMinX0, item.RegionLocationMaxY1, item.RegionLocationMaxX1 = (
            region_box
        )
        item.PhysicalUnitsXDirection = item.PhysicalUnitsYDirection = 3
        item.PhysicalDeltaX = item.PhysicalDeltaY = delta_cm
        ds.SequenceOfUltrasoundRegions = Sequence([item])
    if frame_time_ms is not None:
        ds.FrameTime = frame_time_ms
    if heart_rate is not None:
        ds.HeartRate = heart_rate
    if description:
        ds.SeriesDescription = description
    if view_meaning:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "X", "99TEST", view_meaning
        ds.ViewCodeSequence = Sequence([code])
    ds.save_as(path, enforce_file_format=True)
    return path



def write_mr_series(folder: Path, n_slices: int = 4, n_phases: int = 5, *, spacing_mm=1.5, gap_mm=8.0,
                    trigger_step_ms=40.0, skip=(), shape=(32, 40)) -> tuple[Path, np.ndarray]:
    """Single-frame MR cine files (names shuffled) and the expected (S, T, H, W) base->apex pixels.

    The slice normal is the LPS z axis (0, 0, 1); the apex direction (+1, -1, -1) makes larger z more
    basal, so slice index 0 (base) has the largest z. Pixel value = 1000*slice + 10*phase (+ ramp).
    """
    folder.mkdir(parents=True, exist_ok=True)
    uid, study = generate_uid(), generate_uid()
    h, w = shape
    ramp = np.arange(h * w, dtype=np.int16).reshape(h, w) % 7
    expected = np.zeros((n_slices, n_phases, h, w), dtype=np.int16)
    rng = np.random.default_rng(3)
    order = rng.permutation(n_slices * n_phases)
    for k, idx in enumerate(order):
        s, t = divmod(int(idx), n_phases)
        if (s, t) in skip:
            continue
        img = (ramp + 1000 * s + 10 * t).astype(np.int16)
        expected[s, t] = img
        ds = base_dataset(MR_SOP, "MR")
        ds.SeriesInstanceUID, ds.StudyInstanceUID = uid, study
        ds.SeriesDescription = "cine test"
        ds.InstanceNumber = int(idx) + 1
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-20.0, -30.0, 50.0 - gap_mm * s]
        ds.PixelSpacing = [spacing_mm, spacing_mm]
        ds.TriggerTime = 10.0 + trigger_step_ms * t
        ds.HeartRate = 60
        set_pixels(ds, img)
        ds.save_as(folder / f"img{k:03d}.dcm", enforce_file_format=True)
    return folder, expected


def write_enhanced_mr(path: Path, n_slices: int = 3, n_phases: int = 4, *, spacing_mm=1.25, gap_mm=6.0,
                      shape=(24, 20)) -> np.ndarray:
    """Enhanced MR file with per-frame groups (frames stored phase-major, apex first); returns the
    expected (S, T, H, W) base->apex array."""
    ds = base_dataset(ENHANCED_MR_SOP, "MR")
    h, w = shape
    expected = np.zeros((n_slices, n_phases, h, w), dtype=np.uint16)
    frames, groups = [], []
    for t in range(n_phases):
        for s_apex_first in range(n_slices):
            s = n_slices - 1 - s_apex_first
            img = np.full((h, w), 100 * s + t, dtype=np.uint16)
            expected[s, t] = img
            frames.append(img)
            fg = Dataset()
            pos, sync = Dataset(), Dataset()
            pos.ImagePositionPatient = [0.0, 0.0, 30.0 - gap_mm * s]
            sync.NominalCardiacTriggerDelayTime = 20.0 + 50.0 * t
            fg.PlanePositionSequence = Sequence([pos])
            fg.CardiacSynchronizationSequence = Sequence([sync])
            groups.append(fg)
    shared, orient, measures = Dataset(), Dataset(), Dataset()
    orient.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    measures.PixelSpacing = [spacing_mm, spacing_mm]
    measures.SliceThickness = gap_mm
    shared.PlaneOrientationSequence = Sequence([orient])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence(groups)
    set_pixels(ds, np.stack(frames))
    ds.save_as(path, enforce_file_format=True)
    return expected


def read(path: Path) -> Dataset:
    return pydicom.dcmread(path)


def write_video_cut_short(path: Path, frames: np.ndarray, keep_fraction: float = 0.6, fps: float = 25.0) -> Path:
    """An MJPEG AVI of the grey uint8 (T, H, W) frames, then cut to keep_fraction of its bytes (an interrupted
    copy or export)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, frames.shape[:0:-1], isColor=True)
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    path.write_bytes(path.read_bytes()[: int(keep_fraction * path.stat().st_size)])
    return path
