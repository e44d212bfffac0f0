"""Find the ultrasound image sector on a screen capture and blank everything outside it.

Echo files often hold the whole scanner screen: the B-mode sector plus text, rulers, colour bars and
an ECG trace. The sector is found from
1. the ultrasound region bounds in the file (a box), when given, and
2. intensity over time: pixels that never change across the clip are annotations; the largest
   connected blob of changing, non-black pixels is the sector (its convex hull, so dark blood pools
   inside it stay in). A few frames say too little about change (an ED/ES pair: where the heart did not
   move between the two, tissue looks as static as text), so up to MIN_FRAMES_FOR_CHANGE - 1 frames the
   non-black pixels of their brightest projection are used instead, as for a single frame.
Thin lines and small text are removed by a morphological opening before the blob is chosen, and the
blob is made symmetric about the sector axis (a side with no signal at all cannot be seen otherwise).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

Box = tuple[int, int, int, int]  # (row0, col0, row1, col1), inclusive, in pixels

CHANGE_FRACTION = 0.005  # speckle in the dark far field still changes by a grey level or two
BRIGHT_FRACTION = 0.01
MIN_AREA_FRACTION = 0.04  # a sector smaller than this part of the search area is not trusted
MIN_HEIGHT_FRACTION = 0.15  # a blob flatter than this part of the image is a banner, not a sector
_OPEN_RADIUS_PX = 3
_OPEN_OFFSETS_PX = np.arange(-_OPEN_RADIUS_PX, _OPEN_RADIUS_PX + 1)
# skimage.morphology.disk(3), built here: importing skimage.morphology costs 0.1 s of every echo file read
_OPEN_DISK = _OPEN_OFFSETS_PX[:, None] ** 2 + _OPEN_OFFSETS_PX[None, :] ** 2 <= _OPEN_RADIUS_PX**2
_MAX_ANALYSED_FRAMES = 64
# Sector mismatch (pixels wrong / sector pixels) against a reference, by rule: CAMUS valid ED/ES pairs (50, zero
# outside the sector): change 6.5 % mean, 28 % worst; brightness 0.9 %, 1.9 %. The real A4C screen capture with
# text and ECG (../shared/data/echo_clip_a4c, against its 20 frames): change from its first 2 / 3 / 5 / 8 frames
# none found / 2.5 / 1.3 / 0.9 %; brightness of one frame 0.8 %.
MIN_FRAMES_FOR_CHANGE = 8


def box_mask(shape_hw: tuple[int, int], box: Box | None) -> np.ndarray:
    """(H, W) bool, True inside `box` (clipped to the image), everything when `box` is None."""
    mask = np.zeros(shape_hw, dtype=bool)
    if box is None:
        mask[:] = True
        return mask
    r0, c0, r1, c1 = box
    h, w = shape_hw
    r0, r1 = max(0, min(r0, r1)), min(h - 1, max(r0, r1))
    c0, c1 = max(0, min(c0, c1)), min(w - 1, max(c0, c1))
    mask[r0 : r1 + 1, c0 : c1 + 1] = True
    return mask


def sample_step(n_frames: int) -> int:
    """The stride of the frames the sector is found from: every frame of a short clip, up to about
    2 x _MAX_ANALYSED_FRAMES spread over a long one."""
    return max(1, n_frames // _MAX_ANALYSED_FRAMES)


class SectorEvidence:
    """Per-pixel brightest and darkest grey over the sampled frames, added one at a time: all the sector rule uses
    of them, so a reader that streams a clip (`info`) need not keep its frames."""

    def __init__(self) -> None:
        self.n_frames = 0
        self.peak: np.ndarray | None = None
        self.trough: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        """One sampled (H, W) grey frame."""
        if self.peak is None or self.trough is None:
            self.peak, self.trough = frame.copy(), frame.copy()
        else:
            np.maximum(self.peak, frame, out=self.peak)
            np.minimum(self.trough, frame, out=self.trough)
        self.n_frames += 1

    def sector(self, box: Box | None = None) -> np.ndarray | None:
        """detect_sector's mask from the frames added."""
        if self.peak is None or self.trough is None or min(self.peak.shape) < 8:
            return None
        area = box_mask(self.peak.shape, box)
        found = _candidates(self.peak, self.trough, self.n_frames) & area
        found = ndimage.binary_opening(found, structure=_OPEN_DISK)
        blob = _largest_blob(found)
        rows = np.nonzero(blob.any(axis=1))[0]
        flat = rows.size == 0 or (rows[-1] - rows[0] + 1) < MIN_HEIGHT_FRACTION * self.peak.shape[0]
        if flat or blob.sum() < MIN_AREA_FRACTION * area.sum():  # nothing, or a text banner
            return area if box is not None else None
        return _convex_hull(_mirrored(blob)) & area


def _candidates(peak: np.ndarray, trough: np.ndarray, n_frames: int) -> np.ndarray:
    """(H, W) bool: pixels that look like image content (changing over time; bright in a short clip), from the
    brightest and darkest grey of each pixel over n_frames sampled frames."""
    peak = peak.astype(np.float32)
    span = float(np.percentile(peak, 99.5)) or 1.0
    bright = peak > BRIGHT_FRACTION * span
    if n_frames < MIN_FRAMES_FOR_CHANGE:
        return bright
    changing = (peak - trough.astype(np.float32)) > CHANGE_FRACTION * span
    if changing.mean() < 0.01:  # a frozen clip: fall back to brightness
        return bright
    return changing & bright


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def _convex_hull(blob: np.ndarray) -> np.ndarray:
    """(H, W) bool convex hull of a blob (OpenCV: much faster than a point-in-polygon test)."""
    import cv2

    rows, cols = np.nonzero(blob)
    points = np.stack([cols, rows], axis=1).astype(np.int32)
    hull = cv2.convexHull(points)
    filled = np.zeros(blob.shape, dtype=np.uint8)
    cv2.fillConvexPoly(filled, hull, 1)
    return filled.astype(bool)


def _mirrored(blob: np.ndarray) -> np.ndarray:
    """`blob` united with its mirror image about the sector axis (the vertical line through the middle
    of its top rows). A scan sector is symmetric about its axis, so a far-field side that shows no
    signal at all (constant black) is restored from the other side."""
    rows = np.nonzero(blob.any(axis=1))[0]
    top = rows[: max(1, len(rows) // 20)]
    cols = np.nonzero(blob[top].any(axis=0))[0]
    axis_col = (cols.min() + cols.max()) / 2.0
    width = blob.shape[1]
    source = np.rint(2.0 * axis_col - np.arange(width)).astype(int)
    valid = (source >= 0) & (source < width)
    mirror = np.zeros_like(blob)
    mirror[:, valid] = blob[:, source[valid]]
    return blob | mirror


def detect_sector(frames: np.ndarray, box: Box | None = None) -> np.ndarray | None:
    """(H, W) bool sector mask from (T, H, W) grey frames, or None when nothing plausible is found.

    `box` is the ultrasound region from the file; the result never leaves it.
    """
    if frames.ndim != 3 or frames.shape[0] == 0:
        return None
    evidence = SectorEvidence()
    for frame in frames[:: sample_step(frames.shape[0])]:
        evidence.add(frame)
    return evidence.sector(box)


def apply_mask(frames: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """(T, H, W) frames, or (T, H, W, C) colours, with every pixel outside `mask` set to zero (unchanged when mask
    is None)."""
    if mask is None:
        return frames
    inside = mask[None] if frames.ndim == 3 else mask[None, :, :, None]
    return np.where(inside, frames, np.zeros((), dtype=frames.dtype))
