"""Qt-free edit commands on a StudyState, each with `apply` and `revert` (the UI wraps them in QUndoStack).

A contour correction on one frame can be propagated to neighbouring frames along the tissue motion
(app/workflow/propagate.py); the edited frame and every frame it reached form one undo step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.data.recording import Recording
from app.workflow.propagate import PropagationRange
from app.workflow.recording_state import AnalysisSnapshot, ContourKey, EditsSince, RecordingState
from app.workflow.results import RecordingAnalysis
from app.workflow.splines import ControlContour
from app.workflow.study import StudyState
from app.workflow.study_analysis import ViewerAnalysis


class EditCommand:
    """Base: subclasses set `text` and implement apply/revert against the study they were built for."""

    text = "edit"

    def apply(self, study: StudyState) -> None:
        raise NotImplementedError

    def revert(self, study: StudyState) -> None:
        raise NotImplementedError


@dataclass
class ContourEdit(EditCommand):
    """Replace one contour (move/add/remove points, redraw, delete), optionally propagated over `span`
    frames around it: those frames are marked edited (propagated); frames corrected by hand stop it."""

    index: int
    key: ContourKey
    kind: str
    new: ControlContour | None
    old: ControlContour | None
    span: PropagationRange | None = None
    text: str = "edit contour"
    measure_later: bool = False  # the first apply leaves the remeasurement to add_propagation / the runner
    _changes: dict[tuple[ContourKey, str], ControlContour | None] = field(default_factory=dict, repr=False)
    _previous: dict[tuple[ContourKey, str], ControlContour | None] = field(default_factory=dict, repr=False)
    _previously_edited: set[ContourKey] = field(default_factory=set, repr=False)
    _previously_propagated: set[ContourKey] = field(default_factory=set, repr=False)

    def _plan(self, study: StudyState) -> None:
        st = study[self.index]
        changes: dict[tuple[ContourKey, str], ControlContour | None] = {(self.key, self.kind): self.new}
        if self.span is not None and self.new is not None and self.old is not None:
            changes.update(propagation_changes(st.recording, self.key, self.kind, self.old, self.new, self.span,
                                               neighbour_contours(st, self.key, self.kind, self.span)))
        self._remember(st, changes)

    def _remember(self, st: RecordingState, changes: dict[tuple[ContourKey, str], ControlContour | None]) -> None:
        """Add changes to this command, keeping what they replace for the undo."""
        keys = {k for k, _ in changes}
        self._previous.update({ck: st.contour(ck[0], ck[1]) for ck in changes if ck not in self._changes})
        self._previously_edited |= keys & st.edited_keys
        self._previously_propagated |= keys & st.propagated_keys
        self._changes.update(changes)

    def apply(self, study: StudyState) -> None:
        if not self._changes:
            self._plan(study)
        keys = {k for k, _ in self._changes}
        later, self.measure_later = self.measure_later, False  # a redo remeasures at once
        study.set_contours(self.index, self._changes, edited_keys=keys, propagated_keys=keys - {self.key},
                           remeasure=not later)

    def add_propagation(self, study: StudyState, changes: dict[tuple[ContourKey, str], ControlContour | None]) -> None:
        """Apply a propagation computed elsewhere (a worker) as part of this applied edit: one undo step
        (remeasured here, also when the propagation reached no frame)."""
        changes = {ck: c for ck, c in changes.items() if ck[0] != self.key}
        if not changes:
            study.remeasure(self.index)
            return
        self._remember(study[self.index], changes)
        keys = {k for k, _ in changes}
        study.set_contours(self.index, changes, edited_keys=keys, propagated_keys=keys)

    def revert(self, study: StudyState) -> None:
        keys = {k for k, _ in self._changes}
        study.set_contours(self.index, self._previous, remove_edited=keys - self._previously_edited,
                           propagated_keys=self._previously_propagated)

    @property
    def changed_keys(self) -> list[ContourKey]:
        return sorted({k for k, _ in self._changes})

    @property
    def propagated_frames(self) -> list[int]:
        return sorted(k[1] for k, _ in self._changes if k != self.key)


def neighbour_contours(st: RecordingState, key: ContourKey, kind: str, span: PropagationRange
                       ) -> dict[int, ControlContour | None]:
    """The frames' contours of `kind` a propagation over `span` around `key` may change (taken on the GUI
    thread, so a worker can use them); None where it must stop: no contour, or a correction by hand."""
    slice_index, frame = key
    first = max(frame - span.before, 0)
    last = min(frame + span.after, st.recording.n_frames - 1)
    out: dict[int, ControlContour | None] = {}
    for f in range(first, last + 1):
        k = (slice_index, f)
        hand_edited = k in st.edited_keys and k not in st.propagated_keys
        out[f] = None if hand_edited or f == frame else st.contour(k, kind)
    return out


def propagation_changes(recording: Recording, key: ContourKey, kind: str, old: ControlContour, new: ControlContour,
                        span: PropagationRange, neighbours: dict[int, ControlContour | None]
                        ) -> dict[tuple[ContourKey, str], ControlContour | None]:
    """{(key, kind): contour} of the frames a correction reaches (app/workflow/propagate.py)."""
    from app.workflow.propagate import propagate_in_recording

    slice_index, frame = key
    out = propagate_in_recording(recording, slice_index, frame, old, new, neighbours.get, span)
    return {((slice_index, f), kind): c for f, c in out.items()}


@dataclass
class EdEsEdit(EditCommand):
    """Set the ED and ES frames (moving a marker, or marking the current frame)."""

    index: int
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    text: str = "move ED/ES"
    _old: tuple[tuple[int, ...], tuple[int, ...], tuple[bool, bool, bool]] | None = field(default=None, repr=False)

    def apply(self, study: StudyState) -> None:
        st = study[self.index]
        if self._old is None:
            self._old = (st.ed_frames, st.es_frames, (st.ed_edited, st.es_edited, st.cycles_edited))
        study.set_edes(self.index, self.ed_frames, self.es_frames, edited=True)

    def revert(self, study: StudyState) -> None:
        assert self._old is not None  # apply ran first
        ed, es, was_edited = self._old
        study.set_edes(self.index, ed, es, edited=was_edited)


@dataclass
class AnalysisEdit(EditCommand):
    """Take a new analysis of a recording, keeping its hand edits (keep_edits) or replacing them; undoable."""

    index: int
    analysis: RecordingAnalysis | ViewerAnalysis
    keep_edits: bool = True
    text: str = "analyze recording"
    made_while_running: EditsSince | None = None  # kept even when replacing (StudyState.set_analysis)
    _old: AnalysisSnapshot | None = field(default=None, repr=False)

    def apply(self, study: StudyState) -> None:
        if self._old is None:
            self._old = study.snapshot(self.index)
        study.set_analysis(self.index, self.analysis, keep_edits=self.keep_edits,
                           made_while_running=self.made_while_running)

    def revert(self, study: StudyState) -> None:
        assert self._old is not None  # apply ran first
        study.restore_snapshot(self.index, self._old)


@dataclass
class ViewEdit(EditCommand):
    index: int
    view: str
    text: str = "set view"
    _old: tuple[str, bool] | None = field(default=None, repr=False)

    def apply(self, study: StudyState) -> None:
        st = study[self.index]
        if self._old is None:
            self._old = (st.recording.view, st.view_edited)
        study.set_view(self.index, self.view, edited=True)

    def revert(self, study: StudyState) -> None:
        assert self._old is not None  # apply ran first
        view, was_edited = self._old
        study.set_view(self.index, view, edited=was_edited)


@dataclass
class CalibrationEdit(EditCommand):
    """Set the pixel size (None restores the file's own)."""

    index: int
    spacing_mm: tuple[float, float] | None
    text: str = "calibrate"
    _old: tuple[tuple[float, float] | None] | None = field(default=None, repr=False)

    def apply(self, study: StudyState) -> None:
        st = study[self.index]
        if self._old is None:
            self._old = (st.recording.spacing_mm if st.calibration_edited else None,)
        study.set_calibration(self.index, self.spacing_mm)

    def revert(self, study: StudyState) -> None:
        assert self._old is not None  # apply ran first
        study.set_calibration(self.index, self._old[0])


def spacing_from_line(p0_px: tuple[float, float], p1_px: tuple[float, float], length_mm: float,
                      aspect: float = 1.0) -> tuple[float, float]:
    """(row, col) pixel size in mm from a line of known length drawn between two (x, y) pixel points.

    `aspect` is row/col pixel size (1 for square pixels, the usual case for scan-converted echo).
    """
    dx = float(p1_px[0] - p0_px[0])
    dy = float(p1_px[1] - p0_px[1])
    if not (length_mm > 0 and math.isfinite(length_mm)):
        raise ValueError("the known length must be a positive number of millimetres")
    length_units = math.hypot(dx, dy * aspect)  # in column-pixel units
    if length_units < 2.0:
        raise ValueError("draw a line at least a few pixels long")
    col_mm = length_mm / length_units
    return (col_mm * aspect, col_mm)

