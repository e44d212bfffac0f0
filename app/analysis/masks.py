"""Geometry of binary masks: bounding box, largest component with holes filled, and outline.

Outlines are (N, 2) float arrays of (x, y) = (column, row) in pixels, pixel centres at integer coordinates
(as app/analysis/contours.py). An outline is the marching-squares contour at the 0.5 level, point for point
the one `skimage.measure.find_contours` gives (the test compares them), traced in numpy: skimage joins the
segments one at a time in Python, the largest cost of tracing a frame's borders (benchmarks/NOTES.md).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from app.analysis.polylines import polygon_area_px2

# Marching squares on a binary image at 0.5, as skimage.measure.find_contours (low values fully connected, its
# default): for each 2 x 2 case (ul + 2 ur + 4 ll + 8 lr) the (from, to) edge midpoints of its segments, in
# skimage's order; midpoints 0-3 = top, bottom, left, right of the square, at these (row, col) offsets in
# half pixels from its upper-left pixel.
_T, _B, _L, _R = 0, 1, 2, 3
_CASE_SEGMENTS = {1: ((_T, _L),), 2: ((_R, _T),), 3: ((_R, _L),), 4: ((_L, _B),), 5: ((_T, _B),),
                  6: ((_R, _T), (_L, _B)), 7: ((_R, _B),), 8: ((_B, _R),), 9: ((_T, _L), (_B, _R)), 10: ((_B, _T),),
                  11: ((_B, _L),), 12: ((_L, _R),), 13: ((_T, _R),), 14: ((_L, _T),)}
_SEGMENTS = np.full((16, 2, 2), -1, np.intp)
for _case, _pairs in _CASE_SEGMENTS.items():
    _SEGMENTS[_case, :len(_pairs)] = _pairs
_HALF_ROW, _HALF_COL = np.array([0, 2, 1, 1]), np.array([1, 1, 0, 2])


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

    # without OpenCV's statistics (4x slower than the labelling on a heart's box): sizes by counting labels
    n, lab = cv2.connectedComponents(np.ascontiguousarray(mask, np.uint8), connectivity=8 if eight else 4,
                                     ltype=cv2.CV_32S)
    sizes = np.bincount(lab.ravel(), minlength=n)[1:].astype(np.int64)
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
    piece = lab == (biggest + 1)
    box = label_box(piece, 0)
    assert box is not None  # the component has sizes[biggest] > 0 pixels
    keep = np.zeros(mask.shape, bool)
    keep[box] = fill_holes(piece[box])
    dropped = float(sizes.sum() - sizes[biggest]) / float(sizes[biggest])
    return keep, dropped


def padded_by_one(image: np.ndarray) -> np.ndarray:
    """The (H, W) image inside a one-pixel border of zeros, (H + 2, W + 2): `np.pad(image, 1)` without its
    generic set-up, which cost more than the copy on the per-frame masks."""
    padded = np.zeros((image.shape[0] + 2, image.shape[1] + 2), image.dtype)
    padded[1:-1, 1:-1] = image
    return padded


def near_pixels(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(N,) bool: a True pixel of the (H, W) mask lies in the 3 x 3 neighbourhood of each pixel (rows, cols),
    these inside the image: the 3 x 3 binary dilation of the mask read at those pixels, without dilating the
    whole mask."""
    padded = padded_by_one(np.asarray(mask, bool))
    rows, cols = np.asarray(rows, np.intp) + 1, np.asarray(cols, np.intp) + 1
    near = np.zeros(rows.shape, bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            near |= padded[rows + dr, cols + dc]
    return near


def sample_nearest(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The (H, W) mask read at the nearest pixel of each (row, col) point (any shape), False beyond the pixel
    centres of the image's edge: `ndimage.map_coordinates(mask, [rows, cols], order=0)` (mode 'constant') without
    its spline set-up, the same values (tests/test_mask_helpers.py)."""
    mask = np.asarray(mask)
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    h, w = mask.shape
    inside = (rows >= 0) & (rows <= h - 1) & (cols >= 0) & (cols <= w - 1)
    r = np.floor(np.where(inside, rows, 0) + 0.5).astype(np.intp)
    c = np.floor(np.where(inside, cols, 0) + 0.5).astype(np.intp)
    result: np.ndarray = np.asarray(mask[r, c], bool) & inside
    return result


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


def outline_rc(mask: np.ndarray) -> np.ndarray | None:
    """The longest closed marching-squares contour at 0.5 of the mask with a background border added, as (K + 1, 2)
    (row, col) points in the mask's pixels, the first repeated last: exactly
    `max(skimage.measure.find_contours(np.pad(mask, 1).astype(float), 0.5), key=len) - 1`, its start point and
    direction included (skimage closes each contour with its last segment in scan order); None for an empty mask."""
    m = padded_by_one(np.asarray(mask, bool)).view(np.uint8)
    case = m[:-1, :-1] + 2 * m[:-1, 1:] + 4 * m[1:, :-1] + 8 * m[1:, 1:]
    # the squares the contour crosses (cases 1-14), in scan order; flatnonzero: numpy's 2-D nonzero is far slower
    # (benchmarks/NOTES.md)
    r0, c0 = np.divmod(np.flatnonzero((case - np.uint8(1)) < 14), case.shape[1])
    if r0.size == 0:
        return None
    seg = _SEGMENTS[case[r0, c0]].reshape(-1, 2)  # two slots a square (the second for a saddle), in skimage's order
    rows, cols = np.repeat(r0, 2), np.repeat(c0, 2)
    used = seg[:, 0] >= 0
    seg, rows, cols = seg[used], rows[used], cols[used]
    from_r, from_c = 2 * rows + _HALF_ROW[seg[:, 0]], 2 * cols + _HALF_COL[seg[:, 0]]
    width = 2 * m.shape[1] + 1
    from_key = from_r * width + from_c
    to_key = (2 * rows + _HALF_ROW[seg[:, 1]]) * width + 2 * cols + _HALF_COL[seg[:, 1]]
    by_start = np.argsort(from_key)
    following = by_start[np.searchsorted(from_key[by_start], to_key)]  # every midpoint starts exactly one segment
    chain = _closed_by(following, len(following) - 1)
    if len(chain) < len(following):  # several contours: the longest, the first in skimage's order on a tie
        chain = _closed_by(following, _last_of_longest(following))
    at = np.append(chain, chain[0])
    result: np.ndarray = np.stack([from_r[at] * 0.5 - 1.0, from_c[at] * 0.5 - 1.0], axis=1)
    return result


def _closed_by(following: np.ndarray, last: int) -> np.ndarray:
    """The segments of the contour that segment `last` closes, from the one after it round to it: each segment's
    number of steps to `last` by pointer jumping (list ranking), in numpy instead of a walk in Python."""
    jump = following.copy()
    jump[last] = last  # the cycle cut after `last`, which the others reach and stay on
    steps = (np.arange(following.size) != last).astype(np.intp)
    for _ in range(int(following.size).bit_length()):
        steps, jump = steps + steps[jump], jump[jump]
    members = np.flatnonzero(jump == last)  # other contours' segments never reach it
    chain = np.empty(members.size, np.intp)
    chain[members.size - 1 - steps[members]] = members
    return chain


def _last_of_longest(following: np.ndarray) -> int:
    """The last segment (in scan order) of the longest contour; on a tie, of the one whose first segment comes
    first (skimage's order of contours). Each contour is named by its first segment (pointer jumping)."""
    first, jump = np.arange(following.size), following.copy()
    for _ in range(int(following.size).bit_length()):
        first, jump = np.minimum(first, first[jump]), jump[jump]
    sizes = np.bincount(first, minlength=following.size)
    return int(np.flatnonzero(first == int(np.argmax(sizes)))[-1])


def outer_contour(mask: np.ndarray) -> np.ndarray | None:
    """(N, 2) closed outline (x, y) of a binary mask at the 0.5 level, counter-clockwise in the image
    (traced inside the mask's bounding box)."""
    box = label_box(mask, 0)
    if box is None:
        return None
    rc = outline_rc(mask[box])
    if rc is None:
        return None
    rc = rc[:-1]
    if len(rc) < 3:
        return None
    pts = rc[:, ::-1] + np.array([box[1].start, box[0].start], np.float64)
    result: np.ndarray = pts if polygon_area_px2(pts, signed=True) > 0 else pts[::-1].copy()
    return result
