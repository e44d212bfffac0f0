"""Myocardial borders and the centerline of an apical LV myocardium, from a label image.

Apical views show the myocardium as a horseshoe open towards the mitral annulus. The endocardial
border is the part of the cavity outline that touches the myocardium (annulus to annulus over the
apex); the epicardial border is found by casting a ray from each endocardial point along its outward
normal until it leaves the myocardium. The centerline is the midpoint of each endo/epi pair,
resampled to N equally spaced points (default 120) from the image-left annulus over the apex to the
image-right annulus.

Coordinates are pixels (x = column, y = row), like app/analysis/contours.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from app.analysis.masks import components, near_pixels, outline_rc, sample_nearest

N_CENTERLINE_POINTS = 120
CAVITY_LABEL = 1
MYOCARDIUM_LABEL = 2


@dataclass(frozen=True)
class Centerline:
    """Borders and centerline of one frame.

    points_px: (N, 2) centerline, equally spaced along its arc, left annulus -> apex -> right annulus.
    endo_px, epi_px: (M, 2) paired endocardial and epicardial border points (same ordering).
    thickness_px: (M,) wall thickness along the outward normal at each endo point.
    """

    points_px: np.ndarray
    endo_px: np.ndarray
    epi_px: np.ndarray
    thickness_px: np.ndarray

    @property
    def length_px(self) -> float:
        return polyline_length(self.points_px)


# -- polyline geometry ------------------------------------------------------------------------
def polyline_length(points_px: np.ndarray) -> float:
    """Length of an open polyline (N, 2)."""
    return float(np.sum(np.linalg.norm(np.diff(points_px, axis=0), axis=1)))


def polyline_lengths(points_px: np.ndarray) -> np.ndarray:
    """Lengths of many open polylines: (..., N, 2) -> (...)."""
    result: np.ndarray = np.sum(np.linalg.norm(np.diff(points_px, axis=-2), axis=-1), axis=-1)
    return result


def resample_polyline(points_px: np.ndarray, n_points: int) -> np.ndarray:
    """(M, 2) polyline -> (n_points, 2) points equally spaced along its arc (ends kept)."""
    pts = np.asarray(points_px, dtype=np.float64)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])
    pts, arc = pts[keep], np.concatenate([[0.0], np.cumsum(seg[seg > 1e-9])])
    if len(pts) < 2:
        raise ValueError("polyline has fewer than two distinct points")
    target = np.linspace(0.0, arc[-1], n_points)
    return np.stack([np.interp(target, arc, pts[:, 0]), np.interp(target, arc, pts[:, 1])], axis=1)


def project_onto_polyline(points_px: np.ndarray, polyline_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on a polyline: points (N, 2), polyline (M, 2) -> ((N, 2) projections, (N,) distances)."""
    p = np.asarray(points_px, dtype=np.float64)
    line = np.asarray(polyline_px, dtype=np.float64)
    # x and y as separate (N, M - 1) planes: sums over a last axis of two are numpy's slowest reductions, and
    # x + y is the same sum in the same order (the same bits)
    px, py = p[:, :1], p[:, 1:]
    ax, ay = line[None, :-1, 0], line[None, :-1, 1]
    abx, aby = np.diff(line[:, 0])[None], np.diff(line[:, 1])[None]
    denom = np.maximum(abx * abx + aby * aby, 1e-12)
    t = np.clip(((px - ax) * abx + (py - ay) * aby) / denom, 0.0, 1.0)
    qx, qy = ax + t * abx, ay + t * aby
    d2 = (px - qx) ** 2 + (py - qy) ** 2
    best = np.argmin(d2, axis=1)
    rows = np.arange(p.shape[0])
    return np.stack([qx[rows, best], qy[rows, best]], axis=1), np.sqrt(d2[rows, best])


# -- borders ----------------------------------------------------------------------------------
def _largest_component(mask: np.ndarray) -> np.ndarray:
    lab, sizes = components(mask, eight=False)
    if sizes.size <= 1:
        return mask
    result: np.ndarray = lab == (1 + int(np.argmax(sizes)))
    return result


def _longest_true_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of True in a circular boolean array."""
    n = len(flags)
    if flags.all():
        raise ValueError("the myocardium surrounds the whole cavity: not an apical (open) view")
    shift = int(np.argmin(flags))  # start just after a False so no run wraps
    edges = np.diff(np.concatenate([[0], np.roll(flags, -shift).astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if starts.size == 0:
        raise ValueError("the cavity does not touch the myocardium")
    best = int(np.argmax(stops - starts))  # the first of the longest
    return (int(starts[best]) + shift) % n, int(stops[best] - starts[best])


def endocardial_border(labels: np.ndarray, smooth_px: float = 2.0, cavity: np.ndarray | None = None) -> np.ndarray:
    """(M, 2) endocardium (x, y) at ~1 px spacing, image-left annulus -> apex -> right annulus.

    labels: (H, W) integer image with CAVITY_LABEL and MYOCARDIUM_LABEL; cavity: its largest cavity component when
    the caller has it.
    """
    cavity = _largest_component(labels == CAVITY_LABEL) if cavity is None else cavity
    myo = labels == MYOCARDIUM_LABEL
    if cavity.sum() < 20 or myo.sum() < 20:
        raise ValueError("labels need an LV cavity (1) and myocardium (2) of at least 20 pixels each")
    closed = outline_rc(cavity)
    if closed is None:
        raise ValueError("labels need an LV cavity (1)")
    ring = closed[:-1]  # closed (row, col); drop the repeated end
    rr = np.clip(np.round(ring[:, 0]).astype(int), 0, labels.shape[0] - 1)
    cc = np.clip(np.round(ring[:, 1]).astype(int), 0, labels.shape[1] - 1)
    start, length = _longest_true_run(near_pixels(myo, rr, cc))
    run = np.roll(ring, -start, axis=0)[:length][:, ::-1]  # -> (x, y)
    if length < 10:
        raise ValueError("endocardial border too short")
    if run[0, 0] > run[-1, 0]:
        run = run[::-1]
    length_px = polyline_length(run)
    pts = resample_polyline(run, max(int(round(length_px)), 10))
    result: np.ndarray = ndimage.gaussian_filter1d(pts, smooth_px, axis=0, mode="nearest")
    return result


def _outward_normals(endo_px: np.ndarray, cavity: np.ndarray) -> np.ndarray:
    tangent = np.gradient(endo_px, axis=0)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    probe = endo_px + 2.0 * normal
    inside = sample_nearest(cavity, probe[:, 1], probe[:, 0])
    return -normal if inside.mean() > 0.5 else normal


def _fix_basal_ends(thick: np.ndarray) -> np.ndarray:
    """Rays from the last endocardial points can leave through the basal cap instead of the
    epicardium and so read too thin; there the thickness of the adjacent basal wall is used."""
    band = max(3, int(round(0.06 * len(thick))))
    out = thick.copy()
    for end, ref_zone in ((slice(0, band), slice(band, 3 * band)), (slice(-band, None), slice(-3 * band, -band))):
        ref = float(np.median(thick[ref_zone])) if len(thick[ref_zone]) else float(np.median(thick))
        out[end] = np.maximum(out[end], ref)
    return out


def wall_thickness(labels: np.ndarray, endo_px: np.ndarray, normals: np.ndarray, step_px: float = 0.5,
                   max_px: float | None = None) -> np.ndarray:
    """(M,) distance along each outward normal from the endocardium to where the myocardium ends (rays of
    max_px, default 0.35 x the larger image side)."""
    max_px = 0.35 * max(labels.shape) if max_px is None else float(max_px)
    thick = _ray_exits(labels == MYOCARDIUM_LABEL, endo_px, normals, np.arange(0.0, max_px, step_px))
    if np.isnan(thick).all():
        raise ValueError("no myocardium found outside the endocardium")
    idx = np.arange(len(thick))
    ok = ~np.isnan(thick)
    thick = _fix_basal_ends(np.interp(idx, idx[ok], thick[ok]))
    thick = ndimage.median_filter(thick, size=9, mode="nearest")
    result: np.ndarray = ndimage.gaussian_filter1d(thick, 3.0, mode="nearest")
    return result


def _ray_exits(myo_mask: np.ndarray, starts_px: np.ndarray, directions: np.ndarray, s_px: np.ndarray,
               chunk: int = 32) -> np.ndarray:
    """(M,) the first distance along each ray (start + s * direction, s from s_px) where it leaves the mask
    after having entered it; NaN when it never enters or never leaves. Rays are followed `chunk` samples at a
    time and dropped once they have left (the chunk: benchmarks/NOTES.md)."""
    mask = np.asarray(myo_mask, bool)
    exits = np.full(len(starts_px), np.nan)
    entered = np.zeros(len(starts_px), bool)
    pending = np.arange(len(starts_px))
    for first in range(0, len(s_px), chunk):
        s = s_px[first:first + chunk]
        ray = starts_px[pending, None, :] + s[None, :, None] * directions[pending, None, :]  # (m, S, 2)
        inside = sample_nearest(mask, ray[..., 1], ray[..., 0])
        seen = np.maximum.accumulate(inside, axis=1) | entered[pending, None]
        left = seen & ~inside
        out = left.any(axis=1)
        exits[pending[out]] = s[np.argmax(left[out], axis=1)]
        entered[pending] = seen[:, -1]
        pending = pending[~out]
        if pending.size == 0:
            break
    return exits


def centerline_from_labels(labels: np.ndarray, n_points: int = N_CENTERLINE_POINTS, *,
                           max_ray_px: float | None = None) -> Centerline:
    """Borders and centerline of one (H, W) label image (1 cavity, 2 myocardium). max_ray_px: longest wall
    thickness looked for (default 0.35 x the larger image side; give the whole image's for a crop of it)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got {labels.shape}")
    cavity = _largest_component(labels == CAVITY_LABEL)
    endo = endocardial_border(labels, cavity=cavity)
    normals = _outward_normals(endo, cavity)
    thick = wall_thickness(labels, endo, normals, max_px=max_ray_px)
    epi = endo + thick[:, None] * normals
    mid = endo + 0.5 * thick[:, None] * normals
    return Centerline(resample_polyline(mid, n_points), endo, epi, thick)


def centerlines_from_labels(labels: np.ndarray, n_points: int = N_CENTERLINE_POINTS) -> np.ndarray:
    """(T, H, W) labels -> (T, n_points, 2) centerlines."""
    return np.stack([centerline_from_labels(lab, n_points).points_px for lab in labels])
