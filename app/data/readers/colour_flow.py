"""Colour Doppler in an echo clip: the file's ultrasound regions say so (dicom_us.image_mode), or its
pixels show it.

A colour-flow clip paints the blood's velocity over the B-mode image, inside the LV among other places, so the
cavity border under the colour cannot be traced and an EF drawn there is wrong; sonographers measure volumes on
the grey-scale clip of the same view. A scanner may also tint its B-mode (sepia, blue): those pixels are coloured
too, but every one lies on the clip's own grey map, one colour per grey level. So a pixel counts as colour flow
when its colour is far from the median colour of its grey level across the clip (`off_grey_map`), and a clip is a
colour-flow clip when such pixels cover a share of the sector in a good part of its frames (`shows_colour_flow`).
Screen text, colour bars and the ECG lie outside the sector, which the caller's mask leaves out.
A reader that streams a clip (summary_only.py) gathers the map's pixels frame by frame (map_step, grey_map_of) and
tests each frame against it (off_frame, flow_in); none_off_map spares it that second look at a grey clip.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

OFF_MAP_MIN = 48  # of 255, on one channel at least: Doppler colour maps sit far from any grey or tint map
SAMPLED_FRAMES = 16
# colour flow paints patches; an ECG trace, text or a chroma-subsampled edge is a line a few pixels wide
OPEN_PX = 3
MAP_PIXELS = 200_000  # pixels the grey map is estimated from (a regular subset)
MAP_SMOOTH_LEVELS = 33  # the map is a smooth curve: a running median over this many grey levels
MIN_LEVEL_PIXELS = 16  # a grey level seen in fewer sampled pixels takes its neighbours' colour
# A colour box covers a fifth or more of the sector and flow fills part of it in most frames; off-map pixels of a
# grey or tinted clip are a few chroma-subsampled edges.
MIN_SECTOR_SHARE = 0.01
FRAME_QUANTILE = 0.75  # systole or diastole may show little flow: the upper quartile of frames decides


def sample_indices(n_frames: int) -> np.ndarray:
    """Up to SAMPLED_FRAMES frame indices spread over the clip."""
    return np.unique(np.linspace(0, n_frames - 1, min(n_frames, SAMPLED_FRAMES)).round().astype(int))


def map_step(n_pixels: int) -> int:
    """The stride of the regular subset of a sample's pixels (N x H x W of them) the grey map is learnt from."""
    return max(1, n_pixels // MAP_PIXELS)


def grey_map(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray:
    """(256, 3) uint8: the median colour of each grey level over the sampled pixels (a grey clip's map is the
    diagonal; a tinted one bends away from it). rgb (N, H, W, 3) uint8; luma (N, H, W) uint8."""
    step = map_step(luma.size)
    return grey_map_of(luma.reshape(-1)[::step], rgb.reshape(-1, 3)[::step])


def grey_map_of(levels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """grey_map from its subset of pixels: their grey levels (K,) and colours (K, 3)."""
    order = np.argsort(levels, kind="stable")
    levels, colours = levels[order], colours[order]
    starts = np.searchsorted(levels, np.arange(257))
    table = np.full((256, 3), np.nan, dtype=np.float32)
    for level in range(256):
        lo, hi = starts[level], starts[level + 1]
        if hi - lo >= MIN_LEVEL_PIXELS:
            table[level] = np.median(colours[lo:hi], axis=0)
    seen = np.flatnonzero(~np.isnan(table[:, 0]))
    if not len(seen):
        return np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    for channel in range(3):
        table[:, channel] = np.interp(np.arange(256), seen, table[seen, channel])
    # a wide jet of one colour can outnumber the tissue of its own grey level, never of the levels around it
    table = median_filter(table, size=(MAP_SMOOTH_LEVELS, 1), mode="nearest")
    return np.rint(table).clip(0, 255).astype(np.uint8)


def luma_of(frame_rgb: np.ndarray) -> np.ndarray:
    """(H, W) uint8 grey level of one (H, W, 3) uint8 RGB frame."""
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(frame_rgb), cv2.COLOR_RGB2GRAY)


def off_grey_map(rgb: np.ndarray) -> np.ndarray:
    """(N, H, W) bool: pixels of the sampled frames `rgb` (N, H, W, 3) uint8 whose colour is at least OFF_MAP_MIN
    from their grey level's colour on the clip's own map."""
    luma = np.stack([luma_of(f) for f in rgb])
    table = grey_map(rgb, luma)
    off = np.empty(luma.shape, dtype=bool)
    for i, (frame, level) in enumerate(zip(rgb, luma, strict=True)):
        off[i] = off_frame(frame, level, table)
    return off


def off_frame(frame_rgb: np.ndarray, luma: np.ndarray, table: np.ndarray) -> np.ndarray:
    """(H, W) bool: one frame's pixels off the grey map `table` (off_grey_map)."""
    import cv2

    lut = np.ascontiguousarray(table.reshape(256, 1, 3))
    expected = cv2.LUT(cv2.merge([luma, luma, luma]), lut)
    r, g, b = cv2.split(cv2.absdiff(np.ascontiguousarray(frame_rgb), expected))
    colour = (cv2.max(cv2.max(r, g), b) >= OFF_MAP_MIN).view(np.uint8)
    return cv2.morphologyEx(colour, cv2.MORPH_OPEN, np.ones((OPEN_PX, OPEN_PX), np.uint8)).view(bool)


def grey_deviation(frame_rgb: np.ndarray, luma: np.ndarray) -> int:
    """How far one frame strays from grey: the largest difference between a pixel's channel and its grey level."""
    import cv2

    return int(cv2.absdiff(np.ascontiguousarray(frame_rgb), cv2.cvtColor(luma, cv2.COLOR_GRAY2RGB)).max())


def levels_in(luma: np.ndarray) -> np.ndarray:
    """(256,) bool: the grey levels a frame holds."""
    import cv2

    return cv2.calcHist([luma], [0], None, [256], [0, 256]).reshape(-1) > 0


def none_off_map(table: np.ndarray, levels_seen: np.ndarray, deviation: int) -> bool:
    """True when no pixel can be off the grey map `table`, so off_grey_map is all False without being computed: a
    pixel of grey level L is at most `deviation` (grey_deviation) from (L, L, L), which is at most |table[L] - L|
    from the map, for the levels seen ((256,) bool). A grey clip stored as colour (its channels a codec's rounding
    apart) stays far under OFF_MAP_MIN."""
    levels = np.flatnonzero(levels_seen)
    drift = int(np.abs(table[levels].astype(np.int64) - levels[:, None]).max()) if len(levels) else 0
    return deviation + drift < OFF_MAP_MIN


def shows_colour_flow(off: np.ndarray | None, sector_mask: np.ndarray | None) -> bool:
    """True when off-map pixels cover MIN_SECTOR_SHARE of the sector (the whole image without a mask) in the
    FRAME_QUANTILE of the sampled frames. off: (N, H, W) bool from off_grey_map, None for a grey file."""
    if off is None or not len(off):
        return False
    inside = sector_inside(sector_mask, off.shape[1:])
    return flow_in(off[:, inside].mean(axis=1))


def sector_inside(sector_mask: np.ndarray | None, shape_hw: tuple[int, ...]) -> np.ndarray:
    """(H, W) bool: where colour flow is looked for: the sector, or the whole image without one."""
    return sector_mask if sector_mask is not None and sector_mask.any() else np.ones(shape_hw, dtype=bool)


def flow_in(shares: np.ndarray) -> bool:
    """shows_colour_flow from the share of the sector off the map in each sampled frame."""
    return bool(np.quantile(shares, FRAME_QUANTILE) >= MIN_SECTOR_SHARE)
