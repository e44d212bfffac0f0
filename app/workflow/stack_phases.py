"""Short-axis MRI stacks that are not a whole cine cycle: an ED/ES pair of phases, or one phase.

Many archives and public sets (ACDC, M&Ms) store a study as the two phases experts contour: a 4D NIfTI with
two time points, or two DICOM phases per slice. Two phases are not a cycle: there is no curve to find
extrema on, no ED/ES model to run and no heart rate. ED is the phase with the larger LV blood-pool volume
(slice summation), ES the other (app.analysis.edes_curve.pair_ed_es); EDV, ESV, SV, EF and the myocardial mass at ED
follow as for a cine stack. The RV uses the same two phases (app.workflow.rv_measure).

One phase (a 3D NIfTI of short-axis slices): that phase's LV and RV volumes and myocardial mass
(`phase_volume_ml`), no EF.

Phases stored one file each (ACDC's frameED / frameES files) are joined into one stack by
app.workflow.phase_files.
"""

from __future__ import annotations

import numpy as np

from app.data.recording import Recording

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
    """What the user needs to know about a one- or two-phase stack."""
    if is_phase_pair(rec):
        return ("two phases (an ED/ES pair, not a cycle): no heart rate",)
    if not is_single_phase(rec):
        return ()
    parts = []
    if volume_ml is not None and np.isfinite(volume_ml[0]):
        parts.append(f"LV volume {float(volume_ml[0]):.1f} ml")
    if rv_volume_ml is not None and np.isfinite(rv_volume_ml[0]):
        parts.append(f"RV volume {float(rv_volume_ml[0]):.1f} ml")
    found = f" ({', '.join(parts)})" if parts else ""
    return (f"one phase{found}: no EDV/ESV/EF (open a stack with the ED and ES phases, or the whole cine)",)
