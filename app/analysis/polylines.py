"""Polyline geometry for contours: (N, 2) arrays of (x, y) = (column, row) pixel points.

Area, length, equal-arc-length resampling, pixels -> mm, polygon -> mask, the apex of an open border.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from skimage.draw import polygon2mask


def as_points(points: npt.ArrayLike) -> np.ndarray:
    """(N, 2) float64 array, N >= 2, or ValueError."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) < 2:
        raise ValueError(f"contour points must be (N>=2, 2), got shape {arr.shape}")
    return arr


def find_apex(endo_px: np.ndarray) -> np.ndarray:
    """(2,) endocardial point farthest from the annulus midpoint (the ends of the open endocardium)."""
    mid = (endo_px[0] + endo_px[-1]) / 2.0
    dist = np.linalg.norm(endo_px - mid, axis=1)
    cap = np.flatnonzero(dist >= dist.max() - 0.5)  # a flat pixel cap: take its middle point
    result: np.ndarray = endo_px[int(cap[len(cap) // 2])].copy()
    return result


def polygon_area_px2(points: np.ndarray, signed: bool = False) -> float:
    """Shoelace area of a closed polygon (N, 2); positive when counter-clockwise in image display."""
    x, y = points[:, 0], points[:, 1]
    area = 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
    area = -area  # image y runs downwards: flip so counter-clockwise on screen is positive
    return area if signed else abs(area)


def contour_length(points: np.ndarray, closed: bool = False) -> float:
    pts = np.vstack([points, points[:1]]) if closed else points
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


def resample_contour(points: np.ndarray, n_points: int, closed: bool = False) -> np.ndarray:
    """(n_points, 2) points equally spaced along the arc length (closed: the first is not repeated)."""
    pts = as_points(points)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    if arc[-1] <= 0:
        return np.repeat(pts[:1], n_points, axis=0)
    targets = np.linspace(0.0, arc[-1], n_points + 1 if closed else n_points)
    if closed:
        targets = targets[:-1]
    return np.column_stack([np.interp(targets, arc, pts[:, 0]), np.interp(targets, arc, pts[:, 1])])


def to_mm(points_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(N, 2) (x, y) pixels -> millimetres; spacing_mm is (row, col)."""
    result: np.ndarray = np.asarray(points_px, dtype=np.float64) * np.array([spacing_mm[1], spacing_mm[0]])
    return result


def contour_to_mask(points_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixel centres inside the polygon (an open contour is closed by its end chord)."""
    pts = as_points(points_px)
    result: np.ndarray = polygon2mask(shape, pts[:, ::-1])
    return result
