"""Header values no heart recording could have are not used: a pixel size outside its modality's range, a frame
timing no scanner gives, a patient height or weight no patient has (checked_header).

A file's pixel size comes from its header (ultrasound regions' physical deltas, MR pixel spacing, NIfTI
pixdim). A wrong value there (an export that writes centimetres as millimetres, an editing tool's default of
1e-9, a corrupt field) would otherwise give volumes of billions of ml, or an LV that the segmentation, which
works in millimetres, cannot find. The ranges are wide, far outside any clinical acquisition (echo about
0.05-1 mm, cine MR 0.6-3 mm): they catch impossible values, not unusual ones. Such a recording is read as
uncalibrated (nominal 1 mm pixels, as a video is), with a reader note, and the user can calibrate it. A frame
interval outside 1-500 ms (an export that writes FrameTime in seconds, a corrupt field) is read as no timing,
as a file without one is; a height or weight outside the ranges a patient can have (a PatientSize written in
centimetres where DICOM says metres) is not used, so no BSA is made from it; each with a reader note.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.data.recording import (
    HEIGHT_RANGE_CM,
    NOMINAL_FRAME_RATE_HZ,
    WEIGHT_RANGE_KG,
    Recording,
    uniform_frame_times,
)

PIXEL_MM_RANGE = {"echo": (0.01, 5.0), "mri": (0.05, 10.0)}
_WHAT = {"echo": "ultrasound", "mri": "MR"}
# 1000 frames a second (high-frame-rate echo) to 2 (a NIfTI header's default step of 1 s is not a frame rate)
PLAUSIBLE_FRAME_INTERVAL_S = (0.001, 0.5)


def checked_header(recording: Recording) -> Recording:
    """The recording with its implausible header values set aside (calibration, frame timing, body size)."""
    return checked_body_size(checked_timing(checked_calibration(recording)))


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


def checked_timing(recording: Recording) -> Recording:
    """The recording as read, or with nominal frame timing and a note when its median frame interval is outside
    PLAUSIBLE_FRAME_INTERVAL_S."""
    if recording.frame_times_nominal or recording.n_frames < 2:
        return recording
    interval_s = float(np.median(np.diff(np.asarray(recording.frame_times_s, dtype=np.float64))))
    low, high = PLAUSIBLE_FRAME_INTERVAL_S
    if low <= interval_s <= high:
        return recording
    per_s = 1.0 / interval_s if interval_s > 0 else 0.0
    if per_s >= 1:
        rate = f"{per_s:.0f} frames a second"
    elif per_s > 0:
        rate = f"{per_s:.2g} frames a second"  # a slow one said as it is, not "0"
    else:
        rate = "no time between frames"
    note = (f"the file's frame timing ({rate}) is not plausible ({1.0 / high:g}-{1.0 / low:g} frames a second): "
            "read as unknown (no heart rate or RR from the frames)")
    times = uniform_frame_times(recording.n_frames, NOMINAL_FRAME_RATE_HZ[recording.modality])
    return replace(recording, frame_times_s=times, frame_times_nominal=True,
                   reader_notes=(*recording.reader_notes, note))


def checked_body_size(recording: Recording) -> Recording:
    """The recording as read, or without the height / weight outside HEIGHT_RANGE_CM / WEIGHT_RANGE_KG, and a
    note (DICOM's PatientSize is in metres: 1.75 is read as 175 cm, and 175, centimetres written as metres, is
    not used)."""
    patient = recording.patient
    sizes = ((patient.height_cm, HEIGHT_RANGE_CM, "height", "cm"), (patient.weight_kg, WEIGHT_RANGE_KG, "weight", "kg"))
    notes = [f"the file's patient {what} ({value:g} {unit}) is not plausible ({low:g}-{high:g} {unit}): not used, "
             "so no BSA from it (enter the patient's height and weight)"
             for value, (low, high), what, unit in sizes if not _within(value, (low, high))]
    if not notes:
        return recording
    kept = replace(patient, height_cm=patient.height_cm if _within(patient.height_cm, HEIGHT_RANGE_CM) else None,
                   weight_kg=patient.weight_kg if _within(patient.weight_kg, WEIGHT_RANGE_KG) else None)
    return replace(recording, patient=kept, reader_notes=(*recording.reader_notes, *notes))


def _within(value: float | None, bounds: tuple[float, float]) -> bool:
    """True for an unknown value (nothing to set aside) or one within bounds."""
    return value is None or bounds[0] <= value <= bounds[1]
