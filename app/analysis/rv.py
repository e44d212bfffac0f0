"""The right ventricle on a short-axis MRI label map: label 3 (0 background, 1 LV blood pool, 2 LV
myocardium, 3 RV blood pool).

`rv_outline(labels)` is the closed border (x, y pixels, counter-clockwise) of the RV blood pool on one
slice and phase: its largest 8-connected component with holes filled (trabeculae and the moderator band,
dark inside the pool, count as pool, as the LV's papillary muscles do), or None when there is no RV.
It is independent of the LV: basal slices hold RV outflow tract without any LV blood pool.
"""

from __future__ import annotations

import numpy as np

from app.analysis.contours import largest_component, outer_contour

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
