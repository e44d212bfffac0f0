"""Left atrial volume of an echo study by the biplane area-length method, from the traced atrium (the echo
segmentation's LA label, editable as the "la" contour) in the A4C and A2C views at LV end-systole (the LA is
largest then).

    LAV = 8 / (3 pi) x A4C area x A2C area / L

with L the shorter of the two LA lengths (mitral annulus midpoint to the farthest point of the LA border), as
in Lang et al., J Am Soc Echocardiogr 2015;28:1-39 (chamber quantification: LA volume by biplane area-length or
disks, indexed to body surface area, normal LAVi <= 34 ml/m2; its range is in app.workflow.reference_ranges).
Areas and lengths are the means over the view's trusted beats' ES frames (all ES frames when none is trusted).
A study with only one apical view whose atrium is traced (A4C preferred) gets the single-plane area-length
volume, 8 / (3 pi) x A^2 / L, named so wherever it is shown (`LaVolume.method`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.analysis.polylines import polygon_area_px2

AREA_LENGTH_FACTOR = 8.0 / (3.0 * math.pi)  # 0.85
MM3_PER_ML = 1000.0


BIPLANE = "biplane area-length"
SINGLE_PLANE = "single-plane area-length"


@dataclass(frozen=True)
class LaVolume:
    """The study's LA volume and what it is made of (areas in mm^2 and lengths in mm per view; a single-plane
    volume has its one view's area and length in both the A4C and A2C fields, `views` says which)."""

    volume_ml: float
    area_a4c_mm2: float
    area_a2c_mm2: float
    length_a4c_mm: float
    length_a2c_mm: float
    views: tuple[str, ...] = ("a4c", "a2c")

    @property
    def length_mm(self) -> float:
        return min(self.length_a4c_mm, self.length_a2c_mm)

    @property
    def method(self) -> str:
        """'biplane area-length' or 'single-plane area-length (A4C)'."""
        if len(self.views) > 1:
            return BIPLANE
        return f"{SINGLE_PLANE} ({self.views[0].upper()})"


def area_length_ml(area_a4c_mm2: float, area_a2c_mm2: float, length_mm: float) -> float:
    """Biplane area-length volume (ml) of two orthogonal areas (mm^2) and the common length (mm)."""
    if length_mm <= 0:
        raise ValueError("the LA length must be positive")
    return AREA_LENGTH_FACTOR * area_a4c_mm2 * area_a2c_mm2 / length_mm / MM3_PER_ML


def frame_la_mm(recording, lv) -> tuple[float, float] | None:
    """(area mm^2, length mm) of one frame's LA border (LvContours with la_px and an annulus), or None."""
    if lv is None or lv.la_px is None or len(lv.la_px) < 3 or lv.base_mid_px is None or not recording.calibrated:
        return None
    row_mm, col_mm = recording.spacing_mm
    area = float(polygon_area_px2(np.asarray(lv.la_px, dtype=np.float64))) * row_mm * col_mm
    d = (np.asarray(lv.la_px, dtype=np.float64) - lv.base_mid_px) * np.array([col_mm, row_mm])
    length = float(np.max(np.hypot(d[:, 0], d[:, 1])))
    return (area, length) if area > 0 and length > 0 else None


def _es_frames(measurements, es_frames) -> list[int]:
    """The ES frames of the trusted beats, else all of `es_frames`."""
    trusted = [b.es_frame for b in getattr(measurements, "beats", ()) if getattr(b, "trusted", False)]
    return trusted or list(es_frames)


def _mean_la_mm(recording, lvs) -> tuple[float, float] | None:
    """Mean (area mm^2, length mm) over the frames' LvContours (None entries skipped), or None."""
    found = [f for f in (frame_la_mm(recording, lv) for lv in lvs) if f is not None]
    if not found:
        return None
    return float(np.mean([f[0] for f in found])), float(np.mean([f[1] for f in found]))


def _biplane(a4c: tuple[float, float], a2c: tuple[float, float]) -> LaVolume:
    return LaVolume(area_length_ml(a4c[0], a2c[0], min(a4c[1], a2c[1])), a4c[0], a2c[0], a4c[1], a2c[1])


def _single(view: str, found: tuple[float, float]) -> LaVolume:
    area, length = found
    return LaVolume(area_length_ml(area, area, length), area, area, length, length, (view,))


def view_la_mm(state) -> tuple[float, float] | None:
    """Mean (area mm^2, length mm) of a RecordingState's LA at its ES frames, or None without a traced LA."""
    from app.workflow.contour_adapter import lv_from_controls

    controls = (state.contours.get((0, frame)) for frame in _es_frames(state.measurements, state.es_frames))
    return _mean_la_mm(state.recording, (lv_from_controls(c) if c else None for c in controls))


def study_la_volume(study) -> LaVolume | None:
    """The LA volume of a study: biplane from a measured A4C and A2C (app.workflow.study_analysis.biplane_pair)
    with a traced atrium in both, else single-plane from one such view (A4C preferred), else None."""
    from app.workflow.study_analysis import biplane_pair

    pair = biplane_pair(study)
    if pair is not None:
        a4c, a2c = (view_la_mm(st) for st in pair)
        if a4c is not None and a2c is not None:
            return _biplane(a4c, a2c)
    return _single_plane(study)


def analysis_la_mm(analysis) -> tuple[float, float] | None:
    """Mean (area mm^2, length mm) of a RecordingAnalysis' LA at its ES frames (trusted beats' first), or None."""
    m, contours = analysis.measurements, analysis.contours
    if m is None or isinstance(contours, tuple):
        return None
    frames = [t for t in _es_frames(m, m.es_frames) if 0 <= t < len(contours.frames)]
    return _mean_la_mm(analysis.recording, (contours.frames[t] for t in frames))


def analyses_la_volume(analyses) -> LaVolume | None:
    """The LA volume of analysed recordings (the CLI's and batch's study, no viewer): biplane from the first
    echo A4C and A2C with a traced atrium, else single-plane from one of them, else None; the same rule as
    study_la_volume, on the analyses' own contours."""
    views: dict[str, tuple[float, float]] = {}
    for analysis in analyses:
        rec = analysis.recording
        if rec.modality != "echo" or rec.is_stack or rec.view not in ("a4c", "a2c") or rec.view in views:
            continue
        found = analysis_la_mm(analysis)
        if found is not None:
            views[rec.view] = found
    if "a4c" in views and "a2c" in views:
        return _biplane(views["a4c"], views["a2c"])
    return next((_single(view, found) for view, found in views.items()), None)


def _single_plane(study) -> LaVolume | None:
    for view in ("a4c", "a2c"):
        for st in study.recordings:
            rec = st.recording
            if rec.view != view or rec.modality != "echo" or rec.is_stack or st.measurements is None:
                continue
            found = view_la_mm(st)
            if found is not None:
                return _single(view, found)
    return None
