"""The small JSON form of a strain result that the autosave keeps (app.workflow.study_json), restored with the
fields the viewer shows: `SavedStrain`, `strain_to_json`, `strain_from_json`.

Its own module so that the analysis' result type (app.workflow.results) names it without importing the strain
step, which imports the results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.analysis.strain import StrainResult


@dataclass(frozen=True, eq=False)
class SavedStrain:
    """The parts of a StrainResult the viewer and the report show, as restored from the autosave file: a reopened
    study reports what was signed (segment peaks, tracking quality and whether it was re-tracked included)."""

    gls_pct: float | None
    strain_curve_pct: np.ndarray  # (T,)
    segmental_strain_pct: np.ndarray  # (T, 6)
    segment_names: tuple[str, ...]
    segment_ok: tuple[bool, ...]
    centerline_px: np.ndarray | None  # (T, 120, 2)
    withheld: str = ""  # StrainResult.withheld
    segment_peak_pct: tuple[float | None, ...] = ()  # () from a file saved before the peaks were kept
    strain_quality: tuple[float, ...] = ()
    motion: str = ""
    retracked: bool = False  # tracked again on the contours as edited (the viewer), not the analysis' own

    @property
    def low_quality_segments(self) -> tuple[str, ...]:
        return tuple(n for n, ok in zip(self.segment_names, self.segment_ok, strict=False) if not ok)


def strain_to_json(strain: StrainResult | SavedStrain | None, retracked: bool = False) -> dict[str, Any] | None:
    """`retracked`: the strain was tracked on the edited contours (app.workflow.recording_state.strain_retracked)."""
    if strain is None or strain.strain_curve_pct is None:
        return None

    def arr(a: Any) -> list[Any] | None:
        return None if a is None else np.round(np.nan_to_num(np.asarray(a, float), nan=0.0), 4).tolist()

    peaks = getattr(strain, "segment_peak_pct", ())
    return {
        "gls_pct": None if strain.gls_pct is None else float(strain.gls_pct),
        "strain_curve_pct": arr(strain.strain_curve_pct),
        "segmental_strain_pct": arr(strain.segmental_strain_pct),
        "segment_names": list(strain.segment_names),
        "segment_ok": [bool(v) for v in strain.segment_ok],
        "segment_peak_pct": [None if p is None or not np.isfinite(p) else float(p) for p in peaks],
        "strain_quality": [float(q) for q in getattr(strain, "strain_quality", ())],
        "motion": getattr(strain, "motion", ""),
        "retracked": bool(retracked),
        "centerline_px": arr(strain.centerline_px),
        "withheld": getattr(strain, "withheld", ""),
    }


def strain_from_json(data: dict[str, Any] | None) -> SavedStrain | None:
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
        segment_peak_pct=tuple(None if p is None else float(p) for p in data.get("segment_peak_pct") or ()),
        strain_quality=tuple(float(q) for q in data.get("strain_quality") or ()),
        motion=str(data.get("motion") or ""),
        retracked=bool(data.get("retracked")),
    )
