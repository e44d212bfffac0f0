"""The Qt-free study model the viewer shows and edits (napari style: Qt views subscribe to `events`).

A study holds several recordings of one patient (e.g. A4C + A2C, or a short-axis stack). For each:
the recording (view and calibration as currently set), the editable control-point contours per
(slice, frame), ED/ES frames, model confidence and flagged frames, what was edited by hand, and the
measurements recomputed after every change. `to_json`/`restore_json` (de)serialise one recording's
state for the autosave (app/workflow/autosave.py). Edits with undo live in app/workflow/edits.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from app.data.recording import VIEWS, Recording
from app.analysis.strain import StrainResult
from app.workflow.events import StudyEvents
from app.workflow.results import Measurements, RecordingAnalysis
from app.workflow.contour_adapter import MadeFrame
from app.workflow.splines import ControlContour
from app.workflow.strain_step import SavedStrain, strain_from_json, strain_to_json
from app.workflow.study_analysis import ViewerAnalysis, biplane_pair, default_biplane, default_measure

ContourKey = tuple[int, int]  # (slice index, frame index)
KINDS = ("endo", "epi", "la", "rv")  # rv: the right ventricle of short-axis MRI
FORMAT = "cardiotrace-study"
FORMAT_VERSION = 1


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
    analysed: bool = False
    edited_keys: set[ContourKey] = field(default_factory=set)
    propagated_keys: set[ContourKey] = field(default_factory=set)  # edited by propagating another frame's edit
    ed_edited: bool = False  # the ED frames were set by hand
    es_edited: bool = False  # the ES frames were set by hand
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

    def edited_values(self) -> frozenset[str]:
        """Names of measured values that depend on a manual edit."""
        names: set[str] = set()
        edited_frames = {f for _, f in self.edited_keys}
        if self.ed_edited or self.calibration_edited or edited_frames & set(self.ed_frames):
            names.add("edv_ml")
        if self.es_edited or self.calibration_edited or edited_frames & set(self.es_frames):
            names.add("esv_ml")
        if self.excluded_slices:
            names.update({"edv_ml", "esv_ml", "lv_mass_g"})
        if names:
            names.update({"sv_ml", "ef_pct"})
        if self.recording.is_stack:  # an edit at ED/ES may be the RV's (edits are kept per frame, not per kind)
            names.update({f"rv_{n}" for n in ("edv_ml", "esv_ml", "sv_ml", "ef_pct") if n in names})
        if edited_frames:
            names.add("volume_curve_ml")
        if self.ed_edited:
            names.update({"ed_frames", "heart_rate_bpm"})  # the heart rate is the ED-to-ED beat length
        if self.es_edited:
            names.add("es_frames")
        if self.view_edited:
            names.add("view")
        if self.calibration_edited:
            names.add("calibration")
        return frozenset(names)


@dataclass(frozen=True, eq=False)
class AnalysisSnapshot:
    """A recording's analysis-made state and edits, as StudyState.snapshot took them."""

    analysis: RecordingAnalysis | None
    contours: dict
    made: dict
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    confidence: np.ndarray | None
    flagged_frames: tuple[int, ...]
    strain: StrainResult | SavedStrain | None
    analysed: bool
    edited_keys: frozenset
    ed_edited: bool
    es_edited: bool
    propagated_keys: frozenset = frozenset()


MeasureFn = Callable[[RecordingState], "Measurements | None"]


class StudyState:
    """Recordings of one study plus every edit; emits StudyEvents on each change."""

    def __init__(self, measure_fn: MeasureFn | None = None, biplane_fn=default_biplane) -> None:
        self.recordings: list[RecordingState] = []
        self.events = StudyEvents()
        self.measure_fn: MeasureFn = measure_fn or default_measure
        self.biplane_fn = biplane_fn  # None: no biplane combination (tests with a toy measure)
        self.biplane: Measurements | None = None
        self.conclusion = ""  # the reviewer's conclusion for the report (Report > Comment / Conclusion)
        self.reviewer = ""

    def __len__(self) -> int:
        return len(self.recordings)

    def __getitem__(self, index: int) -> RecordingState:
        return self.recordings[index]

    # -- recordings and analyses ------------------------------------------------------------
    def add_recording(self, recording: Recording) -> int:
        self.recordings.append(RecordingState(recording=recording, original=recording))
        index = len(self.recordings) - 1
        self.events.recording_added.emit(index)
        return index

    def remove_recording(self, index: int) -> RecordingState:
        """Close a recording: take it out of the study (its autosaved state stays in the user data folder).
        Later recordings move up one index; no event fires (the window rebuilds its list)."""
        st = self.recordings.pop(index)
        if self.biplane_fn is not None:
            try:
                self.biplane = self.biplane_fn(self)
            except Exception:  # noqa: BLE001 - as in remeasure
                self.biplane = None
        return st

    def index_of_path(self, path) -> int | None:
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

    def set_analysis(self, index: int, analysis: RecordingAnalysis | ViewerAnalysis, keep_edits: bool = False
                     ) -> None:
        """Take an analysis (app.workflow.analyse; a ViewerAnalysis brings its control contours): its contours
        become control points and its measurements are the recording's (measured once, in the analysis).
        With keep_edits the contours of frames edited by hand and hand-set ED/ES stay (the analysis fills in
        the rest, then the recording is measured again); without, the analysis replaces every edit (undo
        through `snapshot`/`restore_snapshot`)."""
        from app.workflow.contour_adapter import control_contours_from_analysis, made_frames

        controls = None
        if isinstance(analysis, ViewerAnalysis):
            analysis, controls = analysis.analysis, analysis.controls
        st = self.recordings[index]
        contours = {k: dict(d) for k, d in (controls or control_contours_from_analysis(analysis)).items()}
        ed_es = (tuple(analysis.measurements.ed_frames), tuple(analysis.measurements.es_frames))
        kept_keys = {k for k in st.edited_keys if k in st.contours} if keep_edits else set()
        kept_ed, kept_es = keep_edits and st.ed_edited, keep_edits and st.es_edited
        kept_edes = kept_ed or kept_es
        for key in kept_keys:
            contours[key] = dict(st.contours[key])
        st.analysis = analysis
        st.made = {k: m for k, m in made_frames(analysis, contours).items() if k not in kept_keys}
        st.contours = contours
        st.ed_frames = st.ed_frames if kept_ed else ed_es[0]
        st.es_frames = st.es_frames if kept_es else ed_es[1]
        conf = analysis.confidence
        st.confidence = None if conf is None else np.asarray(conf, dtype=np.float64)
        st.flagged_frames = tuple(int(f) for f in analysis.flagged_frames)
        st.strain = analysis.strain
        st.analysed = True
        st.edited_keys = kept_keys
        st.propagated_keys &= kept_keys
        st.ed_edited, st.es_edited = kept_ed, kept_es
        self.events.analysis_changed.emit(index)
        measured_once = (not (kept_keys or kept_edes or st.excluded_slices) and self.measure_fn is default_measure
                         and isinstance(analysis, RecordingAnalysis))
        self.remeasure(index, precomputed=analysis.measurements if measured_once else None)
        self.events.modified.emit(index)

    def snapshot(self, index: int) -> "AnalysisSnapshot":
        """What an analysis replaces, to put back on undo."""
        st = self.recordings[index]
        return AnalysisSnapshot(st.analysis, {k: dict(d) for k, d in st.contours.items()},
                                dict(st.made), st.ed_frames,
                                st.es_frames, st.confidence, st.flagged_frames, st.strain, st.analysed,
                                frozenset(st.edited_keys), st.ed_edited, st.es_edited, frozenset(st.propagated_keys))

    def restore_snapshot(self, index: int, snap: "AnalysisSnapshot") -> None:
        st = self.recordings[index]
        st.analysis, st.contours = snap.analysis, {k: dict(d) for k, d in snap.contours.items()}
        st.made = dict(snap.made)
        st.ed_frames, st.es_frames, st.confidence = snap.ed_frames, snap.es_frames, snap.confidence
        st.flagged_frames, st.strain, st.analysed = snap.flagged_frames, snap.strain, snap.analysed
        st.edited_keys, st.ed_edited, st.es_edited = set(snap.edited_keys), snap.ed_edited, snap.es_edited
        st.propagated_keys = set(snap.propagated_keys)
        self.events.analysis_changed.emit(index)
        self.events.edes_changed.emit(index)
        self.remeasure(index)
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

    def set_edes(self, index: int, ed_frames, es_frames, edited: bool | tuple[bool, bool] = True) -> None:
        """Set the ED and ES frames. edited=True marks the kind(s) that changed as set by hand (moving ES
        alone leaves EDV and heart rate automatic); a (ed_edited, es_edited) pair sets the marks exactly
        (undo); False clears them."""
        st = self.recordings[index]
        n = st.recording.n_frames
        ed = tuple(sorted({int(f) for f in ed_frames}))
        es = tuple(sorted({int(f) for f in es_frames}))
        if any(not 0 <= f < n for f in ed + es):
            raise ValueError(f"ED/ES frames must lie in 0..{n - 1}")
        if edited is True:
            marks = (st.ed_edited or ed != st.ed_frames, st.es_edited or es != st.es_frames)
        elif edited is False:
            marks = (False, False)
        else:
            marks = (bool(edited[0]), bool(edited[1]))
        st.ed_frames, st.es_frames = ed, es
        st.ed_edited, st.es_edited = marks
        self.events.edes_changed.emit(index)
        self.remeasure(index)
        self.events.modified.emit(index)

    def set_strain(self, index: int, strain: object | None) -> None:
        """Take a strain result re-tracked on the current contours (app/workflow/retrack.py)."""
        self.recordings[index].strain = strain
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
        from dataclasses import replace

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
        from dataclasses import replace

        sex = (sex or "").upper()[:1]
        if sex not in ("M", "F", ""):
            raise ValueError(f"sex must be M, F or unknown, got {sex!r}")
        st = self.recordings[index]
        st.recording = replace(st.recording, patient=replace(st.recording.patient, sex=sex))
        self.remeasure(index)
        self.events.modified.emit(index)

    def set_excluded_slices(self, index: int, slices) -> None:
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
        try:
            st.measurements = precomputed if precomputed is not None else self.measure_fn(st)
            st.measure_error = ""
        except Exception as exc:  # noqa: BLE001 - a contour a user drew badly must not crash the viewer
            st.measurements = None
            st.measure_error = f"{type(exc).__name__}: {exc}"
        if self.biplane_fn is not None:
            try:
                self.biplane = self.biplane_fn(self)
            except Exception:  # noqa: BLE001 - biplane is a bonus; the per-view values still show
                self.biplane = None
        self.events.measurements_changed.emit(index)

    def set_conclusion(self, conclusion: str, reviewer: str) -> None:
        """The report's conclusion and reviewer; saved with every recording of the study."""
        self.conclusion, self.reviewer = conclusion.strip(), reviewer.strip()
        for index in range(len(self.recordings)):
            self.events.modified.emit(index)

    def biplane_for(self, index: int) -> Measurements | None:
        """The study's biplane result when recording `index` is one of the two it is made of, else None
        (a panel showing another recording must not show it as that recording's values)."""
        pair = biplane_pair(self) if self.biplane is not None else None
        if pair is None or not any(st is self.recordings[index] for st in pair):
            return None
        return self.biplane

    # -- serialisation ----------------------------------------------------------------------
    def to_json(self, index: int) -> dict:
        from app.workflow.autosave import source_fingerprint

        st = self.recordings[index]
        contours = [
            {"slice": s, "frame": f, "kind": kind, **c.to_json()}
            for (s, f), d in sorted(st.contours.items()) for kind, c in sorted(d.items())
        ]
        meas = st.measurements
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "source": {**source_fingerprint(st.recording), "content_key": self.save_key(index)},
            "analysed": st.analysed,
            "view": st.recording.view,
            "spacing_mm": [float(v) for v in st.recording.spacing_mm],
            "calibrated": bool(st.recording.calibrated),
            "ed_frames": list(st.ed_frames),
            "es_frames": list(st.es_frames),
            "confidence": None if st.confidence is None else np.round(st.confidence, 4).tolist(),
            "flagged_frames": list(st.flagged_frames),
            "edited": {
                "contour_keys": [list(k) for k in sorted(st.edited_keys)],
                "propagated_keys": [list(k) for k in sorted(st.propagated_keys)],
                "ed_es": st.edes_edited, "ed": st.ed_edited, "es": st.es_edited, "view": st.view_edited, "calibration": st.calibration_edited,
            },
            "contours": contours,
            "analysis_contours": _made_json(st),
            "measurements": meas.to_json_dict() if isinstance(meas, Measurements) else None,
            "strain": strain_to_json(st.strain),
            "excluded_slices": sorted(st.excluded_slices),
            "body_size": {"height_cm": st.recording.patient.height_cm, "weight_kg": st.recording.patient.weight_kg},
            "patient_sex": st.recording.patient.sex,  # as typed in the patient dialog (or from the file)
            "segmenter": st.analysis.segmenter if isinstance(st.analysis, RecordingAnalysis) else "",
            **_segmenter_findings_json(st.analysis),
            "report": {"conclusion": self.conclusion, "reviewer": self.reviewer},
        }

    def restore_json(self, index: int, data: dict) -> None:
        """Restore a recording's state saved by `to_json` (raises ValueError on a malformed file)."""
        if data.get("format") != FORMAT or int(data.get("version", 0)) > FORMAT_VERSION:
            raise ValueError("not a CardioTrace study file of a known version")
        st = self.recordings[index]
        n, n_slices = st.recording.n_frames, st.recording.n_slices
        contours: dict[ContourKey, dict[str, ControlContour]] = {}
        for item in data.get("contours", []):
            key = (int(item["slice"]), int(item["frame"]))
            if not (0 <= key[0] < n_slices and 0 <= key[1] < n) or item["kind"] not in KINDS:
                raise ValueError(f"contour for slice/frame {key} or kind {item['kind']!r} does not fit")
            contours.setdefault(key, {})[item["kind"]] = ControlContour.from_json(item)
        edited = data.get("edited", {})
        view = data.get("view", st.recording.view)
        rec = st.recording.with_view(view) if view in VIEWS else st.recording
        if edited.get("calibration"):
            rec = rec.with_calibration(tuple(data["spacing_mm"]))
        body = data.get("body_size") or {}
        if body.get("height_cm") is not None or body.get("weight_kg") is not None:
            from dataclasses import replace

            rec = replace(rec, patient=replace(rec.patient, height_cm=body.get("height_cm"),
                                               weight_kg=body.get("weight_kg")))
        if data.get("patient_sex") in ("M", "F", ""):  # files before the patient dialog have none
            from dataclasses import replace

            rec = replace(rec, patient=replace(rec.patient, sex=data["patient_sex"]))
        st.recording = rec
        st.contours = contours
        st.made = {}
        for item in data.get("analysis_contours") or []:  # the analysis' own contours of frames not edited
            key = (int(item["slice"]), int(item["frame"]))
            if key in contours:
                st.made[key] = MadeFrame.from_json(item, contours[key])
        st.analysed = bool(data.get("analysed", bool(contours)))
        ed, es = data.get("ed_frames", []), data.get("es_frames", [])
        if any(not 0 <= int(f) < n for f in [*ed, *es]):
            raise ValueError("ED/ES frames outside the recording")
        st.ed_frames, st.es_frames = tuple(int(f) for f in ed), tuple(int(f) for f in es)
        conf = data.get("confidence")
        st.confidence = None if conf is None else np.asarray(conf, dtype=np.float64)
        st.flagged_frames = tuple(int(f) for f in data.get("flagged_frames", []))
        st.strain = strain_from_json(data.get("strain"))
        st.edited_keys = {(int(k[0]), int(k[1])) for k in edited.get("contour_keys", [])}
        st.propagated_keys = {(int(k[0]), int(k[1])) for k in edited.get("propagated_keys", [])} & st.edited_keys
        st.ed_edited = bool(edited.get("ed", edited.get("ed_es")))  # files before the split: "ed_es" only
        st.es_edited = bool(edited.get("es", edited.get("ed_es")))
        st.view_edited = bool(edited.get("view"))
        st.calibration_edited = bool(edited.get("calibration"))
        excluded = frozenset(int(s) for s in data.get("excluded_slices", []))
        if any(not 0 <= s < n_slices for s in excluded):
            raise ValueError("excluded slices outside the stack")
        st.excluded_slices = excluded
        report = data.get("report") or {}
        if not self.conclusion and not self.reviewer:
            self.conclusion, self.reviewer = str(report.get("conclusion", "")), str(report.get("reviewer", ""))
        self.remeasure(index)
        if st.analysed and st.contours and st.measurements is not None:
            from app.workflow.study_analysis import analysis_from_state

            flags, left_out = _segmenter_findings(data, n, n_slices)
            st.analysis = analysis_from_state(st, data.get("segmenter") or "restored", flags, left_out)
            if flags:  # measured again with the segmenter's flags, as after the analysis
                from dataclasses import replace

                self.remeasure(index)
                st.analysis = replace(st.analysis, measurements=st.measurements)
        for signal in (self.events.analysis_changed, self.events.view_changed, self.events.calibration_changed,
                       self.events.edes_changed):
            signal.emit(index)


def _replace_spacing(current: Recording, original: Recording) -> Recording:
    from dataclasses import replace

    return replace(current, spacing_mm=original.spacing_mm, calibrated=original.calibrated)


def _segmenter_findings_json(analysis) -> dict:
    """The segmenter's per-frame flags and the RV regions it left out as right atrium, for the autosave."""
    if not isinstance(analysis, RecordingAnalysis):
        return {}
    return {"segmenter_flags": {str(t): list(f) for t, f in sorted(analysis.segmenter_flags.items())},
            "rv_left_out": [{"slice": s, "frame": f, "points": np.round(np.asarray(px, float), 2).tolist()}
                            for (s, f), px in sorted(analysis.rv_left_out.items())]}


def _segmenter_findings(data: dict, n_frames: int, n_slices: int) -> tuple[dict, dict]:
    """(segmenter_flags, rv_left_out) of a saved state (empty in files saved before they were kept)."""
    flags = {int(t): tuple(str(f) for f in names) for t, names in (data.get("segmenter_flags") or {}).items()}
    left_out = {(int(item["slice"]), int(item["frame"])): np.asarray(item["points"], dtype=np.float64)
                for item in data.get("rv_left_out") or []}
    if any(not 0 <= t < n_frames for t in flags) or any(not (0 <= s < n_slices and 0 <= f < n_frames)
                                                          for s, f in left_out):
        raise ValueError("segmenter findings outside the recording")
    return flags, left_out


def _made_json(st: RecordingState) -> list[dict]:
    """The analysis' own dense contours of the frames (and kinds) not edited since, for the autosave."""
    out = []
    for (s, f), made in sorted(st.made.items()):
        data = made.to_json(st.contours.get((s, f), {}))
        if data is not None:
            out.append({"slice": s, "frame": f, **data})
    return out
