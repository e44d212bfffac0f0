"""The Qt-free study model the viewer shows and edits (napari style: Qt views subscribe to `events`).

A study holds several recordings of one patient (e.g. A4C + A2C, or a short-axis stack). For each:
the recording (view and calibration as currently set), the editable control-point contours per
(slice, frame), ED/ES frames, model confidence and flagged frames, what was edited by hand, and the
measurements recomputed after every change (each recording's state: app/workflow/recording_state.py).
`to_json`/`restore_json` (de)serialise one recording's state for the autosave (app/workflow/study_json.py,
app/workflow/autosave.py). Edits with undo live in app/workflow/edits.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from app.analysis.strain import StrainResult
from app.data.recording import VIEWS, Recording
from app.workflow.events import StudyEvents
from app.workflow.recording_state import (
    KINDS,
    AnalysisSnapshot,
    ContourKey,
    EditsSince,
    RecordingState,
    measured_cycles,
)
from app.workflow.reopen import measure_into, restore_into
from app.workflow.results import Measurements, RecordingAnalysis
from app.workflow.sent_results import SentResults
from app.workflow.splines import ControlContour
from app.workflow.study_analysis import ViewerAnalysis, compose_viewer_study, default_measure
from app.workflow.study_json import RestoredExtras, state_document, state_to_json

if TYPE_CHECKING:  # study_result imports this module
    from app.workflow.la_volume import LaVolume
    from app.workflow.study_result import StudyGls, StudyResult

MeasureFn = Callable[[RecordingState], "Measurements | None"]


class StudyState:
    """Recordings of one study plus every edit; emits StudyEvents on each change."""

    def __init__(self, measure_fn: MeasureFn | None = None,
                 biplane_fn: Callable[[StudyState], StudyResult] | None = compose_viewer_study) -> None:
        self.recordings: list[RecordingState] = []
        self.events = StudyEvents()
        self.measure_fn: MeasureFn = measure_fn or default_measure
        self.biplane_fn = biplane_fn  # -> StudyResult; None: no study-level values (tests with a toy measure)
        self.result: StudyResult | None = None  # biplane, LA volume, the view pair (app.workflow.study_result)
        self.conclusion = ""  # the reviewer's conclusion for the report (Report > Comment / Conclusion)
        self.reviewer = ""  # named: the report is signed; else it is preliminary
        self.sent: tuple[SentResults, ...] = ()  # results series sent to a PACS, oldest first

    def __len__(self) -> int:
        return len(self.recordings)

    def __getitem__(self, index: int) -> RecordingState:
        return self.recordings[index]

    # -- recordings and analyses ------------------------------------------------------------
    def add_recording(self, recording: Recording) -> int:
        return self.add_restored(RecordingState(recording=recording, original=recording), None)

    def remove_recording(self, index: int) -> RecordingState:
        """Close a recording: take it out of the study (its autosaved state stays in the user data folder).
        Later recordings move up one index; no event fires (the window rebuilds its list)."""
        st = self.recordings.pop(index)
        self._compose()
        return st

    def index_of_path(self, path: str | Path) -> int | None:
        for i, st in enumerate(self.recordings):
            if st.recording.source_path is not None and str(st.recording.source_path) == str(path):
                return i
        return None

    def save_key(self, index: int) -> str:
        """The autosave key of a recording (a hash of its pixels, computed once)."""
        st = self.recordings[index]
        if not st.content_key:
            from app.workflow.autosave import content_key

            st.content_key = content_key(st.original)
        return st.content_key

    def set_analysis(self, index: int, analysis: RecordingAnalysis | ViewerAnalysis, keep_edits: bool = False,
                     made_while_running: EditsSince | None = None) -> None:
        """Take an analysis (app.workflow.analyze; a ViewerAnalysis brings its control contours): its contours
        become control points and its measurements are the recording's (measured once, in the analysis).
        With keep_edits the contours of frames edited by hand and hand-set ED/ES stay (the analysis fills in
        the rest, then the recording is measured again; marks set while the first analysis ran take their beats'
        place among its marks); without, the analysis replaces every edit made before it ran, and those
        made_while_running stay (the choice to replace was about the earlier ones); undo through
        `snapshot`/`restore_snapshot`."""
        from app.workflow.contour_adapter import control_contours_from_analysis, made_frames

        controls = None
        if isinstance(analysis, ViewerAnalysis):
            controls = analysis.controls
            analysis = analysis.analysis
        st = self.recordings[index]
        contours = {k: dict(d) for k, d in (controls or control_contours_from_analysis(analysis)).items()}
        ed_es = (tuple(analysis.measurements.ed_frames), tuple(analysis.measurements.es_frames))
        during = made_while_running or EditsSince()
        kept_keys = {k for k in st.edited_keys if k in st.contours} if keep_edits else set(during.contour_keys)
        if keep_edits and st.analyzed:  # a re-analysis keeping the corrections: the marks as the user left them
            kept_ed, kept_es, kept_cycles = st.ed_edited, st.es_edited, st.cycles_edited
            ed_frames = st.ed_frames if kept_ed else ed_es[0]
            es_frames = st.es_frames if kept_es else ed_es[1]
        else:  # marks set while it ran (on the first analysis, all of them) take their beats' places among its own
            from app.workflow.marks import with_hand_marks

            hand_ed = (st.ed_frames if st.ed_edited else ()) if keep_edits else during.ed_frames
            hand_es = (st.es_frames if st.es_edited else ()) if keep_edits else during.es_frames
            ed_frames, es_frames = with_hand_marks(*ed_es, hand_ed, hand_es)
            kept_ed, kept_es, kept_cycles = bool(hand_ed), bool(hand_es), False
        kept_edes = kept_ed or kept_es
        for key in kept_keys:
            contours[key] = dict(st.contours[key])
        st.analysis = analysis
        st.made = {k: m for k, m in made_frames(analysis, contours).items() if k not in kept_keys}
        st.contours = contours
        st.ed_frames, st.es_frames = ed_frames, es_frames
        conf = analysis.confidence
        st.confidence = None if conf is None else np.asarray(conf, dtype=np.float64)
        st.flagged_frames = tuple(int(f) for f in analysis.flagged_frames)
        st.strain = analysis.strain
        st.analyzed = True
        st.edited_keys = kept_keys
        st.propagated_keys &= kept_keys
        st.ed_edited, st.es_edited, st.cycles_edited = kept_ed, kept_es, kept_cycles
        measured_once = (not (kept_keys or kept_edes or st.excluded_slices) and self.measure_fn is default_measure
                         and isinstance(analysis, RecordingAnalysis)
                         and analysis.recording.view == st.recording.view)  # (a view set while it ran: measure)
        self.remeasure(index, precomputed=analysis.measurements if measured_once else None)
        self.events.analysis_changed.emit(index)  # measured first: listeners (the strain) read its beats
        self.events.modified.emit(index)

    def snapshot(self, index: int) -> AnalysisSnapshot:
        """What an analysis replaces, to put back on undo."""
        st = self.recordings[index]
        return AnalysisSnapshot(st.analysis, {k: dict(d) for k, d in st.contours.items()},
                                dict(st.made), st.ed_frames,
                                st.es_frames, st.confidence, st.flagged_frames, st.strain, st.analyzed,
                                frozenset(st.edited_keys), st.ed_edited, st.es_edited, frozenset(st.propagated_keys),
                                st.cycles_edited)

    def restore_snapshot(self, index: int, snap: AnalysisSnapshot) -> None:
        st = self.recordings[index]
        st.analysis, st.contours = snap.analysis, {k: dict(d) for k, d in snap.contours.items()}
        st.made = dict(snap.made)
        st.ed_frames, st.es_frames, st.confidence = snap.ed_frames, snap.es_frames, snap.confidence
        st.flagged_frames, st.strain, st.analyzed = snap.flagged_frames, snap.strain, snap.analyzed
        st.edited_keys, st.ed_edited, st.es_edited = set(snap.edited_keys), snap.ed_edited, snap.es_edited
        st.propagated_keys, st.cycles_edited = set(snap.propagated_keys), snap.cycles_edited
        self.remeasure(index)
        self.events.analysis_changed.emit(index)
        self.events.edes_changed.emit(index)
        self.events.modified.emit(index)

    # -- low-level setters used by edit commands (no undo here) -----------------------------
    def set_contour(self, index: int, key: ContourKey, kind: str, contour: ControlContour | None,
                    edited: bool = True) -> None:
        self.set_contours(index, {(key, kind): contour}, edited_keys={key} if edited else set())

    def set_contours(self, index: int, changes: dict[tuple[ContourKey, str], ControlContour | None],
                     edited_keys: set[ContourKey] | None = None, remove_edited: set[ContourKey] | None = None,
                     propagated_keys: set[ContourKey] | None = None, remeasure: bool = True) -> None:
        """Apply several contour changes at once ((key, kind) -> contour or None to delete). Keys in
        edited_keys become hand-edited, those also in propagated_keys edited by propagation. remeasure=False:
        the caller remeasures soon (a correction whose propagation follows: one remeasurement for both)."""
        st = self.recordings[index]
        for (key, kind), contour in changes.items():
            if kind not in KINDS:
                raise ValueError(f"unknown contour kind {kind!r}")
            frame_dict = st.contours.setdefault(key, {})
            if contour is None:
                frame_dict.pop(kind, None)
            else:
                frame_dict[kind] = contour
        st.edited_keys |= edited_keys or set()
        st.edited_keys -= remove_edited or set()
        by_hand = (edited_keys or set()) - (propagated_keys or set())
        st.propagated_keys = ((st.propagated_keys - by_hand) | (propagated_keys or set())) & st.edited_keys
        self.events.contours_changed.emit(index, sorted({k for k, _ in changes}))
        if remeasure:
            self.remeasure(index)
        self.events.modified.emit(index)

    def set_edes(self, index: int, ed_frames: Iterable[int], es_frames: Iterable[int],
                 edited: bool | tuple[bool, bool, bool] = True) -> None:
        """Set the ED and ES frames. edited=True marks the kind(s) that changed as set by hand (moving ES within
        its beat leaves EDV and heart rate automatic; adding or removing one changes the cycles measured, and
        so marks them); an (ed_edited, es_edited, cycles_edited) triple sets the marks exactly (undo); False
        clears them."""
        st = self.recordings[index]
        n = st.recording.n_frames
        ed = tuple(sorted({int(f) for f in ed_frames}))
        es = tuple(sorted({int(f) for f in es_frames}))
        if any(not 0 <= f < n for f in ed + es):
            raise ValueError(f"ED/ES frames must lie in 0..{n - 1}")
        if edited is True:
            cycles = measured_cycles(ed, es) != measured_cycles(st.ed_frames, st.es_frames)
            marks = (st.ed_edited or ed != st.ed_frames, st.es_edited or es != st.es_frames,
                     st.cycles_edited or cycles)
        elif edited is False:
            marks = (False, False, False)
        else:
            marks = (bool(edited[0]), bool(edited[1]), bool(edited[2]))
        st.ed_frames, st.es_frames = ed, es
        st.ed_edited, st.es_edited, st.cycles_edited = marks
        self.remeasure(index)
        self.events.edes_changed.emit(index)  # measured first: the strain tracks the beats the marks make
        self.events.modified.emit(index)

    def set_strain(self, index: int, strain: StrainResult | None) -> None:
        """Take a strain result re-tracked on the current contours (app/workflow/retrack.py); one that is no GLS
        to report (tracking poor in more than two segments, an edit made it implausible, the ED/ES now hold no
        systole, damaged frames inside one) keeps its curves and says why (app.analysis.strain.judged_strain)."""
        from app.analysis.strain import judged_strain
        from app.workflow.strain_step import no_gls_reason

        st = self.recordings[index]
        # judged on the beats of the ED/ES it was tracked over (another measure function has none)
        reason = no_gls_reason(st.recording, st.measurements) if isinstance(st.measurements, Measurements) else ""
        st.strain = judged_strain(strain, bool(st.edited_keys) or st.edes_edited, reason)
        self._compose()  # the study's GLS (its mean of the apical views) takes it too
        self.events.measurements_changed.emit(index)
        self.events.modified.emit(index)

    def set_view(self, index: int, view: str, edited: bool = True) -> None:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
        st = self.recordings[index]
        st.recording = st.recording.with_view(view)
        st.view_edited = edited
        self.events.view_changed.emit(index)
        self.remeasure(index)
        self.events.modified.emit(index)

    def set_calibration(self, index: int, spacing_mm: tuple[float, float] | None) -> None:
        """Physical pixel size from a user calibration; None returns to the file's own spacing."""
        st = self.recordings[index]
        if spacing_mm is None:
            st.recording = _replace_spacing(st.recording, st.original)
            st.calibration_edited = False
        else:
            if min(spacing_mm) <= 0 or not np.all(np.isfinite(spacing_mm)):
                raise ValueError(f"pixel size must be positive, got {spacing_mm}")
            st.recording = st.recording.with_calibration(spacing_mm)
            st.calibration_edited = True
        self.events.calibration_changed.emit(index)
        self.remeasure(index)
        self.events.modified.emit(index)

    def set_body_size(self, index: int, height_cm: float | None, weight_kg: float | None) -> None:
        """The patient's height and weight (typed in; None = unknown) for values indexed to body surface area."""
        from app.analysis.body_size import check_body_size

        if height_cm is not None and weight_kg is not None:
            check_body_size(height_cm, weight_kg)  # ValueError: one readable line
        st = self.recordings[index]
        patient = replace(st.recording.patient, height_cm=height_cm, weight_kg=weight_kg)
        st.recording = replace(st.recording, patient=patient)
        self.remeasure(index)  # the measurements panel and report read the indexed values from the patient
        self.events.modified.emit(index)

    def set_sex(self, index: int, sex: str) -> None:
        """The patient's sex as typed in ('M', 'F' or '' for unknown): the sex-specific normal ranges follow."""
        sex = (sex or "").upper()[:1]
        if sex not in ("M", "F", ""):
            raise ValueError(f"sex must be M, F or unknown, got {sex!r}")
        st = self.recordings[index]
        st.recording = replace(st.recording, patient=replace(st.recording.patient, sex=sex))
        self.remeasure(index)
        self.events.modified.emit(index)

    def set_excluded_slices(self, index: int, slices: Iterable[int]) -> None:
        """Leave these slices of a stack out of the volumes and the mass (an empty set: use every slice)."""
        st = self.recordings[index]
        excluded = frozenset(int(s) for s in slices)
        if any(not 0 <= s < st.recording.n_slices for s in excluded):
            raise ValueError(f"slices must lie in 0..{st.recording.n_slices - 1}")
        st.excluded_slices = excluded
        self.remeasure(index)
        self.events.modified.emit(index)

    def remeasure(self, index: int, precomputed: Measurements | None = None) -> None:
        """Recompute the measurements (or take `precomputed`, measured by a worker on the same state)."""
        st = self.recordings[index]
        measure_into(st, (lambda _: precomputed) if precomputed is not None else self.measure_fn)
        self._compose()
        self.events.measurements_changed.emit(index)

    def _compose(self) -> None:
        """The study-level values again (app.workflow.study_result), after any recording's measurements."""
        try:
            self.result = self.biplane_fn(self) if self.biplane_fn is not None else None
        except Exception:  # noqa: BLE001 - study values are a bonus; the per-view values still show
            self.result = None

    @property
    def biplane(self) -> Measurements | None:
        return None if self.result is None else self.result.biplane

    @property
    def la(self) -> LaVolume | None:
        """The study's LA volume (app.workflow.la_volume.LaVolume) or None."""
        return None if self.result is None else self.result.la

    @property
    def gls(self) -> StudyGls | None:
        """The study's GLS per apical view and their mean (app.workflow.study_result.StudyGls) or None."""
        return None if self.result is None else self.result.gls

    def set_conclusion(self, conclusion: str, reviewer: str) -> None:
        """The report's conclusion and reviewer; saved with every recording of the study."""
        self.conclusion, self.reviewer = conclusion.strip(), reviewer.strip()
        for index in range(len(self.recordings)):
            self.events.modified.emit(index)

    def record_sent(self, sent: SentResults) -> None:
        """Results were stored on a PACS: the next send amends them. Saved with every recording."""
        self.sent = (*self.sent, sent)
        for index in range(len(self.recordings)):
            self.events.modified.emit(index)

    def biplane_for(self, index: int) -> Measurements | None:
        """The study's biplane result when recording `index` is one of the two it is made of, else None
        (a panel showing another recording must not show it as that recording's values)."""
        pair = self.result.pair if self.result is not None and self.biplane is not None else None
        if pair is None or index not in pair:
            return None
        return self.biplane

    # -- serialisation (app/workflow/study_json.py) ------------------------------------------------
    def to_json(self, index: int) -> dict[str, Any]:
        return state_to_json(self.recordings[index], self.save_key(index), self.conclusion, self.reviewer, self.sent)

    def document(self, index: int) -> dict[str, Any]:
        """to_json's state with the contours as the JSON text each keeps, made when written (json_pieces.Lazy):
        what the autosave writes."""
        return state_document(self.recordings[index], self.save_key(index), self.conclusion, self.reviewer, self.sent)

    def restore_json(self, index: int, data: dict[str, Any]) -> None:
        """Restore a recording's state saved by `to_json` (raises ValueError on a malformed file)."""
        self._restored(index, restore_into(self.recordings[index], data, self.measure_fn))

    def add_restored(self, state: RecordingState, extras: RestoredExtras | None) -> int:
        """Add a recording whose state is already restored and measured (app.workflow.reopen, run in the worker
        that read the file): its views are told as after restore_json."""
        self.recordings.append(state)
        index = len(self.recordings) - 1
        self.events.recording_added.emit(index)
        if extras is not None:
            self._restored(index, extras)
        return index

    def _restored(self, index: int, extras: RestoredExtras) -> None:
        if not self.conclusion and not self.reviewer:
            self.conclusion, self.reviewer = extras.conclusion, extras.reviewer
        self.sent = (*self.sent, *(s for s in extras.sent if s not in self.sent))
        self._compose()
        for signal in (self.events.analysis_changed, self.events.measurements_changed, self.events.view_changed,
                       self.events.calibration_changed, self.events.edes_changed):
            signal.emit(index)


def _replace_spacing(current: Recording, original: Recording) -> Recording:
    return replace(current, spacing_mm=original.spacing_mm, calibrated=original.calibrated)
