"""Geometry of binary masks: bounding box, largest component with holes filled, and outline.

Outlines are (N, 2) float arrays of (x, y) = (column, row) in pixels, pixel centres at integer coordinates
(as app/analysis/contours.py).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure

from app.analysis.polylines import polygon_area_px2


def label_box(mask: np.ndarray, margin_px: int) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the bounding box of a (H, W) or (T, H, W) mask's True pixels (over all frames),
    grown by margin_px and clipped to the image; None when the mask is empty."""
    mask = np.asarray(mask)
    plane = np.asarray(mask.any(axis=0)) if mask.ndim == 3 else mask
    rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
    if rows.size == 0:
        return None
    h, w = plane.shape
    return (slice(max(int(rows[0]) - margin_px, 0), min(int(rows[-1]) + 1 + margin_px, h)),
            slice(max(int(cols[0]) - margin_px, 0), min(int(cols[-1]) + 1 + margin_px, w)))


def components(mask: np.ndarray, eight: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The connected components of a 2-D mask as ndimage.label finds them: ((H, W) int32 labels, 0 outside,
    1..n inside; (n,) their sizes). Labelled by OpenCV (several times faster), whose numbering may differ from
    ndimage's raster order; when two components share the largest size, so that the first of them in ndimage's
    order is the one kept, by ndimage itself."""
    import cv2  # lazily: a batch's main process imports this module and no analysis library

    n, lab, stats, _ = cv2.connectedComponentsWithStats(np.ascontiguousarray(mask, np.uint8),
                                                        connectivity=8 if eight else 4, ltype=cv2.CV_32S)
    sizes = stats[1:, cv2.CC_STAT_AREA].astype(np.int64)
    if n > 2 and np.count_nonzero(sizes == sizes.max()) > 1:
        lab, _ = ndimage.label(mask, structure=np.ones((3, 3), bool) if eight else None)
        sizes = np.bincount(lab.ravel())[1:]
    return lab, sizes


def largest_component(mask: np.ndarray) -> tuple[np.ndarray | None, float]:
    """(largest 8-connected component with holes filled, or None if empty; area of the dropped blobs as a
    fraction of the kept one). Holes are filled inside the component's bounding box only (a hole lies in it)."""
    lab, sizes = components(mask)
    if sizes.size == 0:
        return None, 0.0
    biggest = int(np.argmax(sizes))
    box = ndimage.find_objects(lab, max_label=biggest + 1)[biggest]
    keep = np.zeros(mask.shape, bool)
    keep[box] = fill_holes(lab[box] == (biggest + 1))
    dropped = float(sizes.sum() - sizes[biggest]) / float(sizes[biggest])
    return keep, dropped


def near_pixels(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(N,) bool: a True pixel of the (H, W) mask lies in the 3 x 3 neighbourhood of each pixel (rows, cols),
    these inside the image: the 3 x 3 binary dilation of the mask read at those pixels, without dilating the
    whole mask."""
    padded = np.pad(np.asarray(mask, bool), 1)
    rows, cols = np.asarray(rows, np.intp) + 1, np.asarray(cols, np.intp) + 1
    near = np.zeros(rows.shape, bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            near |= padded[rows + dr, cols + dc]
    return near


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """ndimage.binary_fill_holes (background not 4-connected to the image border becomes foreground) by
    labelling the background once instead of dilating from the border until it stops: the same mask, faster."""
    import cv2

    n, background = cv2.connectedComponents(np.ascontiguousarray(~mask, np.uint8), connectivity=4,
                                            ltype=cv2.CV_32S)  # which pieces touch the border: any numbering
    if n <= 1:
        return mask.copy()
    outside = np.zeros(n + 1, bool)
    outside[0] = True  # the mask itself
    for edge in (background[0], background[-1], background[:, 0], background[:, -1]):
        outside[edge] = True
    result: np.ndarray = mask | ~outside[background]
    return result


def outer_contour(mask: np.ndarray) -> np.ndarray | None:
    """(N, 2) closed outline (x, y) of a binary mask at the 0.5 level, counter-clockwise in the image
    (traced inside the mask's bounding box)."""
    box = label_box(mask, 0)
    if box is None:
        return None
    padded = np.pad(mask[box].astype(np.float32), 1)
    found = measure.find_contours(padded, 0.5)
    if not found:
        return None
    rc = max(found, key=len)
    if np.allclose(rc[0], rc[-1]):
        rc = rc[:-1]
    if len(rc) < 3:
        return None
    pts = rc[:, ::-1] - 1.0 + np.array([box[1].start, box[0].start], np.float64)
    result: np.ndarray = pts if polygon_area_px2(pts, signed=True) > 0 else pts[::-1].copy()
    return result
