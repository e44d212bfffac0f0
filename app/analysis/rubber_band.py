"""Rubber-band drag of a contour point: its neighbours follow smoothly instead of leaving a spike.

Dragging control point i by d moves point j by w(s_j) * d, where s_j is the arc length (in mm, along
the control polygon, both ways round a closed contour) from point i to point j and w a raised cosine:
w(s) = 0.5 * (1 + cos(pi * s / radius)) for s < radius, else 0 (w(0) = 1: the dragged point follows the
mouse exactly). A radius above 0 reaches at least MIN_RADIUS_GAPS control-point gaps: with the points about
9 mm apart on an adult A4C border, 15 mm moved only the next point each side, by a third, and the spline
through them drew a tent; now two points each side follow (by 3/4 and 1/4). The radius is capped at a
quarter of the contour's length, so dragging one end of an
open border (the mitral annulus) never reaches the apex, and a small apical short-axis slice is not
moved as a whole. On an open border the two end points (the annulus) stay where they are unless it is
one of them that is dragged: they are landmarks the user places on their own.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DEFAULT_RADIUS_MM = 15.0  # about 1.5 control-point gaps on an adult LV border
MAX_RADIUS_FRACTION = 0.25  # of the contour's length
MIN_RADIUS_GAPS = 3.0  # median control-point gaps: the smallest neighbourhood that bends smoothly


def arc_from_point(points_mm: np.ndarray, index: int, closed: bool) -> np.ndarray:
    """(N,) arc length along the polyline (closed: the shorter way round) from point `index` to each point."""
    pts = np.asarray(points_mm, dtype=np.float64)
    seg = np.hypot(*np.diff(np.vstack([pts, pts[:1]]) if closed else pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    along = np.abs(cum[: len(pts)] - cum[index])
    if closed:
        along = np.minimum(along, cum[-1] - along)
    result: np.ndarray = along
    return result


def contour_length_mm(points_mm: np.ndarray, closed: bool) -> float:
    pts = np.asarray(points_mm, dtype=np.float64)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    return float(np.hypot(*np.diff(pts, axis=0).T).sum())


def drag_weights(points_mm: np.ndarray, index: int, radius_mm: float, closed: bool) -> np.ndarray:
    """(N,) share of the drag each point takes: 1 at `index`, a raised cosine of the arc length, 0 beyond
    the radius (at least MIN_RADIUS_GAPS gaps, at most MAX_RADIUS_FRACTION of the length) and at the fixed
    ends of an open contour."""
    pts = np.asarray(points_mm, dtype=np.float64)
    weights = np.zeros(len(pts))
    radius = float(radius_mm)
    if radius > 0 and len(pts) > 2:
        gaps = np.hypot(*np.diff(np.vstack([pts, pts[:1]]) if closed else pts, axis=0).T)
        radius = max(radius, MIN_RADIUS_GAPS * float(np.median(gaps)))
    radius = min(radius, MAX_RADIUS_FRACTION * contour_length_mm(pts, closed))
    if radius > 0:
        s = arc_from_point(pts, index, closed)
        inside = s < radius
        weights[inside] = 0.5 * (1.0 + np.cos(np.pi * s[inside] / radius))
    if not closed and len(pts) > 2:
        weights[[0, -1]] = 0.0
    weights[index] = 1.0
    return weights


def rubber_band_move(points_px: np.ndarray, index: int, target_px: npt.ArrayLike, radius_mm: float, closed: bool,
                     spacing_mm: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """(N, 2) control points (x, y px) after dragging point `index` to `target_px` with its neighbourhood.

    spacing_mm: (row, col) pixel size, so the radius is in millimetres on anisotropic pixels too.
    """
    pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    scale = np.array([spacing_mm[1], spacing_mm[0]], dtype=np.float64)
    d = np.asarray(target_px, dtype=np.float64) - pts[index]
    w = drag_weights(pts * scale, index, radius_mm, closed)
    result: np.ndarray = pts + w[:, None] * d[None, :]
    return result


def max_turning_deg(curve_px: np.ndarray, closed: bool = False) -> float:
    """Largest turning angle (degrees) between consecutive segments of a dense curve (a spike shows here)."""
    pts = np.asarray(curve_px, dtype=np.float64)
    if closed:
        pts = np.vstack([pts[-1:], pts, pts[:1]])
    seg = np.diff(pts, axis=0)
    keep = np.hypot(*seg.T) > 1e-9
    seg = seg[keep]
    a = np.arctan2(seg[:, 1], seg[:, 0])
    turn = np.abs((np.diff(a) + np.pi) % (2 * np.pi) - np.pi)
    return float(np.degrees(turn.max())) if len(turn) else 0.0
