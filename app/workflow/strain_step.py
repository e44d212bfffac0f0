"""The strain step of the analysis (app.workflow.analyze): longitudinal strain of an apical echo clip.

`strain_step(analysis, motion="classical", cancel=None)` is a task (app.tasks): it runs
app.workflow.strain_pipeline.compute_strain (classical motion by default: no model needed) on apical 2D echo
recordings with an ED frame and no strain yet, and finally yields the analysis with `strain` set. When strain
cannot be computed the analysis comes back with the reason in `strain_error` (the report lists it under the
quality flags, so the report still builds). Strain runs on the recording's own (user / DICOM) view; when
the view classifier disagrees, its warning is attached as `strain_view_warning`. Cancelled: no result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from app.analysis.beat_events import strain_events
from app.analysis.beat_trust import no_systole
from app.analysis.strain import beat_windows, judged_strain
from app.data.recording import APICAL_VIEWS, Recording
from app.tasks import Cancel, Progress, is_cancelled, scaled
from app.workflow.results import AnalysisError, Measurements, RecordingAnalysis


def strain_applies(recording: Recording) -> bool:
    """Strain is measured on apical 2D echo clips."""
    return recording.modality == "echo" and not recording.is_stack and recording.view in APICAL_VIEWS


def why_no_strain(recording: Recording) -> str:
    """Why a 2D echo clip gets no strain ("" when strain applies, or for MRI, stacks and still frames):
    the strain's segments and GLS follow the clip's labelled apical view, which the analysis never guesses."""
    if recording.modality != "echo" or recording.is_stack or recording.n_frames < 2 or strain_applies(recording):
        return ""  # a still frame has no motion to track, whatever its view
    views = ", ".join(v.upper() for v in APICAL_VIEWS)
    if recording.view == "unknown":
        return f"the view is not set; longitudinal strain is measured on an apical view ({views}): set the view"
    return f"longitudinal strain is measured on an apical view ({views}), not {recording.view.upper()}"


def no_gls_reason(recording: Recording, m: Measurements) -> str:
    """Why a strain tracked over these measurements' beats has no GLS to report, whatever its tracking ("" when
    it may have one): the beats hold no systole (app.analysis.beat_trust.no_systole), or the file's image data is
    damaged inside a systole the peak is searched over (the motion tracked there is the decoder's noise)."""
    if why := no_systole(m.beats):
        return why
    ed_frames, es_frames = strain_events(m.beats, m.ed_frames, m.es_frames)
    windows = beat_windows(recording.n_frames, ed_frames, es_frames)
    damaged = [t for t in recording.damaged_frames if any(a <= t < b for a, b in windows)]
    if not damaged:
        return ""
    which = f"frame {damaged[0]}" if len(damaged) == 1 else f"frames {damaged[0]}-{damaged[-1]}"
    return f"the file's image data is damaged on {which}, inside a systole the strain peak is searched over"


def strain_error_now(analysis: RecordingAnalysis, recording: Recording) -> str:
    """The analysis' reason for having no strain, as of the recording's view now (a view set by hand since the
    analysis gives its own reason, or takes the old view's away)."""
    view_reason = why_no_strain(recording)
    if view_reason or not analysis.strain_error or analysis.strain_error == why_no_strain(analysis.recording):
        return view_reason
    return analysis.strain_error


def strain_step(analysis: RecordingAnalysis, motion: str = "classical", cancel: Cancel = None
                ) -> Iterator[Progress | RecordingAnalysis]:
    """The analysis with strain (or the reason it is missing); see the module docstring."""
    if analysis.strain is not None or not strain_applies(analysis.recording):
        yield analysis
        return
    from app.workflow.strain_pipeline import compute_strain

    m = analysis.measurements
    if not m.ed_frames:
        yield replace(analysis, strain_error="no end-diastolic frame")
        return
    ed_frames, es_frames = strain_events(m.beats, m.ed_frames, m.es_frames)
    try:
        result = yield from scaled(compute_strain(analysis.recording, analysis.labels, ed_frames,
                                                  es_frames=es_frames, motion=motion, cancel=cancel), 0.0, 1.0)
    except (AnalysisError, ValueError) as exc:
        yield replace(analysis, strain_error=" ".join(str(exc).split()))
        return
    if is_cancelled(cancel) or result is None:
        return
    warning = analysis.view_check.warning if analysis.view_check is not None else None
    note = f"strain computed for the labelled view {analysis.recording.view.upper()}; {warning}" if warning else ""
    strain = judged_strain(result, edited=False, no_gls=no_gls_reason(analysis.recording, m))
    yield replace(analysis, strain=strain, strain_view_warning=note)
