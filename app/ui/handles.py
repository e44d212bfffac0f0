"""Control points of the contour editor sized to the contour on screen: full size when the points are far apart;
on a short contour (a small apical slice, a zoomed-out view) smaller and fewer (every k-th point keeps a handle),
so the handles do not hide the outline they sit on. Zooming in brings every handle back."""

from __future__ import annotations

import math

import numpy as np

HANDLE_MAX_PX = 11.0
HANDLE_MIN_PX = 5.0
MIN_GAP_PX = 12.0  # screen distance wanted between the handles shown
GAP_FRACTION = 0.45  # a handle spans at most this fraction of the gap to the next handle shown


def handle_sizes_px(points_view: np.ndarray, plot, closed: bool = True) -> np.ndarray:
    """(N,) handle diameters in screen pixels for control points at `points_view` (N, 2) in `plot`'s view
    coordinates; 0 = no handle on that point (it cannot be picked; the contour still passes through it)."""
    pts = np.asarray(points_view, dtype=np.float64)
    n = len(pts)
    if n < 2:
        return np.full(n, HANDLE_MAX_PX)
    px_w, px_h = plot.getPlotItem().vb.viewPixelSize()  # view units per screen pixel
    if not (px_w > 0 and px_h > 0):
        return np.full(n, HANDLE_MAX_PX)
    steps = np.diff(np.vstack([pts, pts[:1]]) if closed else pts, axis=0) / np.array([px_w, px_h])
    gap_px = max(float(np.median(np.hypot(steps[:, 0], steps[:, 1]))), 1e-6)
    every = min(max(1, math.ceil(MIN_GAP_PX / gap_px)), max(n // 4, 1))  # at least 4 handles remain
    sizes = np.zeros(n)
    sizes[::every] = float(np.clip(GAP_FRACTION * gap_px * every, HANDLE_MIN_PX, HANDLE_MAX_PX))
    if not closed:
        sizes[-1] = sizes[0]  # both ends of an open contour stay movable
    return sizes


def size_handles(editor, cine) -> None:
    """Apply handle_sizes_px to the contour editor's points on the cine view (after a frame, slice or zoom change)."""
    contour = editor.contour
    if contour is not None and len(editor.points.data) == len(contour.points_px):
        editor.points.setSize(handle_sizes_px(cine.px_to_view(contour.points_px), cine.plot, contour.closed))
