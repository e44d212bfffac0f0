"""Recordings stored one file per phase, joined into one recording of those phases.

Archives and public sets keep the phases experts contour as separate images: CAMUS's `patient0001_4CH_ED` and
`_4CH_ES` (one echo frame each, per view), ACDC's `patient001_frame01.nii.gz` and `_frame12.nii.gz` (one
short-axis stack each). Analyzed one by one, each is one still frame or one phase: contours and a volume, no
EF. Given together (`analyze ED ES`, or the viewer's Analysis > Join one-phase recordings), the two one-phase
recordings of one view and one geometry are joined, in the order given, into one recording of both phases:
a 2-frame echo pair or a two-phase stack, whose analysis takes ED = the larger LV and ES = the smaller and
gives EDV/ESV/EF (app.analysis.edes_curve.pair_ed_es). Three or more of one view are not joined (which two
are ED and ES? and a 4-frame "clip" of still frames is no cycle): each is analyzed alone, with a line why.
CAMUS's four files of a patient become an A4C pair and an A2C pair: a biplane study. Their timing is unknown:
nominal, so no heart rate comes from it; the notes name the files.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from app.data.recording import Recording, uniform_frame_times

JOINED_PREFIX = "phases of "  # series_description of a joined recording, then the files' names
NOMINAL_RATE_HZ = 25.0  # frame_times_nominal: no heart rate comes from it
SPACING_TOLERANCE = 0.01  # relative: the same grid written twice, not two acquisitions' rounding


def is_one_phase(rec: Recording) -> bool:
    """One echo frame (a still image) or one short-axis MRI stack of one phase."""
    if rec.n_frames != 1:
        return False
    return (rec.modality == "mri" and rec.is_stack) or (rec.modality == "echo" and not rec.is_stack)


def is_joined(rec: Recording) -> bool:
    """A recording join_phases made from one file per phase."""
    return rec.series_description.startswith(JOINED_PREFIX)


def joined_note(rec: Recording) -> tuple[str, ...]:
    """The note naming the files a joined recording was made of (none for any other recording)."""
    if not is_joined(rec):
        return ()
    return (f"{rec.series_description[len(JOINED_PREFIX):]}: one file per phase, joined in this order",)


def join_groups(recordings: Sequence[Recording]) -> list[list[int]]:
    """Indices of the one-phase recordings grouped by modality and view (two or more per group, in the order
    given; groups in the order of their first recording). A group joins when phase_join_problem finds nothing:
    two of them, of one geometry."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, rec in enumerate(recordings):
        if is_one_phase(rec):
            groups.setdefault((rec.modality, rec.view), []).append(i)
    return [g for g in groups.values() if len(g) >= 2]


def phase_join_problem(recordings: Sequence[Recording]) -> str:
    """Why one-phase recordings are not the ED/ES phases of one recording ("" when they are): not two of them,
    or modality, view, slices, image size, pixel size, slice spacing or calibration differ."""
    if len(recordings) != 2:
        return f"{len(recordings)} of one view, where an ED/ES pair is two"
    first = recordings[0]
    for rec in recordings[1:]:
        if (rec.modality, rec.view) != (first.modality, first.view):
            return f"{first.modality} {first.view} against {rec.modality} {rec.view}"
        if rec.n_slices != first.n_slices:
            return f"{first.n_slices} slices against {rec.n_slices}"
        if rec.image_shape != first.image_shape:
            return (f"images of {first.image_shape[0]} x {first.image_shape[1]} px against "
                    f"{rec.image_shape[0]} x {rec.image_shape[1]}")
        if rec.calibrated != first.calibrated or not _close(rec.spacing_mm, first.spacing_mm):
            return "different pixel sizes"
        step, first_step = rec.slice_spacing_mm, first.slice_spacing_mm
        if (step is None) != (first_step is None) or (
                step is not None and first_step is not None and not _close((step,), (first_step,))):
            return "different slice spacings"
    return ""


def join_phases(recordings: Sequence[Recording]) -> Recording:
    """One recording of the two one-phase recordings given, in their order: (2, H, W) echo frames or an
    (S, 2, H, W) stack (ValueError when they are not one-phase, or phase_join_problem says they are no pair).
    The first one's patient, pixel and slice spacing and path; nominal frame times; for echo the union of
    the sector masks."""
    if not all(is_one_phase(r) for r in recordings):
        raise ValueError("join_phases needs one-phase recordings (still echo frames or single-phase stacks)")
    problem = phase_join_problem(recordings)
    if problem:
        raise ValueError(f"the recordings are not phases of one series: {problem}")
    dtype = np.result_type(*(r.frames.dtype for r in recordings))
    frames = np.concatenate([r.frames.astype(dtype, copy=False) for r in recordings], axis=-3)
    masks = [r.sector_mask for r in recordings]
    present = [m for m in masks if m is not None]
    sector = np.logical_or.reduce(present) if len(present) == len(masks) else recordings[0].sector_mask
    mode = next((r.image_mode for r in recordings if r.image_mode != "2D"), "2D")
    names = ", ".join(r.source_path.name if r.source_path else r.series_description or "?" for r in recordings)
    return replace(recordings[0], frames=frames, frame_times_s=uniform_frame_times(len(recordings), NOMINAL_RATE_HZ),
                   frame_times_nominal=True, heart_rate_bpm=None, sector_mask=sector, ecg=None,
                   series_description=f"{JOINED_PREFIX}{names}", image_mode=mode, display_rgb=None)


def judged_groups(recordings: Sequence[Recording]) -> list[tuple[list[int], str]]:
    """Each of the join_groups with its phase_join_problem ("" for one that joins)."""
    return [(group, phase_join_problem([recordings[i] for i in group])) for group in join_groups(recordings)]


def joinable_groups(recordings: Sequence[Recording]) -> tuple[list[list[int]], list[str]]:
    """(the join_groups that join, the phase_join_problem of each one that does not)."""
    judged = judged_groups(recordings)
    return [group for group, problem in judged if not problem], [problem for _, problem in judged if problem]


def join_where_possible(recordings: Sequence[Recording]) -> tuple[list[Recording], list[list[int]], list[str]]:
    """(recordings after joining, the index groups of the input each output recording comes from, one line per
    group that could not be joined saying why). Output order: each group at its first recording's place. The
    recordings of a group that could not be joined carry that line as a reader note: analyzed alone, each one's
    report and JSON say why it has no EDV/ESV/EF of its own, as the terminal does."""
    judged = judged_groups(recordings)
    lines = [(group, f"one phase per file, but not phases of one series ({why}): each is analyzed alone")
             for group, why in judged if why]
    problems = {i: line for group, line in lines for i in group}
    joined_at = {group[0]: group for group, why in judged if not why}
    members = {i for group, why in judged if not why for i in group}
    out, sources = [], []
    for i, rec in enumerate(recordings):
        if i in joined_at:
            out.append(join_phases([recordings[j] for j in joined_at[i]]))
            sources.append(joined_at[i])
        elif i not in members:
            note = problems.get(i)
            out.append(replace(rec, reader_notes=(*rec.reader_notes, note)) if note else rec)
            sources.append([i])
    return out, sources, [line for _, line in lines]


def _close(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(abs(float(x) - float(y)) <= SPACING_TOLERANCE * max(abs(float(x)), abs(float(y)), 1e-9)
               for x, y in zip(a, b, strict=False))
