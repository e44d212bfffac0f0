"""What the viewer runs in its worker: the analysis pipeline, then strain for apical echo clips.

`default_measure(state)` / `default_biplane(study)` (from the `biplane_pair`): the measurements of the study state (through
app.workflow.measure, from the editable contours).
`analyze_for_viewer(recording, segmenter=None, cancel=None, strain=True)` is a cancellable generator
yielding Progress (the pipeline scaled to 0-0.7, strain to 0.7-1.0) and finally a RecordingAnalysis
whose `strain` holds the StrainResult (or stays None when strain does not apply or fails; the reason
is put in `analysis.extra["strain_error"]`). Also: a small JSON form of a strain result for the
autosave, restored as `SavedStrain` with the fields the viewer shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from app.tasks import is_cancelled
from app.data.recording import APICAL_VIEWS, Recording
from app.workflow.results import AnalysisError, Progress

PIPELINE_SHARE = 0.7


def strain_applies(recording: Recording) -> bool:
    return recording.modality == "echo" and not recording.is_stack and recording.view in APICAL_VIEWS


def analyze_for_viewer(recording: Recording, *, segmenter=None, cancel=None, strain: bool = True
                       ) -> Iterator[object]:
    from app.workflow.pipeline import analyze_recording

    analysis = None
    share = PIPELINE_SHARE if strain and strain_applies(recording) else 1.0
    for item in analyze_recording(recording, segmenter=segmenter, cancel=cancel):
        if isinstance(item, Progress):
            yield Progress(share * item.fraction, item.message)
        else:
            analysis = item
    if analysis is None or is_cancelled(cancel):
        return
    if share < 1.0 and getattr(analysis, "strain", None) is None:
        analysis = yield from _with_strain(analysis, cancel)
        if analysis is None:
            return
    yield Progress(1.0, "preparing the contours for editing")
    yield with_control_contours(analysis)


def with_control_contours(analysis):
    """Attach the editable control contours (splines and dense contours already computed), so the
    GUI thread only has to take them: extra["control_contours"]."""
    from app.workflow.contour_adapter import control_contours_from_analysis, lv_from_controls

    controls = control_contours_from_analysis(analysis)
    for frame_controls in controls.values():
        lv_from_controls(frame_controls)  # fills the spline caches
        for contour in frame_controls.values():
            contour.dense()
    extra = {**getattr(analysis, "extra", {}), "control_contours": controls}
    extra["control_measurements"] = _measure_controls(analysis, controls)
    return replace(analysis, extra=extra)


def _measure_controls(analysis, controls):
    """The measurements the viewer shows right after the analysis (from the spline contours)."""
    from app.workflow.contour_adapter import edes_from_analysis
    from app.workflow.study import RecordingState

    ed, es = edes_from_analysis(analysis)
    rec = analysis.recording
    state = RecordingState(recording=rec, original=rec, contours=dict(controls), ed_frames=ed, es_frames=es,
                           confidence=np.asarray(analysis.confidence, dtype=np.float64))
    try:
        return default_measure(state)
    except Exception:  # noqa: BLE001 - the GUI thread measures again and reports the problem
        return None


def _with_strain(analysis, cancel):
    from app.workflow.strain_pipeline import compute_strain

    m = analysis.measurements
    result = None
    try:
        for item in compute_strain(analysis.recording, analysis.labels, m.ed_frames, es_frames=m.es_frames,
                                   cancel=cancel):
            if isinstance(item, Progress):
                yield Progress(PIPELINE_SHARE + (1 - PIPELINE_SHARE) * item.fraction, item.message)
            else:
                result = item
    except (AnalysisError, ValueError) as exc:
        return replace(analysis, extra={**analysis.extra, "strain_error": str(exc)})
    if is_cancelled(cancel):
        return None
    return replace(analysis, strain=result)


@dataclass(frozen=True, eq=False)
class SavedStrain:
    """The parts of a StrainResult the viewer shows, as restored from the autosave file."""

    gls_pct: float | None
    strain_curve_pct: np.ndarray  # (T,)
    segmental_strain_pct: np.ndarray  # (T, 6)
    segment_names: tuple[str, ...]
    segment_ok: tuple[bool, ...]
    centerline_px: np.ndarray  # (T, 120, 2)


def strain_to_json(strain) -> dict | None:
    if strain is None or getattr(strain, "strain_curve_pct", None) is None:
        return None

    def arr(a):
        return None if a is None else np.round(np.nan_to_num(np.asarray(a, float), nan=0.0), 4).tolist()

    gls = getattr(strain, "gls_pct", None)
    return {
        "gls_pct": None if gls is None else float(gls),
        "strain_curve_pct": arr(strain.strain_curve_pct),
        "segmental_strain_pct": arr(strain.segmental_strain_pct),
        "segment_names": list(strain.segment_names),
        "segment_ok": [bool(v) for v in getattr(strain, "segment_ok", ())],
        "centerline_px": arr(getattr(strain, "centerline_px", None)),
    }


def strain_from_json(data: dict | None) -> SavedStrain | None:
    if not data:
        return None
    centerline = data.get("centerline_px")
    return SavedStrain(
        gls_pct=data.get("gls_pct"),
        strain_curve_pct=np.asarray(data["strain_curve_pct"], float),
        segmental_strain_pct=np.asarray(data["segmental_strain_pct"], float),
        segment_names=tuple(data.get("segment_names", ())),
        segment_ok=tuple(bool(v) for v in data.get("segment_ok", ())),
        centerline_px=None if centerline is None else np.asarray(centerline, float),
    )


def analysis_from_state(state, segmenter: str = "restored"):
    """A RecordingAnalysis rebuilt from a restored state (labels drawn from the contours), so reports
    and exports work on a study reopened from its autosave (`segmenter`: what drew the saved contours).
    The strain is the saved one; the ED/ES are
    the saved ones (ed_es_method "manual" when set by hand, else "restored")."""
    from app.analysis.contours import contours_to_labels
    from app.analysis.rv import rv_drawn
    from app.workflow.contour_adapter import lv_contours_per_frame, rv_contours_per_frame
    from app.workflow.results import ED_ES_MANUAL, ED_ES_RESTORED, FrameContours, RecordingAnalysis

    rec = state.recording
    per_frame = lv_contours_per_frame(state)
    slices = per_frame if rec.is_stack else [per_frame]
    rv = rv_contours_per_frame(state) if rec.modality == "mri" else [[None] * rec.n_frames] * len(slices)
    labels = np.stack([np.stack([rv_drawn(contours_to_labels(c, rec.image_shape), r) for c, r in zip(s, rs)])
                       for s, rs in zip(slices, rv)])
    contours = tuple(FrameContours.of(s, r if any(x is not None for x in r) else ()) for s, r in zip(slices, rv))
    conf = state.confidence if state.confidence is not None else np.full(rec.n_frames, np.nan)
    return RecordingAnalysis(rec, labels if rec.is_stack else labels[0], contours if rec.is_stack else contours[0],
                             conf, state.measurements, segmenter=segmenter, strain=state.strain,
                             extra={"restored": True},
                             ed_es_method=ED_ES_MANUAL if state.edes_edited else ED_ES_RESTORED)


def default_measure(state) -> object:
    """Recompute the measurements from the editable contours (app.workflow.measure)."""
    from app.workflow.contour_adapter import lv_contours_per_frame, rv_contours_per_frame
    from app.workflow.measure import measure_recording

    contours = lv_contours_per_frame(state)
    flat = [c for s in contours for c in s] if state.recording.is_stack else contours
    if not any(c is not None for c in flat):
        return None
    rv = rv_contours_per_frame(state) if state.recording.is_stack else None
    return measure_recording(
        state.recording, contours, ed_frames=state.ed_frames or None, es_frames=state.es_frames or None,
        edited=state.edited_values(), confidence=state.confidence,
        edited_frames=sorted({f for _, f in state.edited_keys}), rv_contours=rv,
    )


def biplane_pair(study) -> tuple | None:
    """The (A4C, A2C) RecordingStates the study's biplane values come from (measured echo clips, a
    calibrated one preferred for each view), or None when the study lacks one of them."""
    by_view: dict[str, list] = {}
    for st in study.recordings:
        rec = st.recording
        if st.measurements is not None and not rec.is_stack and rec.modality == "echo":
            by_view.setdefault(rec.view, []).append(st)
    if "a4c" not in by_view or "a2c" not in by_view:
        return None
    pick = [next((st for st in by_view[v] if st.recording.calibrated), by_view[v][0]) for v in ("a4c", "a2c")]
    return pick[0], pick[1]


def default_biplane(study) -> object:
    """Biplane measurements when the study has an analysed A4C and A2C (`biplane_pair`), else None."""
    from app.workflow.contour_adapter import lv_contours_per_frame
    from app.workflow.measure import biplane_measurements

    pair = biplane_pair(study)
    if pair is None:
        return None
    a4c, a2c = pair
    return biplane_measurements((a4c.recording, lv_contours_per_frame(a4c), a4c.measurements),
                                (a2c.recording, lv_contours_per_frame(a2c), a2c.measurements))
