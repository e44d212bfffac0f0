"""Calibrations no heart recording could have: a pixel size outside its modality's range is not used.

A file's pixel size comes from its header (ultrasound regions' physical deltas, MR pixel spacing, NIfTI
pixdim). A wrong value there (an export that writes centimetres as millimetres, an editing tool's default of
1e-9, a corrupt field) would otherwise give volumes of billions of ml, or an LV that the segmentation, which
works in millimetres, cannot find. The ranges are wide, far outside any clinical acquisition (echo about
0.05-1 mm, cine MR 0.6-3 mm): they catch impossible values, not unusual ones. Such a recording is read as
uncalibrated (nominal 1 mm pixels, as a video is), with a reader note, and the user can calibrate it.
"""

from __future__ import annotations

from dataclasses import replace

from app.data.recording import Recording

PIXEL_MM_RANGE = {"echo": (0.01, 5.0), "mri": (0.05, 10.0)}
_WHAT = {"echo": "ultrasound", "mri": "MR"}


def checked_calibration(recording: Recording) -> Recording:
    """The recording as read, or uncalibrated with a note when its pixel size is outside PIXEL_MM_RANGE."""
    if not recording.calibrated:
        return recording
    low, high = PIXEL_MM_RANGE[recording.modality]
    if all(low <= float(s) <= high for s in recording.spacing_mm):
        return recording
    size = " x ".join(f"{float(s):.3g}" for s in recording.spacing_mm)
    note = (f"the file's pixel size ({size} mm) is not plausible for {_WHAT[recording.modality]} ({low}-{high} mm): "
            "read as uncalibrated (calibrate a known length to get mm and ml)")
    return replace(recording, spacing_mm=(1.0, 1.0), calibrated=False, reader_notes=(*recording.reader_notes, note))
