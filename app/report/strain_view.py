"""Read a strain result (app.workflow.strain_pipeline's StrainResult) into the report's StrainSection.

Duck-typed on purpose so the report builds whatever version of the strain result is present:
gls_pct (peak systolic GLS), strain_curve_pct (T,), segmental_strain_pct (T, K), segment_names (K,),
segmental peaks (segmental_peak_pct / segment_peaks_pct; else the most negative value of each curve) and
per-segment quality (segment_ok booleans, or strain_quality scores compared with quality_threshold).
"""

from __future__ import annotations

import numpy as np

from app.analysis.strain import segment_length_px
from app.report.model import StrainSection


def _first(obj, *names):
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def strain_section(result, ed_frames=()) -> StrainSection | None:
    """StrainSection of a strain result, or None when there is none (or it holds no curve); `ed_frames`: the
    recording's, at which its segments' length in pixels is read."""
    if result is None:
        return None
    curve = _first(result, "strain_curve_pct", "gls_curve_pct", "curve_pct")
    if curve is None:
        return None
    curve = np.asarray(curve, dtype=float)
    gls = _first(result, "gls_pct", "peak_gls_pct")
    gls = float(gls) if gls is not None and np.isfinite(float(gls)) else None
    segments = _first(result, "segmental_strain_pct", "segment_curves_pct")
    names = tuple(str(n) for n in (_first(result, "segment_names") or ()))
    if segments is not None:
        segments = np.asarray(segments, dtype=float)
        if segments.ndim != 2 or segments.shape[0] != len(curve):
            segments = None
    if segments is not None and len(names) != segments.shape[1]:
        names = tuple(f"segment_{i + 1}" for i in range(segments.shape[1]))
    return StrainSection(gls, curve, names, segments, _peaks(result, segments, len(names)),
                         _quality(result, len(names)), str(getattr(result, "motion", "") or ""),
                         segment_length_px(getattr(result, "centerline_px", None), ed_frames))


def _peaks(result, segments, k: int) -> tuple:
    peaks = _first(result, "segmental_peak_pct", "segment_peaks_pct", "segmental_peaks_pct", "segment_peak_pct")
    if isinstance(peaks, dict):
        peaks = list(peaks.values())
    if peaks is not None and len(peaks) == k:
        return tuple(None if p is None or not np.isfinite(float(p)) else float(p) for p in peaks)
    if segments is None:
        return ()
    with np.errstate(all="ignore"):
        mins = np.nanmin(np.where(np.isfinite(segments), segments, np.nan), axis=0)
    return tuple(None if not np.isfinite(v) else float(v) for v in mins)


def _quality(result, k: int) -> tuple:
    ok = _first(result, "segment_ok", "segments_ok", "quality_ok")
    if ok is not None and len(ok) == k:
        return tuple(bool(v) for v in ok)
    scores = _first(result, "strain_quality", "segment_quality")
    if isinstance(scores, dict):
        scores = list(scores.values())
    if scores is None or len(scores) != k:
        return ()
    if all(isinstance(v, (bool, np.bool_)) for v in scores):
        return tuple(bool(v) for v in scores)
    threshold = float(_first(result, "quality_threshold") or 0.5)
    return tuple(bool(np.isfinite(float(v)) and float(v) >= threshold) for v in scores)
