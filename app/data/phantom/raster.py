"""Polygon rasterisation for the truth masks.

A pixel belongs to a polygon when at least half of it is covered, measured on a 4x finer grid filled
with cv2.fillPoly (sub-pixel vertices). This is as unbiased as testing the pixel centre, whereas a plain
cv2.fillPoly takes every pixel an edge touches (about +5 % area for a 40-pixel disc), and it is much
faster than skimage.draw.polygon on dense contours.
"""

from __future__ import annotations

import cv2
import numpy as np

SUPERSAMPLE = 4


def polygon_mask(points_rc: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool mask of the polygon (N, 2) given in (row, col) pixel coordinates."""
    pts = np.asarray(points_rc, dtype=np.float64)
    rows, cols = shape
    lo = np.clip(np.floor(pts.min(axis=0)).astype(int) - 1, 0, None)
    hi = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 2, (rows, cols))
    out = np.zeros(shape, bool)
    if np.any(hi <= lo):
        return out
    k = SUPERSAMPLE
    fine = np.zeros(((hi[0] - lo[0]) * k, (hi[1] - lo[1]) * k), np.uint8)
    # pixel (i, j) covers [i - 0.5, i + 0.5]; fine pixel centres sit at (i - 0.5 + (m + 0.5) / k)
    local = (pts - lo + 0.5) * k - 0.5
    cv2.fillPoly(fine, [np.round(local[:, ::-1] * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    cover = fine.reshape(hi[0] - lo[0], k, hi[1] - lo[1], k).mean(axis=(1, 3))
    out[lo[0]:hi[0], lo[1]:hi[1]] = cover >= 0.5 + 0.5 / k  # cv2 takes half a fine pixel too much
    return out


def fill_polygon(image: np.ndarray, points_rc: np.ndarray, value) -> None:
    """Set pixels of `image` (H, W) covered at least half by the polygon (N, 2) (row, col) to value."""
    image[polygon_mask(points_rc, image.shape[:2])] = value
