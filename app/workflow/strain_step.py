"""The strain step of the analysis (app.workflow.analyse): longitudinal strain of an apical echo clip.

`strain_step(analysis, motion="classical", cancel=None)` is a task (app.tasks): it runs
app.workflow.strain_pipeline.compute_strain (classical motion by default: no model needed) on apical 2D echo
recordings with an ED frame and no strain yet, and finally yields the analysis with `strain` set. When strain
cannot be computed the analysis comes back with the reason in `strain_error` (the report lists it under the
quality flags, so the report still builds). Strain runs on the recording's own (user / DICOM) view; when
the view classifier disagrees, its warning is attached as `strain_view_warning`. Cancelled: no result.

`SavedStrain` and `strain_to_json` / `strain_from_json`: the small JSON form of a strain result the autosave
keeps, restored with the fields the viewer shows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np

from app.analysis.beat_trust import strain_events
from app.analysis.strain import StrainResult
from app.data.recording import APICAL_VIEWS, Recording
from app.tasks import Progress, is_cancelled, scaled
from app.workflow.results import AnalysisError, RecordingAnalysis


def strain_applies(recording: Recording) -> bool:
    """Strain is measured on apical 2D echo clips."""
    return recording.modality == "echo" and not recording.is_stack and recording.view in APICAL_VIEWS


def strain_step(analysis: RecordingAnalysis, motion: str = "classical", cancel=None
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
    yield replace(analysis, strain=result, strain_view_warning=note)


@dataclass(frozen=True, eq=False)
class SavedStrain:
    """The parts of a StrainResult the viewer shows, as restored from the autosave file."""

    gls_pct: float | None
    strain_curve_pct: np.ndarray  # (T,)
    segmental_strain_pct: np.ndarray  # (T, 6)
    segment_names: tuple[str, ...]
    segment_ok: tuple[bool, ...]
    centerline_px: np.ndarray | None  # (T, 120, 2)
    withheld: str = ""  # StrainResult.withheld


def strain_to_json(strain: StrainResult | SavedStrain | None) -> dict | None:
    if strain is None or strain.strain_curve_pct is None:
        return None

    def arr(a):
        return None if a is None else np.round(np.nan_to_num(np.asarray(a, float), nan=0.0), 4).tolist()

    return {
        "gls_pct": None if strain.gls_pct is None else float(strain.gls_pct),
        "strain_curve_pct": arr(strain.strain_curve_pct),
        "segmental_strain_pct": arr(strain.segmental_strain_pct),
        "segment_names": list(strain.segment_names),
        "segment_ok": [bool(v) for v in strain.segment_ok],
        "centerline_px": arr(strain.centerline_px),
        "withheld": getattr(strain, "withheld", ""),
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
        withheld=str(data.get("withheld") or ""),
    )
