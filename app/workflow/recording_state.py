"""The mutable state of one recording in a study (what StudyState holds and edits) and the snapshot an undo
restores. Change it through app.workflow.study.StudyState, so its events fire."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.analysis.strain import StrainResult
from app.data.recording import Recording
from app.workflow.contour_adapter import MadeFrame
from app.workflow.results import Measurements, RecordingAnalysis
from app.workflow.saved_strain import SavedStrain
from app.workflow.splines import ControlContour

ContourKey = tuple[int, int]  # (slice index, frame index)
KINDS = ("endo", "epi", "la", "rv")  # rv: the right ventricle of short-axis MRI


@dataclass
class RecordingState:
    """Mutable state of one recording in the study. Change it through StudyState (so events fire)."""

    recording: Recording
    original: Recording
    contours: dict[ContourKey, dict[str, ControlContour]] = field(default_factory=dict)
    made: dict[ContourKey, MadeFrame] = field(default_factory=dict)  # frames as the analysis made them
    ed_frames: tuple[int, ...] = ()
    es_frames: tuple[int, ...] = ()
    confidence: np.ndarray | None = None  # (T,) model confidence 0..1
    flagged_frames: tuple[int, ...] = ()  # frames the models flagged (low confidence, temporal error)
    analysis: RecordingAnalysis | None = None  # the analysis (not serialised: labels are big)
    strain: StrainResult | SavedStrain | None = None  # SavedStrain after a restore
    measurements: Measurements | None = None  # app.workflow.results.Measurements
    measure_error: str = ""
    analyzed: bool = False
    edited_keys: set[ContourKey] = field(default_factory=set)
    propagated_keys: set[ContourKey] = field(default_factory=set)  # edited by propagating another frame's edit
    ed_edited: bool = False  # the ED frames were set by hand
    es_edited: bool = False  # the ES frames were set by hand
    # an ES mark added or removed by hand changed which cycles are measured: EDV and the heart rate (the measured
    # beats' means) then follow the edit too, though no ED mark moved
    cycles_edited: bool = False
    view_edited: bool = False
    calibration_edited: bool = False
    content_key: str = ""  # autosave key (app.workflow.autosave.content_key), computed on first use
    excluded_slices: frozenset[int] = frozenset()  # stack slices left out of the volumes and mass by hand

    @property
    def edes_edited(self) -> bool:
        """ED or ES frames set by hand."""
        return self.ed_edited or self.es_edited

    @property
    def name(self) -> str:
        src = self.recording.source_path
        return src.name if src else (self.recording.series_description or self.recording.view.upper())

    def contour(self, key: ContourKey, kind: str) -> ControlContour | None:
        return self.contours.get(key, {}).get(kind)

    def frames_with(self, kind: str, slice_index: int = 0) -> list[int]:
        return sorted(f for (s, f), d in self.contours.items() if s == slice_index and kind in d)

    @property
    def strain_retracked(self) -> bool:
        """The strain shown was tracked again on the edited contours or ED/ES (not the analysis' own); a reopened
        study knows it from its file."""
        if self.strain is None or not (self.edited_keys or self.edes_edited):
            return False
        return self.strain is not getattr(self.analysis, "strain", None) or bool(getattr(self.strain, "retracked",
                                                                                          False))

    def edited_values(self) -> frozenset[str]:
        """Names of measured values that depend on a manual edit."""
        names: set[str] = set()
        edited_frames = {f for _, f in self.edited_keys}
        es_moved = self._measured_es_edited()
        # what was edited, for the report's words: contours on ED or ES frames, the beats measured, slices left out
        inputs = {"ed_contours": bool(edited_frames & set(self.ed_frames)),
                  "es_contours": bool(edited_frames & set(self.es_frames)),
                  "cycles": self.cycles_edited, "excluded_slices": bool(self.excluded_slices)}
        names.update(name for name, edited in inputs.items() if edited)
        if self.ed_edited or self.cycles_edited or self.calibration_edited or inputs["ed_contours"]:
            names.add("edv_ml")
        if es_moved or self.calibration_edited or inputs["es_contours"]:
            names.add("esv_ml")
        if self.excluded_slices:
            names.update({"edv_ml", "esv_ml", "lv_mass_g"})
        if names & {"edv_ml", "esv_ml"}:
            names.add("sv_ml")
        if self.ed_edited or es_moved or any(inputs.values()):  # a calibration scales EDV and ESV alike
            names.add("ef_pct")
        if self.recording.modality == "echo" and (es_moved or self.calibration_edited or self.cycles_edited
                                                  or inputs["es_contours"]):
            names.add("la_volume_ml")  # traced on the LV's ES frames, in mm
        if self.recording.is_stack:  # an edit at ED/ES may be the RV's (edits are kept per frame, not per kind)
            names.update({f"rv_{n}" for n in ("edv_ml", "esv_ml", "sv_ml", "ef_pct") if n in names})
        if edited_frames:
            names.add("volume_curve_ml")
        if self.recording.modality == "echo" and (edited_frames or self.ed_edited or es_moved):
            names.add("gls_pct")  # tracked from the contours, its peak taken between ED and ES
        if self.ed_edited:
            names.update({"ed_frames", "heart_rate_bpm"})  # the heart rate is the ED-to-ED beat length
        if self.cycles_edited:
            names.add("heart_rate_bpm")  # of the beats measured, which the edit changed
        if self.es_edited:
            names.add("es_frames")
        if self.view_edited:
            names.add("view")
        if self.calibration_edited:
            names.add("calibration")
        return frozenset(names)

    def _measured_es_edited(self) -> bool:
        """The ES marks set by hand change what is measured: those inside a measured cycle differ from the
        analysis' own. An ES outside every cycle (before the first ED) changes no value and marks none edited,
        though its mark stays set by hand. Without the analysis' own marks (a reopened study) any ES edit counts."""
        own = getattr(self.analysis, "measurements", None)
        if not self.es_edited or own is None:
            return self.es_edited
        return in_measured_cycles(self.ed_frames, self.es_frames) != in_measured_cycles(own.ed_frames, own.es_frames)


@dataclass(frozen=True, eq=False)
class AnalysisSnapshot:
    """A recording's analysis-made state and edits, as StudyState.snapshot took them."""

    analysis: RecordingAnalysis | None
    contours: dict[ContourKey, dict[str, ControlContour]]
    made: dict[ContourKey, MadeFrame]
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    confidence: np.ndarray | None
    flagged_frames: tuple[int, ...]
    strain: StrainResult | SavedStrain | None
    analyzed: bool
    edited_keys: frozenset[ContourKey]
    ed_edited: bool
    es_edited: bool
    propagated_keys: frozenset[ContourKey] = frozenset()
    cycles_edited: bool = False


@dataclass(frozen=True)
class EditsSince:
    """The hand edits made to a recording since a snapshot (an analysis that replaces the edits keeps these:
    they were made while it ran, after the user chose to replace those before)."""

    contour_keys: frozenset[ContourKey] = frozenset()
    ed_frames: tuple[int, ...] = ()  # ED / ES marks set by hand since (a mark moved is one set where it now is)
    es_frames: tuple[int, ...] = ()


def edits_since(state: "RecordingState", snap: AnalysisSnapshot) -> EditsSince:
    """Contours edited by hand since `snap` (changed, or newly edited), and the ED/ES marks set since."""
    def changed(key: ContourKey) -> bool:
        now, then = state.contours.get(key, {}), snap.contours.get(key, {})
        return key not in snap.edited_keys or now.keys() != then.keys() or any(now[k] is not then[k] for k in now)

    keys = frozenset(k for k in state.edited_keys if k in state.contours and changed(k))
    ed = tuple(sorted(set(state.ed_frames) - set(snap.ed_frames))) if state.ed_edited else ()
    es = tuple(sorted(set(state.es_frames) - set(snap.es_frames))) if state.es_edited else ()
    return EditsSince(keys, ed, es)


def in_measured_cycles(ed_frames: tuple[int, ...], es_frames: tuple[int, ...]) -> tuple[int, ...]:
    """The ES frames inside a cycle (ED to the next ED, or the clip's end): those a measurement can use."""
    cycles = _cycles(ed_frames)
    return tuple(sorted(f for f in es_frames if any(_inside(f, cycle) for cycle in cycles)))


def measured_cycles(ed_frames: tuple[int, ...], es_frames: tuple[int, ...]) -> frozenset[int]:
    """The ED frames whose cycle (to the next ED, or the clip's end) holds an ES mark: the cycles measured."""
    return frozenset(cycle[0] for cycle in _cycles(ed_frames) if any(_inside(f, cycle) for f in es_frames))


def _cycles(ed_frames: tuple[int, ...]) -> list[tuple[int, int | None]]:
    """(ED, the next ED or None at the clip's end) of each cycle."""
    eds = sorted(ed_frames)
    return list(zip(eds, [*eds[1:], None], strict=False))  # (no ED: no cycle)


def _inside(frame: int, cycle: tuple[int, int | None]) -> bool:
    start, end = cycle
    return start < frame and (end is None or frame < end)
