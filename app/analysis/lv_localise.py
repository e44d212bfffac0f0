"""Find the LV centre in a short-axis cine: motion over the cycle plus a circle (Hough) detector.

As in Zhang et al.: the LV blood pool is a bright disc (a circle for the Hough transform) ringed by
myocardium that moves over the cardiac cycle (a high temporal standard deviation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.feature import canny
from skimage.transform import hough_circle, hough_circle_peaks

RADIUS_RANGE_MM = (10.0, 35.0)
CENTRE_SIGMA_MM = 40.0  # broad prior: short-axis cines are planned with the LV near the centre


@dataclass(frozen=True)
class LvLocation:
    """LV centre (row, col) in pixels of the input grid, blood-pool radius in mm, and a 0..1 score."""

    center_rc: tuple[float, float]
    radius_mm: float
    score: float


def motion_map(phases: np.ndarray) -> np.ndarray:
    """(H, W) temporal standard deviation of (T, H, W) frames, normalised to 0..1 and smoothed."""
    data = phases.astype(np.float32)
    scale = np.percentile(data, 99.5) or 1.0
    std = (data / scale).std(axis=0)
    std = ndimage.gaussian_filter(std, sigma=max(2.0, min(std.shape) / 64))
    result: np.ndarray = std / (std.max() or 1.0)
    return result


def localise_lv(phases: np.ndarray, spacing_mm: tuple[float, float]) -> LvLocation:
    """LV location in one short-axis slice's (T, H, W) cine (mid-ventricular works best).

    Candidates are Hough circles of LV blood-pool size on the edges of the mean image. Each is scored by
    its edge support x the contrast between the bright blood pool and the darker myocardial ring around
    it x the motion over the cycle at its border x a broad prior towards the image centre (short-axis
    cines are planned with the heart near the centre). Falls back to the image centre when no circle is
    found.
    """
    pixel_mm = float(np.mean(spacing_mm))
    height, width = phases.shape[-2:]
    motion = motion_map(phases)
    mean_image = phases.astype(np.float32).mean(axis=0)
    mean_image = np.clip(mean_image / (np.percentile(mean_image, 99.5) or 1.0), 0.0, 1.0)
    edges = canny(mean_image, sigma=2.0)
    radii_px = np.arange(RADIUS_RANGE_MM[0] / pixel_mm, RADIUS_RANGE_MM[1] / pixel_mm, 1.0)
    fallback = LvLocation((height / 2.0, width / 2.0), 20.0, 0.0)
    if len(radii_px) == 0 or not edges.any():
        return fallback
    accum = hough_circle(edges, radii_px)
    peaks = hough_circle_peaks(accum, radii_px, total_num_peaks=150, min_xdistance=3, min_ydistance=3)
    best, best_score = None, 0.0
    for edge_score, col, row, radius in zip(*peaks, strict=True):
        pool, ring = _disc_and_ring_means(mean_image, row, col, 0.8 * radius, 1.3 * radius)
        border_motion, _ = _disc_and_ring_means(motion, row, col, 1.5 * radius, 1.5 * radius + 1)
        off_centre_mm = np.hypot(row - height / 2.0, col - width / 2.0) * pixel_mm
        centre_prior = np.exp(-0.5 * (off_centre_mm / CENTRE_SIGMA_MM) ** 2)
        score = float(edge_score * max(pool - ring, 0.0) * border_motion * centre_prior)
        if score > best_score:
            best, best_score = (float(row), float(col), float(radius)), score
    if best is None:
        return fallback
    row, col, radius = best
    return LvLocation(center_rc=(row, col), radius_mm=radius * pixel_mm, score=best_score)


def localise_stack(frames: np.ndarray, spacing_mm: tuple[float, float]) -> LvLocation:
    """LV location for a (S, T, H, W) stack: the score-weighted median of the middle slices' centres."""
    n_slices = frames.shape[0]
    middle = range(max(0, n_slices // 4), max(1, n_slices - n_slices // 4))
    found = [localise_lv(frames[s], spacing_mm) for s in middle]
    weights = np.array([f.score for f in found]) + 1e-9
    rows = np.array([f.center_rc[0] for f in found])
    cols = np.array([f.center_rc[1] for f in found])
    radii = np.array([f.radius_mm for f in found])
    return LvLocation(
        center_rc=(_weighted_median(rows, weights), _weighted_median(cols, weights)),
        radius_mm=_weighted_median(radii, weights),
        score=float(np.max(weights)),
    )


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def _disc_and_ring_means(image: np.ndarray, row: float, col: float, r_in: float, r_out: float) -> tuple[float, float]:
    """Mean of `image` inside radius r_in and in the ring r_in..r_out around (row, col)."""
    rr, cc = np.ogrid[: image.shape[0], : image.shape[1]]
    d2 = (rr - row) ** 2 + (cc - col) ** 2
    disc = d2 <= max(r_in, 1.0) ** 2
    ring = (d2 > r_in**2) & (d2 <= r_out**2)
    return (float(image[disc].mean()) if disc.any() else 0.0, float(image[ring].mean()) if ring.any() else 0.0)


def crop_around(image: np.ndarray, center_rc: tuple[float, float], size_px: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Crop (..., H, W) to (..., size, size) centred on center_rc, zero-padding outside.

    Returns the crop and the (row, col) offset of its top-left corner in the input grid.
    """
    h, w = image.shape[-2:]
    top = int(round(center_rc[0])) - size_px // 2
    left = int(round(center_rc[1])) - size_px // 2
    out = np.zeros(image.shape[:-2] + (size_px, size_px), dtype=image.dtype)
    r0, r1 = max(top, 0), min(top + size_px, h)
    c0, c1 = max(left, 0), min(left + size_px, w)
    if r1 > r0 and c1 > c0:
        out[..., r0 - top : r1 - top, c0 - left : c1 - left] = image[..., r0:r1, c0:c1]
    return out, (top, left)
