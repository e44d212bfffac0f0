"""Left atrial volume of an echo study by the biplane area-length method, from the traced atrium (the echo
segmentation's LA label, editable as the "la" contour) in the A4C and A2C views at LV end-systole (the LA is
largest then).

    LAV = 8 / (3 pi) x A4C area x A2C area / L

with L the shorter of the two LA lengths (mitral annulus midpoint to the farthest point of the LA border), as
in Lang et al., J Am Soc Echocardiogr 2015;28:1-39 (chamber quantification: LA volume by biplane area-length or
disks, indexed to body surface area, normal LAVi <= 34 ml/m2; its range is in app.workflow.reference_ranges).
Areas and lengths are the means over the view's trusted beats' ES frames (all ES frames when none is trusted).
A study with only one apical view whose atrium is traced (A4C preferred) gets the single-plane area-length
volume, 8 / (3 pi) x A^2 / L, named so wherever it is shown (`LaVolume.method`). The clips and contours are
the LV's (app.workflow.study_result.compose_study, the one place that picks them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from app.analysis.polylines import polygon_area_px2

if TYPE_CHECKING:  # for annotations only
    from app.analysis.contours import LvContours
    from app.data.recording import Recording
    from app.workflow.results import Measurements

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
    edited: bool = False  # a view's ES marks, ES contours or calibration were set by hand

    @property
    def length_mm(self) -> float:
        return min(self.length_a4c_mm, self.length_a2c_mm)

    @property
    def method(self) -> str:
        """'biplane area-length' or 'single-plane area-length (A4C)'."""
        if len(self.views) > 1:
            return BIPLANE
        return f"{SINGLE_PLANE} ({self.views[0].upper()})"

    def to_json_dict(self, bsa_m2: float | None = None) -> dict[str, Any]:
        """The volume as the report prints it (and its index with the patient's BSA), its method and views."""
        return {"volume_ml": round(self.volume_ml, 2), "method": self.method, "views": list(self.views),
                "volume_index_ml_m2": None if bsa_m2 is None else round(self.volume_ml / bsa_m2, 2),
                "length_mm": round(self.length_mm, 2), "edited": self.edited}


def area_length_ml(area_a4c_mm2: float, area_a2c_mm2: float, length_mm: float) -> float:
    """Biplane area-length volume (ml) of two orthogonal areas (mm^2) and the common length (mm)."""
    if length_mm <= 0:
        raise ValueError("the LA length must be positive")
    return AREA_LENGTH_FACTOR * area_a4c_mm2 * area_a2c_mm2 / length_mm / MM3_PER_ML


def frame_la_mm(recording: Recording, lv: LvContours | None) -> tuple[float, float] | None:
    """(area mm^2, length mm) of one frame's LA border (LvContours with la_px and an annulus), or None."""
    if lv is None or lv.la_px is None or len(lv.la_px) < 3 or lv.base_mid_px is None or not recording.calibrated:
        return None
    row_mm, col_mm = recording.spacing_mm
    area = float(polygon_area_px2(np.asarray(lv.la_px, dtype=np.float64))) * row_mm * col_mm
    d = (np.asarray(lv.la_px, dtype=np.float64) - lv.base_mid_px) * np.array([col_mm, row_mm])
    length = float(np.max(np.hypot(d[:, 0], d[:, 1])))
    return (area, length) if area > 0 and length > 0 else None


def _es_frames(measurements: Measurements, es_frames: Iterable[int]) -> list[int]:
    """The ES frames of the trusted beats, else all of `es_frames`."""
    trusted = [b.es_frame for b in getattr(measurements, "beats", ()) if getattr(b, "trusted", False)]
    return trusted or list(es_frames)


def _mean_la_mm(recording: Recording, lvs: Iterable[LvContours | None]) -> tuple[float, float] | None:
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


def la_volume_of(view_items: Iterable[tuple[str, tuple[Recording, Any, Measurements]]]) -> LaVolume | None:
    """The LA volume from the study's chosen clips: (view, (recording, per-frame LvContours, Measurements))
    for its A4C and A2C (app.workflow.study_result picks them): biplane with a traced atrium in both, else
    single-plane from one of them (A4C first), else None."""
    found: dict[str, tuple[float, float]] = {}
    edited: set[str] = set()
    for view, (recording, contours, measurements) in view_items:
        frames = [t for t in _es_frames(measurements, measurements.es_frames) if 0 <= t < len(contours)]
        mean = _mean_la_mm(recording, (contours[t] for t in frames))
        if mean is not None:
            found[view] = mean
            edited |= {view} if "la_volume_ml" in (getattr(measurements, "edited", ()) or ()) else set()
    if "a4c" in found and "a2c" in found:
        return replace(_biplane(found["a4c"], found["a2c"]), edited=bool(edited))
    single = next((_single(view, found[view]) for view in ("a4c", "a2c") if view in found), None)
    return None if single is None else replace(single, edited=bool(edited & set(single.views)))
