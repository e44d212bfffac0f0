"""Polyline geometry for contours: (N, 2) arrays of (x, y) = (column, row) pixel points.

Area, length, equal-arc-length resampling, pixels -> mm, polygon -> mask, the apex of an open border.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


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


VERTEX_EPS_PX = 1e-12  # skimage's tolerance for a pixel centre on a vertex


def contour_to_mask(points_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: pixel centres inside the polygon or on its border (an open contour is closed by its end
    chord): the pixels of skimage.draw.polygon2mask, found by scanlines instead of testing every pixel of the
    box against every edge (tens of ms for a dense endocardium: it stalled the GUI reopening a study).

    skimage (O'Rourke's test) counts, along a pixel's row, the crossings right of it (edges with an end at or
    below the row and one above) and left of it (an end below, one at or above); an odd count either way puts the
    pixel inside or on an edge. Both counts come from each edge's crossings of the pixel rows and a running sum
    along each row; pixels on a vertex are added as skimage does."""
    pts = as_points(points_px)
    mask = np.zeros((int(shape[0]), int(shape[1])), bool)
    xs, ys = pts[:, 0], pts[:, 1]
    # the polygon's box: no pixel outside it is inside
    r0, c0 = max(int(np.floor(ys.min())), 0), max(int(np.floor(xs.min())), 0)
    r1, c1 = min(int(np.ceil(ys.max())) + 1, mask.shape[0]), min(int(np.ceil(xs.max())) + 1, mask.shape[1])
    if r1 <= r0 or c1 <= c0:
        return mask
    h, w = r1 - r0, c1 - c0
    xs, ys = xs - c0, ys - r0
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)  # edge i runs from vertex i-1 to vertex i
    lo, hi = np.minimum(ys, yj), np.maximum(ys, yj)
    # right of pixel c: crossings of rows lo <= r < hi at x > c, i.e. ceil(x) >= c + 1 (a suffix sum)
    rows, x = _row_crossings(xs, ys, xj, yj, np.ceil(lo), np.ceil(hi), h)
    right = _histogram(rows, np.clip(np.ceil(x), 0, w), h, w)
    right_odd = np.cumsum(right[:, ::-1], axis=1)[:, ::-1][:, 1:] & 1
    # left of pixel c: crossings of rows lo < r <= hi at x < c, i.e. floor(x) + 1 <= c (a prefix sum)
    rows, x = _row_crossings(xs, ys, xj, yj, np.floor(lo) + 1, np.floor(hi) + 1, h)
    left = _histogram(rows, np.clip(np.floor(x) + 1, 0, w), h, w)
    left_odd = np.cumsum(left, axis=1)[:, :w] & 1
    box = mask[r0:r1, c0:c1]
    box[:] = (right_odd | left_odd).astype(bool)
    on_pixel = (np.abs(xs - np.round(xs)) < VERTEX_EPS_PX) & (np.abs(ys - np.round(ys)) < VERTEX_EPS_PX)
    c, r = np.round(xs[on_pixel]).astype(np.intp), np.round(ys[on_pixel]).astype(np.intp)
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    box[r[inside], c[inside]] = True
    return mask


def _row_crossings(xs: np.ndarray, ys: np.ndarray, xj: np.ndarray, yj: np.ndarray, first: np.ndarray,
                   stop: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, x): where each edge crosses the pixel rows first..stop-1 (clipped to the image), as skimage
    computes it: the crossing's x = (x0 y1 - x1 y0) / (y1 - y0) + c with coordinates relative to the pixel, here
    relative to (0, row): the same value (exact where the vertices sit on the half-pixel grid)."""
    first, stop = np.maximum(first, 0.0), np.minimum(stop, float(h))
    count = np.maximum(stop - first, 0).astype(np.intp)
    edge = np.repeat(np.arange(len(xs)), count)
    rows = first[edge] + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    y0, y1 = ys[edge] - rows, yj[edge] - rows
    x = (xs[edge] * y1 - xj[edge] * y0) / (y1 - y0)
    return rows.astype(np.intp), x


def _histogram(rows: np.ndarray, columns: np.ndarray, h: int, w: int) -> np.ndarray:
    """(h, w + 1) counts of the (row, column) pairs."""
    flat = np.bincount(rows * (w + 1) + columns.astype(np.intp), minlength=h * (w + 1))
    return flat.reshape(h, w + 1)
