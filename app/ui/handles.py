"""Size of the contour editor's control points on screen: full size when the points are far apart, smaller on a
short contour (a small apical slice, a zoomed-out view) so the handles do not hide the outline they sit on."""

from __future__ import annotations

import numpy as np

HANDLE_MAX_PX = 11.0
HANDLE_MIN_PX = 4.0
GAP_FRACTION = 0.6  # a handle spans at most this fraction of the gap to its neighbour


def handle_size_px(points_view: np.ndarray, plot, closed: bool = True) -> float:
    """Diameter in screen pixels for control points at `points_view` (N, 2) in `plot`'s view coordinates."""
    pts = np.asarray(points_view, dtype=np.float64)
    if len(pts) < 2:
        return HANDLE_MAX_PX
    px_w, px_h = plot.getPlotItem().vb.viewPixelSize()  # view units per screen pixel
    if not (px_w > 0 and px_h > 0):
        return HANDLE_MAX_PX
    steps = np.diff(np.vstack([pts, pts[:1]]) if closed else pts, axis=0) / np.array([px_w, px_h])
    gap_px = float(np.median(np.hypot(steps[:, 0], steps[:, 1])))
    return float(np.clip(GAP_FRACTION * gap_px, HANDLE_MIN_PX, HANDLE_MAX_PX))
