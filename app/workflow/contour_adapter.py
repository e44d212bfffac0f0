"""Between the analysis' dense LvContours and the viewer's editable control-point contours.

Analysis -> editing: each frame's endocardium, epicardium and LA become `CONTROL_POINTS` control points
(open for long-axis borders, closed for the LA and short-axis borders); on short-axis MRI the RV border
(FrameContours.rv) becomes the closed kind "rv", independent of the LV (a basal slice may hold only RV). Editing -> measurements: the
smooth splines through the control points become LvContours again (annulus = ends of the endocardium,
apex = farthest point), which `measure_recording` turns into volumes.
"""

from __future__ import annotations

import numpy as np

from app.analysis.contours import LvContours
from app.workflow.splines import CONTROL_POINTS, ControlContour, control_from_dense

LA_CONTROL_POINTS = 16


def frame_contours(analysis: object) -> list:
    """The analysis' per-frame contours as a list: (T,) for a 2D+t recording, (S,) lists for a stack."""
    for name in ("contours", "contours_per_frame", "frame_contours"):
        value = getattr(analysis, name, None)
        if value is not None:
            inner = getattr(value, "frames", None)  # a FrameContours wrapper
            return list(inner if inner is not None else value)
    return []


def _is_stack_list(items: list) -> bool:
    """True for one FrameContours (or list) per slice rather than one LvContours per frame."""
    return any(isinstance(item, (list, tuple)) or hasattr(item, "frames") for item in items)


def control_from_lv(c: LvContours) -> dict[str, ControlContour]:
    """Control-point versions of one frame's borders (absent borders are left out)."""
    out = {}
    closed = c.closed
    if c.endo_px is not None and len(c.endo_px) >= 4:
        out["endo"] = control_from_dense(c.endo_px, closed, CONTROL_POINTS)
    if c.epi_px is not None and len(c.epi_px) >= 4:
        out["epi"] = control_from_dense(c.epi_px, closed, CONTROL_POINTS)
    if c.la_px is not None and len(c.la_px) >= 4:
        out["la"] = control_from_dense(c.la_px, True, LA_CONTROL_POINTS)
    return out


def control_contours_from_analysis(analysis: object) -> dict[tuple[int, int], dict[str, ControlContour]]:
    """{(slice, frame): {kind: ControlContour}} from a RecordingAnalysis (the RV as kind "rv")."""
    items = frame_contours(analysis)
    per_slice = items if _is_stack_list(items) else [items]
    rv_per_slice = _rv_per_slice(analysis, len(per_slice))
    out = {}
    for s, frames in enumerate(per_slice):
        for f, c in enumerate(frames or []):
            controls = control_from_lv(c) if c is not None else {}
            rv = rv_per_slice[s][f] if f < len(rv_per_slice[s]) else None
            if rv is not None and len(rv) >= 4:
                controls["rv"] = control_from_dense(rv, True, CONTROL_POINTS)
            if controls:
                out[(s, f)] = controls
    return out


def _rv_per_slice(analysis: object, n_slices: int) -> list:
    """Per slice the (T,) RV borders of the analysis' FrameContours (empty when there are none)."""
    contours = getattr(analysis, "contours", None)
    slices = list(contours) if isinstance(contours, tuple) else [contours]
    out = [tuple(getattr(fc, "rv", ()) or ()) for fc in slices]
    return (out + [()] * n_slices)[:n_slices]


def rv_contours_per_frame(state) -> list:
    """Per slice, per frame the dense closed RV border (N, 2) or None, from a RecordingState's "rv" controls."""
    rec = state.recording
    excluded = getattr(state, "excluded_slices", frozenset())
    return [[state.contours[(s, f)]["rv"].dense() if "rv" in state.contours.get((s, f), {}) and s not in excluded
             else None for f in range(rec.n_frames)] for s in range(rec.n_slices)]


def edes_from_analysis(analysis: object) -> tuple[tuple[int, ...], tuple[int, ...]]:
    meas = getattr(analysis, "measurements", None)
    ed = getattr(meas, "ed_frames", None) or getattr(analysis, "ed_frames", None) or ()
    es = getattr(meas, "es_frames", None) or getattr(analysis, "es_frames", None) or ()
    return tuple(int(f) for f in ed), tuple(int(f) for f in es)


def lv_from_controls(controls: dict[str, ControlContour]) -> LvContours | None:
    """Dense LvContours from one frame's control contours (None without an endocardium).

    Cached on the (immutable) endocardium object, keyed by the epicardium and LA objects.
    """
    endo = controls.get("endo")
    if endo is None or len(endo.points_px) < 3:
        return None
    epi = controls.get("epi")
    la = controls.get("la")
    cache = endo.__dict__.setdefault("_lv_cache", {})
    key = (id(epi), id(la))
    hit = cache.get(key)
    if hit is not None and hit[0] is epi and hit[1] is la:
        return hit[2]
    lv = _build_lv(endo, epi, la)
    cache.clear()
    cache[key] = (epi, la, lv)
    return lv


def _build_lv(endo: ControlContour, epi: ControlContour | None, la: ControlContour | None) -> LvContours:
    if endo.closed:
        return LvContours(endo.dense(), None if epi is None else epi.dense(), None, None, None, "short-axis")
    return LvContours.from_endo(endo.dense(), None if epi is None else epi.dense(),
                                None if la is None else la.dense())


def lv_contours_per_frame(state) -> list:
    """Per-frame LvContours (or None) for a RecordingState; a list per slice for a stack."""
    rec = state.recording
    excluded = getattr(state, "excluded_slices", frozenset())  # slices left out by hand count as empty
    per_slice = [
        [lv_from_controls(state.contours[(s, f)]) if (s, f) in state.contours and s not in excluded else None
         for f in range(rec.n_frames)]
        for s in range(rec.n_slices)
    ]
    return per_slice if rec.is_stack else per_slice[0]


def long_axis_px(controls: dict[str, ControlContour]) -> np.ndarray | None:
    """(2, 2) base midpoint and apex of the smooth endocardium, or None (short-axis / missing)."""
    lv = lv_from_controls(controls)
    if lv is None or lv.annulus_px is None:
        return None
    return np.stack([lv.base_mid_px, lv.apex_px])
