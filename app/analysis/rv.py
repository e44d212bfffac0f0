"""The right ventricle on a short-axis MRI label map: label 3 (0 background, 1 LV blood pool, 2 LV
myocardium, 3 RV blood pool).

`rv_outline(labels)` is the closed border (x, y pixels, counter-clockwise) of the RV blood pool on one
slice and phase: its largest 8-connected component with holes filled (trabeculae and the moderator band,
dark inside the pool, count as pool, as the LV's papillary muscles do), or None when there is no RV.
It is independent of the LV: basal slices hold RV outflow tract without any LV blood pool.
"""

from __future__ import annotations

import numpy as np

from app.analysis.masks import largest_component, outer_contour
from app.analysis.polylines import contour_to_mask

RV_LABEL = 3
MIN_RV_PIXELS = 3  # fewer pixels draw no polygon


def rv_outline(labels: np.ndarray) -> np.ndarray | None:
    """(N, 2) closed outline of the RV blood pool of one (H, W) label map, or None."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got shape {labels.shape}")
    pool, _ = largest_component(labels == RV_LABEL)
    if pool is None or int(pool.sum()) < MIN_RV_PIXELS:
        return None
    return outer_contour(pool)


def rv_drawn(labels: np.ndarray, rv_px: np.ndarray | None) -> np.ndarray:
    """The (H, W) label map with the (possibly edited) RV border filled as label 3 where it is background."""
    if rv_px is None or len(rv_px) < 3:
        return labels
    out = labels.copy()
    out[contour_to_mask(rv_px, labels.shape) & (out == 0)] = RV_LABEL
    return out
