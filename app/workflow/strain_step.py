"""Add longitudinal strain to a finished analysis (CLI `analyze`, batch, report): one place for it.

`with_strain(analysis)` runs app.workflow.strain_pipeline.compute_strain (classical motion by default:
no model needed) on apical echo recordings that have an ED frame and no strain yet. When strain cannot
be computed the analysis is returned unchanged with the reason in `extra["strain_error"]`, which the
report lists under the quality flags, so the report still builds. Strain runs on the recording's
own (user / DICOM) view; when the view classifier disagrees (extra["view_check"]["warning"]) the
warning is attached as extra["strain_view_warning"].
"""

from __future__ import annotations

from dataclasses import replace

from app.data.recording import APICAL_VIEWS


def strain_applicable(analysis) -> bool:
    rec = analysis.recording
    return rec.modality == "echo" and not rec.is_stack and rec.view in APICAL_VIEWS


def with_strain(analysis, motion: str = "classical", on_progress=None):
    """The analysis with `strain` set (or the reason it is missing in extra['strain_error'])."""
    if getattr(analysis, "strain", None) is not None or not strain_applicable(analysis):
        return analysis
    from app.workflow.results import AnalysisError, Progress
    from app.workflow.strain_pipeline import compute_strain

    m = analysis.measurements
    if not m.ed_frames:
        return replace(analysis, extra={**analysis.extra, "strain_error": "no end-diastolic frame"})
    try:
        result = None
        for step in compute_strain(analysis.recording, analysis.labels, m.ed_frames, es_frames=m.es_frames,
                                   motion=motion):
            if isinstance(step, Progress):
                if on_progress is not None:
                    on_progress(step.fraction, step.message)
            else:
                result = step
    except (AnalysisError, ValueError) as exc:
        return replace(analysis, extra={**analysis.extra, "strain_error": " ".join(str(exc).split())})
    if result is None:
        return analysis
    warning = (analysis.extra.get("view_check") or {}).get("warning")
    if warning:  # strain still uses the user's / DICOM view; say that the view check disagrees
        note = f"strain computed for the labelled view {analysis.recording.view.upper()}; {warning}"
        return replace(analysis, strain=result, extra={**analysis.extra, "strain_view_warning": note})
    return replace(analysis, strain=result)
