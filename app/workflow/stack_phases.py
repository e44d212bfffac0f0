"""Short-axis MRI stacks that are not a whole cine cycle: an ED/ES pair of phases, or one phase.

Many archives and public sets (ACDC, M&Ms) store a study as the two phases experts contour: a 4D NIfTI with
two time points, or two DICOM phases per slice. Two phases are not a cycle: there is no curve to find
extrema on, no ED/ES model to run and no heart rate. ED is the phase with the larger LV blood-pool volume
(slice summation), ES the other (app.analysis.edes_curve.pair_ed_es); EDV, ESV, SV, EF and the myocardial mass at ED follow
as for a cine stack. The RV uses the same two phases (app.workflow.rv_measure).

One phase (a 3D NIfTI of short-axis slices): that phase's LV and RV volumes and myocardial mass
(`phase_volume_ml`), no EF.

Phases stored one file each (ACDC's `patientNNN_frame01.nii.gz` and `_frame12.nii.gz`, a PACS export of one
series per phase): `join_phases` stacks single-phase stacks of one geometry into one recording of those
phases, in the order given, so `analyze ed.nii.gz es.nii.gz` gives the pair's EDV/ESV/EF like a 4D file
(`phase_join_problem` says why stacks cannot be joined). Their timing is unknown: nominal, no heart rate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from app.data.recording import Recording, uniform_frame_times

JOINED_PHASES_RATE_HZ = 25.0  # nominal: frame_times_nominal, so no heart rate comes from it
JOINED_PREFIX = "phases of "  # series_description of a join_phases stack, then the files' names
SPACING_TOLERANCE = 0.01  # relative: the same grid written twice, not two acquisitions' rounding
PHASE_PAIR_REASON = "an ED/ES pair of phases: ED is the phase with the larger LV volume, ES the other"
SINGLE_PHASE_REASON = "one phase: no ED/ES"


def is_phase_pair(rec: Recording) -> bool:
    """A short-axis MRI stack of exactly two phases (taken as ED and ES, in either order)."""
    return rec.is_stack and rec.modality == "mri" and rec.n_frames == 2


def is_single_phase(rec: Recording) -> bool:
    """A short-axis MRI stack of one phase (a 3D volume of slices)."""
    return rec.is_stack and rec.modality == "mri" and rec.n_frames == 1


def is_partial_cycle(rec: Recording) -> bool:
    """One or two phases: not a cine cycle (no curve extrema, ED/ES model or heart rate)."""
    return is_phase_pair(rec) or is_single_phase(rec)


def partial_cycle_notes(rec: Recording, volume_ml: np.ndarray | None, rv_volume_ml: np.ndarray | None
                        ) -> tuple[str, ...]:
    """What the user needs to know about a one- or two-phase stack, or a stack joined from files."""
    joined = (f"{rec.series_description[len(JOINED_PREFIX):]}: one file per phase, analysed as one stack",
              ) if is_joined(rec) else ()
    if is_phase_pair(rec):
        return ("two phases (an ED/ES pair, not a cycle): no heart rate", *joined)
    if not is_single_phase(rec):
        return joined  # a cine of phases joined from files, or a cine
    parts = []
    if volume_ml is not None and np.isfinite(volume_ml[0]):
        parts.append(f"LV volume {float(volume_ml[0]):.1f} ml")
    if rv_volume_ml is not None and np.isfinite(rv_volume_ml[0]):
        parts.append(f"RV volume {float(rv_volume_ml[0]):.1f} ml")
    found = f" ({', '.join(parts)})" if parts else ""
    return (f"one phase{found}: no EDV/ESV/EF (open a stack with the ED and ES phases, or the whole cine)",)


def is_joined(rec: Recording) -> bool:
    """A stack join_phases made from one file per phase."""
    return rec.series_description.startswith(JOINED_PREFIX)


def are_single_phases(recordings: Sequence[Recording]) -> bool:
    """Two or more recordings, each a short-axis MRI stack of one phase."""
    return len(recordings) >= 2 and all(is_single_phase(r) for r in recordings)


def phase_join_problem(recordings: Sequence[Recording]) -> str:
    """Why single-phase stacks are not phases of one stack ("" when they are): slices, image size, pixel size,
    slice spacing or calibration differ."""
    first = recordings[0]
    for rec in recordings[1:]:
        if rec.n_slices != first.n_slices:
            return f"{first.n_slices} slices against {rec.n_slices}"
        if rec.image_shape != first.image_shape:
            return f"images of {first.image_shape[0]} x {first.image_shape[1]} px against {rec.image_shape[0]} x {rec.image_shape[1]}"
        if rec.calibrated != first.calibrated or not _close(rec.spacing_mm, first.spacing_mm):
            return "different pixel sizes"
        if (rec.slice_spacing_mm is None) != (first.slice_spacing_mm is None) or (
                rec.slice_spacing_mm is not None and not _close((rec.slice_spacing_mm,), (first.slice_spacing_mm,))):
            return "different slice spacings"
    return ""


def join_phases(recordings: Sequence[Recording]) -> Recording:
    """One stack (S, P, H, W) of the P single-phase stacks given, in their order (ValueError when they are
    not single-phase stacks of one geometry: phase_join_problem). The first one's patient, pixel and slice
    spacing and path; nominal frame times."""
    if not are_single_phases(recordings):
        raise ValueError("join_phases needs two or more single-phase short-axis stacks")
    problem = phase_join_problem(recordings)
    if problem:
        raise ValueError(f"the stacks are not phases of one series: {problem}")
    dtype = np.result_type(*(r.frames.dtype for r in recordings))
    frames = np.concatenate([r.frames.astype(dtype, copy=False) for r in recordings], axis=1)
    names = ", ".join(r.source_path.name if r.source_path else r.series_description or "?" for r in recordings)
    first = recordings[0]
    return replace(first, frames=frames, frame_times_s=uniform_frame_times(len(recordings), JOINED_PHASES_RATE_HZ),
                   frame_times_nominal=True, heart_rate_bpm=None, series_description=f"{JOINED_PREFIX}{names}")


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(abs(float(x) - float(y)) <= SPACING_TOLERANCE * max(abs(float(x)), abs(float(y)), 1e-9)
               for x, y in zip(a, b))
