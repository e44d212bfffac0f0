"""Stray label islands: pieces of a class cut off from its main region, given to the labels around them.

A network sometimes draws a thin band of one class across another, for example a strip of left atrium
across the LV cavity and the septum (CAMUS valid patient0297, end-diastole). Keeping only the largest
cavity component then measures half a ventricle. Anatomically each class is one connected region, so every
component of a class other than its largest is relabelled, pixel by pixel, with the label of the nearest
pixel outside those islands: a band across the cavity becomes cavity, and where it crosses the
myocardium, myocardium again.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.analysis.masks import components


def island_mask(labels: np.ndarray, cls: int) -> np.ndarray:
    """(H, W) bool: pixels of class `cls` outside its largest 8-connected component."""
    comp, sizes = components(labels == cls)
    if sizes.size < 2:
        return np.zeros(labels.shape, bool)
    result: np.ndarray = (comp > 0) & (comp != int(np.argmax(sizes)) + 1)
    return result


def reassign_islands(labels: np.ndarray, classes: tuple[int, ...]) -> np.ndarray:
    """(H, W) labels with the islands (island_mask) of each class in `classes` relabelled to the label of
    the nearest pixel that is not an island. Classes are cleaned in the given order; the input is not
    modified."""
    out = np.array(labels, copy=True)
    for cls in classes:
        islands = island_mask(out, cls)
        if not islands.any():
            continue
        _, (rows, cols) = ndimage.distance_transform_edt(islands, return_indices=True)
        out[islands] = out[rows[islands], cols[islands]]
    return out
