"""Contour agreement for short-axis segmentation: average perpendicular distance (APD), in mm.

APD as in the Sunnybrook evaluation framework (Radau et al. 2009): the mean distance from each point of
one contour to the closest point of the other, averaged both ways. Masks are (H, W) bool; the contour is
the mask's boundary pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def boundary(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool -> (H, W) bool of mask pixels with a 4-neighbour outside the mask."""
    result: np.ndarray = mask & ~ndimage.binary_erosion(mask, border_value=0)
    return result


def average_perpendicular_distance_mm(
    pred: np.ndarray, truth: np.ndarray, spacing_mm: tuple[float, float] = (1.0, 1.0)
) -> float:
    """Symmetric mean boundary distance (mm) between two masks; inf when exactly one is empty."""
    a, b = boundary(pred.astype(bool)), boundary(truth.astype(bool))
    if not a.any() and not b.any():
        return 0.0
    if not a.any() or not b.any():
        return float("inf")
    to_b = ndimage.distance_transform_edt(~b, sampling=spacing_mm)
    to_a = ndimage.distance_transform_edt(~a, sampling=spacing_mm)
    return float(0.5 * (to_b[a].mean() + to_a[b].mean()))
