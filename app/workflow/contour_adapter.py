"""Between the analysis' dense LvContours and the viewer's editable control-point contours.

Analysis -> editing: each frame's endocardium, epicardium and LA become `CONTROL_POINTS` control points
(open for long-axis borders, closed for the LA and short-axis borders); on short-axis MRI the RV border
(FrameContours.rv) becomes the closed kind "rv", independent of the LV (a basal slice may hold only RV). Editing ->
measurements: the smooth splines through the control points become LvContours again (annulus = ends of the
endocardium, apex = farthest point), which the measuring step (app.workflow.analyze.measure) turns into volumes;
frames whose controls are still the analysis' own are measured on the analysis' contours (so an edit changes the
values of the edited frames only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from app.analysis.contours import LvContours
from app.workflow.json_pieces import Lazy, compact
from app.workflow.results import RecordingAnalysis
from app.workflow.splines import CONTROL_POINTS, ControlContour, control_from_dense

if TYPE_CHECKING:  # recording_state imports this module
    from app.workflow.recording_state import RecordingState

LA_CONTROL_POINTS = 16
LV_KINDS = ("endo", "epi", "la")


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


def control_contours_from_analysis(analysis: RecordingAnalysis) -> dict[tuple[int, int], dict[str, ControlContour]]:
    """{(slice, frame): {kind: ControlContour}} from a RecordingAnalysis (the RV as kind "rv")."""
    contours = analysis.contours
    per_slice = list(contours) if isinstance(contours, tuple) else [contours]
    out = {}
    for s, fc in enumerate(per_slice):
        for f, c in enumerate(fc.frames):
            controls = control_from_lv(c) if c is not None else {}
            rv = fc.rv[f] if f < len(fc.rv) else None
            if rv is not None and len(rv) >= 4:
                controls["rv"] = control_from_dense(rv, True, CONTROL_POINTS)
            if controls:
                out[(s, f)] = controls
    return out


def rv_contours_per_frame(state: RecordingState) -> list[list[np.ndarray | None]]:
    """Per slice, per frame the dense closed RV border (N, 2) or None, from a RecordingState's "rv" controls
    (the analysis' own border where the control is still the analysis' one)."""
    rec = state.recording
    return [[_rv_border(state, s, f) for f in range(rec.n_frames)] for s in range(rec.n_slices)]


def _rv_border(state: RecordingState, s: int, f: int) -> np.ndarray | None:
    control = state.contours.get((s, f), {}).get("rv")
    if control is None or s in getattr(state, "excluded_slices", frozenset()):
        return None
    made = _made(state, s, f, ("rv",))
    if made is not None and made.rv is not None:
        return made.rv
    return control.dense()


@dataclass(frozen=True, eq=False)
class MadeFrame:
    """One (slice, frame) as the analysis made it: its control contours and the dense contours they came from."""

    controls: dict[str, ControlContour]
    lv: LvContours | None
    rv: np.ndarray | None

    def to_json(self, current: dict[str, ControlContour]) -> dict[str, Any] | None:
        """The parts of the frame whose controls are still `current` (the state's): {"lv", "rv"} dense contours
        (app.workflow.json_pieces.Lazy: their JSON text, made once, by the thread that writes) with
        "lv_made"/"rv_made" saying which were kept; None when neither is."""
        lv_made = all(current.get(k) is self.controls.get(k) for k in LV_KINDS)
        rv_made = current.get("rv") is self.controls.get("rv")
        if not (lv_made or rv_made):
            return None
        rv = None if self.rv is None or not rv_made else Lazy(self._rv_json)
        lv = None if self.lv is None or not lv_made else Lazy(self._lv_json)
        return {"lv": lv, "rv": rv, "lv_made": lv_made, "rv_made": rv_made}

    def _lv_json(self) -> str:
        return "null" if self.lv is None else self.lv.json_text

    def _rv_json(self) -> str:
        return self._rv_text

    @cached_property
    def _rv_text(self) -> str:
        return compact(np.round(np.asarray(self.rv, float), 3).tolist())

    @classmethod
    def from_json(cls, data: dict[str, Any], controls: dict[str, ControlContour]) -> "MadeFrame":
        kept = {k: c for k, c in controls.items() if data.get("rv_made" if k == "rv" else "lv_made")}
        lv = None if data.get("lv") is None else LvContours.from_json_dict(data["lv"])
        rv = None if data.get("rv") is None else np.asarray(data["rv"], dtype=np.float64)
        return cls(kept, lv, rv)


def made_frames(analysis: RecordingAnalysis, controls: dict[tuple[int, int], dict[str, ControlContour]]
                ) -> dict[tuple[int, int], MadeFrame]:
    """{(slice, frame): MadeFrame} of an analysis and the control contours made from it."""
    contours = analysis.contours
    per_slice = list(contours) if isinstance(contours, tuple) else [contours]
    out: dict[tuple[int, int], MadeFrame] = {}
    for (s, f), frame_controls in controls.items():
        fc = per_slice[s]
        out[(s, f)] = MadeFrame(dict(frame_controls), fc.frames[f], fc.rv[f] if f < len(fc.rv) else None)
    return out


def _made(state: RecordingState, s: int, f: int, kinds: tuple[str, ...]) -> MadeFrame | None:
    """Frame f of slice s as the analysis made it when its controls of `kinds` are still exactly the analysis'
    (not edited, not replaced), else None: the analysis' contours are measured as they are, only edited
    frames through their splines."""
    made = state.made.get((s, f))
    current = state.contours.get((s, f))
    if made is None or current is None or any(current.get(k) is not made.controls.get(k) for k in kinds):
        return None
    return made


def lv_from_controls(controls: dict[str, ControlContour]) -> LvContours | None:
    """Dense LvContours from one frame's control contours (None without an endocardium).

    Cached on the (immutable) endocardium object, keyed by the epicardium and LA objects.
    """
    endo = controls.get("endo")
    if endo is None or len(endo.points_px) < 3:
        return None
    epi = controls.get("epi")
    la = controls.get("la")
    cache: dict[tuple[int, int], tuple[ControlContour | None, ControlContour | None, LvContours | None]] = \
        endo.__dict__.setdefault("_lv_cache", {})
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


def lv_contours_per_frame(state: RecordingState) -> list[Any]:
    """Per-frame LvContours (or None) for a RecordingState; a list per slice for a stack (list[list])."""
    rec = state.recording
    per_slice = [[_lv(state, s, f) for f in range(rec.n_frames)] for s in range(rec.n_slices)]
    return per_slice if rec.is_stack else per_slice[0]


def _lv(state: RecordingState, s: int, f: int) -> LvContours | None:
    if (s, f) not in state.contours or s in getattr(state, "excluded_slices", frozenset()):  # left out by hand
        return None
    made = _made(state, s, f, LV_KINDS)
    if made is not None and made.lv is not None:
        return made.lv
    return lv_from_controls(state.contours[(s, f)])


def long_axis_px(controls: dict[str, ControlContour]) -> np.ndarray | None:
    """(2, 2) base midpoint and apex of the smooth endocardium, or None (short-axis / missing)."""
    lv = lv_from_controls(controls)
    if lv is None or lv.annulus_px is None:
        return None
    base, apex = lv.base_mid_px, lv.apex_px
    assert base is not None and apex is not None  # a long-axis contour has both
    return np.stack([base, apex])
