"""What the viewer runs in its worker, and how its state turns back into analyses and measurements.

`analyze_for_viewer(recording, segmenter=None, cancel=None, strain=True)` is a task (app.tasks): the one
analysis (app.workflow.analyze.analyze_recording, strain included), then the editable control contours
computed off the GUI thread; its result is a `ViewerAnalysis` (the RecordingAnalysis + those controls).
The study takes the analysis' own measurements (measured once); after an edit `default_measure(state)`
re-enters the analysis at its measuring step (app.workflow.analyze.measure) with the contours as edited.
`compose_viewer_study(study)`: the study-level values (biplane, LA) by the CLI's rule (app.workflow.study_result).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

import numpy as np

from app.data.recording import Recording
from app.tasks import Cancel, Progress, is_cancelled, scaled
from app.workflow.results import Measurements, RecordingAnalysis

if TYPE_CHECKING:  # these modules import this one
    from app.workflow.recording_state import RecordingState
    from app.workflow.segment_step import Segmenter
    from app.workflow.splines import ControlContour
    from app.workflow.study import StudyState
    from app.workflow.study_result import StudyResult

ANALYSIS_SHARE = 0.95  # of the progress bar; the rest prepares the contours for editing


@dataclass(frozen=True, eq=False)
class ViewerAnalysis:
    """The analysis and its control-point contours {(slice, frame): {kind: ControlContour}} for editing."""

    analysis: RecordingAnalysis
    controls: dict[tuple[int, int], dict[str, ControlContour]]


def analyze_for_viewer(recording: Recording, *, segmenter: Segmenter | None = None, cancel: Cancel = None,
                       strain: bool = True
                       ) -> Iterator[Progress | ViewerAnalysis]:
    from app.workflow.analyze import analyze_recording

    analysis = yield from scaled(analyze_recording(recording, segmenter=segmenter, strain=strain, cancel=cancel),
                                 0.0, ANALYSIS_SHARE)
    if analysis is None or is_cancelled(cancel):
        return
    yield Progress(ANALYSIS_SHARE, "preparing the contours for editing")
    controls = editable_controls(analysis)
    yield Progress(1.0, "done")
    yield ViewerAnalysis(analysis, controls)


def editable_controls(analysis: RecordingAnalysis) -> dict[tuple[int, int], dict[str, ControlContour]]:
    """The control contours of an analysis with their spline caches and dense contours filled in, so the GUI
    thread only has to take them (their JSON text is made by the autosave's writer: json_pieces.Lazy)."""
    from app.workflow.contour_adapter import control_contours_from_analysis, lv_from_controls

    controls = control_contours_from_analysis(analysis)
    for frame_controls in controls.values():
        lv_from_controls(frame_controls)  # fills the spline caches
        for contour in frame_controls.values():
            contour.dense()
    return controls


def analysis_from_state(state: RecordingState, segmenter: str = "restored",
                        segmenter_flags: dict[int, tuple[str, ...]] | None = None,
                        rv_left_out: dict[tuple[int, int], np.ndarray] | None = None,
                        ed_es_source: tuple[str, str] = ("", "")) -> RecordingAnalysis:
    """A RecordingAnalysis rebuilt from a restored state (labels drawn from the contours), so reports
    and exports work on a study reopened from its autosave (`segmenter`: what drew the saved contours;
    segmenter_flags, rv_left_out: the segmenter's findings, saved with the state). The strain is the saved one;
    the ED/ES are the saved ones (ed_es_method "manual" when set by hand, else the saved `ed_es_source` (method,
    fallback) where the file kept it, else "restored")."""
    from app.analysis.contours import contours_to_labels
    from app.analysis.rv import rv_drawn
    from app.workflow.contour_adapter import lv_contours_per_frame, rv_contours_per_frame
    from app.workflow.results import ED_ES_MANUAL, ED_ES_RESTORED, FrameContours

    rec = state.recording
    per_frame = lv_contours_per_frame(state)
    slices = per_frame if rec.is_stack else [per_frame]
    rv: list[list[np.ndarray | None]] = (rv_contours_per_frame(state) if rec.modality == "mri"
                                         else [[None] * rec.n_frames] * len(slices))
    labels = np.stack(
        [
            np.stack([rv_drawn(contours_to_labels(c, rec.image_shape), r) for c, r in zip(s, rs, strict=False)])
            for s, rs in zip(slices, rv, strict=False)
        ]
    )
    contours = tuple(
        FrameContours.of(s, r if any(x is not None for x in r) else ()) for s, r in zip(slices, rv, strict=False)
    )
    conf = state.confidence if state.confidence is not None else np.full(rec.n_frames, np.nan)
    measurements = state.measurements
    assert measurements is not None  # restore_json measures the state first
    return RecordingAnalysis(rec, labels if rec.is_stack else labels[0], contours if rec.is_stack else contours[0],
                             conf, measurements, segmenter=segmenter, strain=state.strain,
                             ed_es_method=ED_ES_MANUAL if state.edes_edited else ed_es_source[0] or ED_ES_RESTORED,
                             ed_es_fallback="" if state.edes_edited else ed_es_source[1],
                             segmenter_flags=dict(segmenter_flags or {}), rv_left_out=dict(rv_left_out or {}))


def default_measure(state: RecordingState) -> Measurements | None:
    """The measurements of the state's contours as edited: the analysis' measuring step
    (app.workflow.analyze.measure), keeping the segmenter's per-frame flags."""
    from app.workflow.analyze import measure
    from app.workflow.contour_adapter import lv_contours_per_frame, rv_contours_per_frame

    contours = lv_contours_per_frame(state)
    flat = [c for s in contours for c in s] if state.recording.is_stack else contours
    if not any(c is not None for c in flat):
        return None
    rv = rv_contours_per_frame(state) if state.recording.is_stack else None
    analysis = state.analysis if isinstance(state.analysis, RecordingAnalysis) else None
    return measure(
        state.recording, contours, ed_frames=state.ed_frames or None, es_frames=state.es_frames or None,
        edited=state.edited_values(), confidence=state.confidence,
        segmenter_flags=analysis.segmenter_flags if analysis is not None else None,
        edited_frames=sorted({f for _, f in state.edited_keys}), rv_contours=rv,
    )


def compose_viewer_study(study: StudyState) -> StudyResult:
    """The study's StudyResult (biplane, LA volume, the view pair) from its recordings as measured and edited:
    app.workflow.study_result.compose_study, the rule the CLI uses, on the contours the LV is measured on."""
    from app.workflow.study_result import compose_study, viewer_items

    return compose_study(viewer_items(study))
