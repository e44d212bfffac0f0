"""Cine short-axis MR series writer: a folder of single-frame MR DICOM files.

Each image carries ImagePositionPatient / ImageOrientationPatient (slices stacked along an oblique
long axis pointing from base to apex toward the patient's left-anterior-inferior side, as the reader's
base -> apex rule expects), PixelSpacing, SliceThickness, SpacingBetweenSlices, SliceLocation,
TriggerTime, InstanceNumber and one SeriesInstanceUID.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.uid import ExplicitVRLittleEndian

from app.data.recording import Recording
from app.data.writers.dicom_common import fill_patient_study, stable_uid
from app.data.writers.dicom_us import _base_dataset, _compress

MR_IMAGE_SOP = "1.2.840.10008.5.1.4.1.1.4"
APEX_DIRECTION_LPS = np.array([1.0, -1.0, -1.0]) / np.sqrt(3.0)
ROW_DIRECTION = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)  # direction of increasing column index


def stack_geometry(n_rows: int, n_cols: int, spacing_mm: tuple[float, float], slice_spacing_mm: float,
                   n_slices: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row_dir, col_dir, positions (S, 3)) of a base -> apex stack centred on the origin (LPS mm)."""
    normal = APEX_DIRECTION_LPS
    col_dir = np.cross(normal, ROW_DIRECTION)  # so cross(row_dir, col_dir) == normal
    centre_offset = -(n_cols - 1) / 2.0 * spacing_mm[1] * ROW_DIRECTION - (n_rows - 1) / 2.0 * spacing_mm[0] * col_dir
    k = np.arange(n_slices) - (n_slices - 1) / 2.0
    positions = centre_offset[None, :] + (k * slice_spacing_mm)[:, None] * normal[None, :]
    return ROW_DIRECTION, col_dir, positions


def write_mr_series(recording: Recording, folder: str | Path, slice_thickness_mm: float | None = None,
                    compression: str = "none") -> Path:
    """Write an (S, T, H, W) (or (T, H, W)) cine MR recording as single-frame files in `folder`."""
    folder = Path(folder)
    frames = recording.frames if recording.is_stack else recording.frames[None]
    if not np.issubdtype(frames.dtype, np.integer) or frames.min() < 0 or frames.max() > 65535:
        raise ValueError("MR frames must be unsigned integers up to 65535")
    frames = frames.astype(np.uint16)
    s_count, t_count, rows, cols = frames.shape
    spacing = recording.slice_spacing_mm or slice_thickness_mm or 8.0
    row_dir, col_dir, positions = stack_geometry(rows, cols, recording.spacing_mm, spacing, s_count)
    series_uid = stable_uid("mr-series", recording.patient.patient_id, recording.series_description, str(frames.shape))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("IM[0-9][0-9][0-9][0-9][0-9].dcm"):  # an earlier stack written here
        stale.unlink()
    trigger_ms = (recording.frame_times_s - recording.frame_times_s[0]) * 1000.0
    bits = max(8, int(np.ceil(np.log2(float(frames.max()) + 1.0))))
    for s in range(s_count):
        for t in range(t_count):
            number = s * t_count + t + 1
            ds = _base_dataset(MR_IMAGE_SOP, "MR", stable_uid("mr-image", series_uid, str(number)))
            fill_patient_study(ds, recording, series_uid=series_uid)
            ds.InstanceNumber = number
            ds.ImagePositionPatient = [f"{v:.4f}" for v in positions[s]]
            ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*row_dir, *col_dir)]
            ds.SliceLocation = f"{float(positions[s] @ APEX_DIRECTION_LPS):.4f}"
            ds.FrameOfReferenceUID = stable_uid("for", series_uid)
            ds.PixelSpacing = [f"{recording.spacing_mm[0]:.6g}", f"{recording.spacing_mm[1]:.6g}"]
            ds.SliceThickness = f"{slice_thickness_mm or spacing:.6g}"
            ds.SpacingBetweenSlices = f"{spacing:.6g}"
            ds.TriggerTime = f"{trigger_ms[t]:.3f}"
            ds.CardiacNumberOfImages = t_count
            if recording.heart_rate_bpm:
                ds.HeartRate = int(round(recording.heart_rate_bpm))
            ds.ScanningSequence = "GR"
            ds.SequenceVariant = "SS"
            ds.MRAcquisitionType = "2D"
            ds.Rows, ds.Columns = rows, cols
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated = 16
            ds.BitsStored = min(16, bits)
            ds.HighBit = ds.BitsStored - 1
            ds.PixelRepresentation = 0
            image = np.ascontiguousarray(frames[s, t])
            ds.PixelData = image.tobytes()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            _compress(ds, image, compression)
            ds.save_as(folder / f"IM{number:05d}.dcm", enforce_file_format=True)
    return folder
