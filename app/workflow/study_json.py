"""One recording's study state as the autosave keeps it (app/workflow/autosave.py), and back.

`state_to_json` writes what the user sees and edited: the control-point contours, the analysis' own dense
contours of frames not edited since, ED/ES, confidence and flags, strain, view, calibration, body size,
excluded slices, the segmenter's findings and the report's conclusion. `restore_state` puts a saved state
back on a RecordingState (raising ValueError on a file that does not fit the recording) and returns what
belongs to the study rather than to the recording (the conclusion, the segmenter's name and findings);
app.workflow.study.StudyState.restore_json measures again and tells its views.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from app.data.recording import VIEWS, Recording
from app.workflow.contour_adapter import MadeFrame
from app.workflow.json_pieces import EncodedList, Lazy, compact, plain
from app.workflow.recording_state import KINDS, ContourKey, RecordingState
from app.workflow.results import ED_ES_MANUAL, ED_ES_RESTORED, Measurements, RecordingAnalysis
from app.workflow.saved_strain import strain_from_json, strain_to_json
from app.workflow.sent_results import SentResults
from app.workflow.splines import ControlContour

FORMAT = "cardiotrace-study"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class RestoredExtras:
    """What a saved state holds beyond the recording's own state."""

    conclusion: str
    reviewer: str
    segmenter: str
    segmenter_flags: dict[int, tuple[str, ...]]  # frame -> flags
    rv_left_out: dict[tuple[int, int], np.ndarray]  # (slice, frame) -> (N, 2) points
    sent: tuple[SentResults, ...] = ()  # the study's results series already sent (app.workflow.sent_results)
    ed_es_method: str = ""  # where the analysis' ED/ES came from, and why a model was set aside ("" unknown)
    ed_es_fallback: str = ""


def state_to_json(st: RecordingState, content_key: str, conclusion: str, reviewer: str,
                  sent: Sequence[SentResults] = ()) -> dict[str, Any]:
    """The recording's state as plain JSON types; content_key and the study's conclusion, reviewer and results
    sent with it."""
    data: dict[str, Any] = plain(state_document(st, content_key, conclusion, reviewer, sent))
    return data


def _control_json(slice_: int, frame: int, kind: str, contour: ControlContour) -> str:
    return f'{{"slice":{int(slice_)},"frame":{int(frame)},"kind":{compact(kind)},{contour.json_text[1:]}'


def state_document(st: RecordingState, content_key: str, conclusion: str, reviewer: str,
                   sent: Sequence[SentResults] = ()) -> dict[str, Any]:
    """What state_to_json gives, the contours as the JSON text each contour keeps (app.workflow.json_pieces.Lazy:
    made once, by the first save's writer thread, so neither the analysis nor the GUI thread encodes them)."""
    from app.workflow.autosave import source_fingerprint

    contours = EncodedList(tuple(
        Lazy(partial(_control_json, s, f, kind, c))
        for (s, f), d in sorted(st.contours.items()) for kind, c in sorted(d.items())
    ))
    meas = st.measurements
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source": {**source_fingerprint(st.recording), "content_key": content_key},
        "analysed": st.analyzed,  # the autosave format's key
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
            "ed_es": st.edes_edited, "ed": st.ed_edited, "es": st.es_edited, "cycles": st.cycles_edited,
            "view": st.view_edited,
            "calibration": st.calibration_edited,
        },
        "contours": contours,
        "analysis_contours": _made_json(st),
        "measurements": meas.to_json_dict() if isinstance(meas, Measurements) else None,
        "strain": strain_to_json(st.strain, st.strain_retracked),
        "excluded_slices": sorted(st.excluded_slices),
        "body_size": {"height_cm": st.recording.patient.height_cm, "weight_kg": st.recording.patient.weight_kg},
        "patient_sex": st.recording.patient.sex,  # as typed in the patient dialog (or from the file)
        "segmenter": st.analysis.segmenter if isinstance(st.analysis, RecordingAnalysis) else "",
        "ed_es_source": _ed_es_source(st.analysis),
        **_segmenter_findings_json(st.analysis),
        "report": {"conclusion": conclusion, "reviewer": reviewer, "sent": [r.to_json() for r in sent]},
    }


def restore_state(st: RecordingState, data: dict[str, Any]) -> RestoredExtras:
    """Put a state saved by `state_to_json` back on `st` (ValueError on a malformed file, `st` untouched)."""
    if data.get("format") != FORMAT or int(data.get("version", 0)) > FORMAT_VERSION:
        raise ValueError("not a CardioTrace study file of a known version")
    n, n_slices = st.recording.n_frames, st.recording.n_slices
    contours = _contours(data, n, n_slices)
    edited = data.get("edited", {})
    ed, es = data.get("ed_frames", []), data.get("es_frames", [])
    if any(not 0 <= int(f) < n for f in [*ed, *es]):
        raise ValueError("ED/ES frames outside the recording")
    excluded = frozenset(int(s) for s in data.get("excluded_slices", []))
    if any(not 0 <= s < n_slices for s in excluded):
        raise ValueError("excluded slices outside the stack")
    flags, left_out = _segmenter_findings(data, n, n_slices)
    report = data.get("report") or {}
    sent = tuple(SentResults.from_json(item) for item in report.get("sent") or [])
    st.recording = _recording(st, data, edited)
    st.contours = contours
    st.made = {}
    for item in data.get("analysis_contours") or []:  # the analysis' own contours of frames not edited
        key = (int(item["slice"]), int(item["frame"]))
        if key in contours:
            st.made[key] = MadeFrame.from_json(item, contours[key])
    st.analyzed = bool(data.get("analysed", bool(contours)))
    st.ed_frames, st.es_frames = tuple(int(f) for f in ed), tuple(int(f) for f in es)
    conf = data.get("confidence")
    st.confidence = None if conf is None else np.asarray(conf, dtype=np.float64)
    st.flagged_frames = tuple(int(f) for f in data.get("flagged_frames", []))
    st.strain = strain_from_json(data.get("strain"))
    st.edited_keys = {(int(k[0]), int(k[1])) for k in edited.get("contour_keys", [])}
    st.propagated_keys = {(int(k[0]), int(k[1])) for k in edited.get("propagated_keys", [])} & st.edited_keys
    st.ed_edited = bool(edited.get("ed", edited.get("ed_es")))  # files before the split: "ed_es" only
    st.es_edited = bool(edited.get("es", edited.get("ed_es")))
    st.cycles_edited = bool(edited.get("cycles"))
    st.view_edited = bool(edited.get("view"))
    st.calibration_edited = bool(edited.get("calibration"))
    st.excluded_slices = excluded
    source = data.get("ed_es_source") or {}
    return RestoredExtras(str(report.get("conclusion", "")), str(report.get("reviewer", "")),
                          data.get("segmenter") or "restored", flags, left_out, sent,
                          str(source.get("method") or ""), str(source.get("fallback") or ""))


def _ed_es_source(analysis: object) -> dict[str, str] | None:
    """Where the analysis' ED/ES came from (TempReg-Net or the curve, and why), kept so a reopened study still
    says it; None for an analysis rebuilt from a file that did not keep it."""
    if not isinstance(analysis, RecordingAnalysis) or analysis.ed_es_method in ("", ED_ES_RESTORED, ED_ES_MANUAL):
        return None
    return {"method": analysis.ed_es_method, "fallback": analysis.ed_es_fallback}


def _contours(data: dict[str, Any], n_frames: int, n_slices: int) -> dict[ContourKey, dict[str, ControlContour]]:
    contours: dict[ContourKey, dict[str, ControlContour]] = {}
    for item in data.get("contours", []):
        key = (int(item["slice"]), int(item["frame"]))
        if not (0 <= key[0] < n_slices and 0 <= key[1] < n_frames) or item["kind"] not in KINDS:
            raise ValueError(f"contour for slice/frame {key} or kind {item['kind']!r} does not fit")
        contours.setdefault(key, {})[item["kind"]] = ControlContour.from_json(item)
    return contours


def _recording(st: RecordingState, data: dict[str, Any], edited: dict[str, Any]) -> Recording:
    """The recording with the saved view, the calibration set by hand, body size and sex."""
    view = data.get("view", st.recording.view)
    rec = st.recording.with_view(view) if view in VIEWS else st.recording
    if edited.get("calibration"):
        rec = rec.with_calibration(tuple(data["spacing_mm"]))
    body = data.get("body_size") or {}
    if body.get("height_cm") is not None or body.get("weight_kg") is not None:
        rec = replace(rec, patient=replace(rec.patient, height_cm=body.get("height_cm"),
                                           weight_kg=body.get("weight_kg")))
    if data.get("patient_sex") in ("M", "F", ""):  # files before the patient dialog have none
        rec = replace(rec, patient=replace(rec.patient, sex=data["patient_sex"]))
    return rec


def _segmenter_findings_json(analysis: RecordingAnalysis | None) -> dict[str, Any]:
    """The segmenter's per-frame flags and the RV regions it left out as right atrium, for the autosave."""
    if not isinstance(analysis, RecordingAnalysis):
        return {}
    return {"segmenter_flags": {str(t): list(f) for t, f in sorted(analysis.segmenter_flags.items())},
            "rv_left_out": [{"slice": s, "frame": f, "points": np.round(np.asarray(px, float), 2).tolist()}
                            for (s, f), px in sorted(analysis.rv_left_out.items())]}


def _segmenter_findings(data: dict[str, Any], n_frames: int, n_slices: int
                         ) -> tuple[dict[int, tuple[str, ...]], dict[tuple[int, int], np.ndarray]]:
    """(segmenter_flags, rv_left_out) of a saved state (empty in files saved before they were kept)."""
    flags = {int(t): tuple(str(f) for f in names) for t, names in (data.get("segmenter_flags") or {}).items()}
    left_out = {(int(item["slice"]), int(item["frame"])): np.asarray(item["points"], dtype=np.float64)
                for item in data.get("rv_left_out") or []}
    if any(not 0 <= t < n_frames for t in flags) or any(not (0 <= s < n_slices and 0 <= f < n_frames)
                                                          for s, f in left_out):
        raise ValueError("segmenter findings outside the recording")
    return flags, left_out


def _made_json(st: RecordingState) -> EncodedList:
    """The analysis' own dense contours of the frames (and kinds) not edited since, for the autosave."""
    out = []
    for (s, f), made in sorted(st.made.items()):
        data = made.to_json(st.contours.get((s, f), {}))
        if data is not None:
            out.append({"slice": s, "frame": f, **data})
    return EncodedList(tuple(out))
