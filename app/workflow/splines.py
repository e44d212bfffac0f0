"""Editable contours: a few control points <-> a smooth dense curve (scipy splines).

Points are (N, 2) float arrays of (x=col, y=row) pixels, like every contour in the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.interpolate import splev, splprep

from app.workflow.json_pieces import compact

CONTROL_POINTS = 20  # control points per contour after analysis
DENSE_POINTS = 120  # samples of the smooth curve handed to the measurements


@dataclass(frozen=True, eq=False)
class ControlContour:
    """An editable contour: points_px (N, 2) control points (x, y); closed or open."""

    points_px: np.ndarray
    closed: bool = False

    def __post_init__(self) -> None:
        pts = np.asarray(self.points_px, dtype=np.float64).reshape(-1, 2)
        object.__setattr__(self, "points_px", pts)

    def with_points(self, points_px: np.ndarray) -> "ControlContour":
        return ControlContour(np.asarray(points_px, dtype=np.float64), self.closed)

    def moved(self, index: int, xy: tuple[float, float]) -> "ControlContour":
        pts = self.points_px.copy()
        pts[index] = xy
        return self.with_points(pts)

    def dragged(self, index: int, xy: tuple[float, float], radius_mm: float,
                spacing_mm: tuple[float, float] = (1.0, 1.0)) -> "ControlContour":
        """Point `index` moved to `xy`, its neighbours within radius_mm following (app.analysis.rubber_band)."""
        from app.analysis.rubber_band import rubber_band_move

        return self.with_points(rubber_band_move(self.points_px, index, xy, radius_mm, self.closed, spacing_mm))

    def inserted(self, index: int, xy: tuple[float, float]) -> "ControlContour":
        return self.with_points(np.insert(self.points_px, index, xy, axis=0))

    def removed(self, index: int) -> "ControlContour":
        if len(self.points_px) <= 4:
            raise ValueError("a contour needs at least 4 control points")
        return self.with_points(np.delete(self.points_px, index, axis=0))

    def dense(self, n: int = DENSE_POINTS) -> np.ndarray:
        """(n, 2) points on the smooth curve through the control points (cached: contours are immutable)."""
        cache: dict[int, np.ndarray] = self.__dict__.setdefault("_dense_cache", {})
        if n not in cache:
            curve = smooth_curve(self.points_px, n, self.closed)
            curve.setflags(write=False)
            cache[n] = curve
        return cache[n]

    def to_json(self) -> dict[str, Any]:
        return {"points_px": np.round(self.points_px, 6).tolist(), "closed": bool(self.closed)}

    @cached_property
    def json_text(self) -> str:
        """to_json() as compact JSON, made once: the autosave writes every contour after each edit."""
        return compact(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ControlContour":
        return cls(np.asarray(data["points_px"], dtype=np.float64), bool(data.get("closed", False)))


def resample_polyline(points_px: np.ndarray, n: int, closed: bool = False) -> np.ndarray:
    """(n, 2) points equally spaced by arc length along the polyline (closing it when `closed`)."""
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    seg = np.hypot(*np.diff(pts, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return np.repeat(pts[:1], n, axis=0)
    samples = np.linspace(0.0, arc[-1], n, endpoint=not closed)
    return np.column_stack([np.interp(samples, arc, pts[:, 0]), np.interp(samples, arc, pts[:, 1])])


def smooth_curve(control_px: np.ndarray, n: int = DENSE_POINTS, closed: bool = False) -> np.ndarray:
    """(n, 2) samples of an interpolating cubic spline through (N, 2) control points (N >= 4)."""
    pts = np.asarray(control_px, dtype=np.float64).reshape(-1, 2)
    keep = np.concatenate([[True], np.hypot(*np.diff(pts, axis=0).T) > 1e-6])
    pts = pts[keep]
    if len(pts) < 4:
        return resample_polyline(pts, n, closed)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    try:
        tck, _ = splprep([pts[:, 0], pts[:, 1]], s=0.0, per=1 if closed else 0, k=3)
    except (ValueError, TypeError):
        return resample_polyline(pts, n, closed)
    u = np.linspace(0.0, 1.0, n, endpoint=not closed)
    x, y = splev(u, tck)
    return np.column_stack([x, y])


def control_from_dense(points_px: np.ndarray, closed: bool, n: int = CONTROL_POINTS) -> ControlContour:
    """Reduce a dense traced contour (M, 2) to n control points equally spaced by arc length."""
    return ControlContour(resample_polyline(points_px, n, closed), closed)


def nearest_segment(points_px: np.ndarray, xy: tuple[float, float], closed: bool) -> int:
    """Index at which to insert a new control point near `xy` (after the closest segment's start)."""
    pts = np.asarray(points_px, dtype=np.float64)
    ends = np.roll(pts, -1, axis=0) if closed else pts[1:]
    starts = pts if closed else pts[:-1]
    p = np.asarray(xy, dtype=np.float64)
    d = ends - starts
    t = np.clip(np.einsum("ij,ij->i", p - starts, d) / np.maximum(np.einsum("ij,ij->i", d, d), 1e-12), 0, 1)
    dist = np.hypot(*(starts + t[:, None] * d - p).T)
    return int(np.argmin(dist)) + 1
