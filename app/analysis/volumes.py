"""LV volumes: method of disks (Simpson, monoplane and biplane), area-length, slice summation, mass; which end
of a short-axis stack is the base.

All functions take points or areas already in millimetres (see contours.to_mm) and return millilitres.

Method of disks: the long axis runs from the mitral annulus midpoint to the apex; it is cut into 20 disks
of equal height L/20; the diameter of disk i is the width of the cavity polygon along the line
perpendicular to the axis through the disk's centre (total chord length inside, so concave shapes work).
Monoplane V = pi/4 * sum(d_i^2) * L/20; biplane V = pi/4 * sum(a_i * b_i) * L/20 with L the longer of the
two views' lengths (ASE/EACVI 2015).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from app.analysis.polylines import to_mm

if TYPE_CHECKING:  # contours imports this module
    from app.analysis.contours import LvContours

N_DISKS = 20
MYOCARDIAL_DENSITY_G_PER_ML = 1.05
APEX_END_RATIO = 1.5  # stack_base_first: LV pool of the last third of its slices / the first third's, apex first
_MM3_PER_ML = 1000.0


@dataclass(frozen=True, eq=False)
class Disks:
    """Disk decomposition of one cavity outline.

    diameters_mm: (n,) width of each disk; length_mm: long-axis length; volume_ml: monoplane volume;
    chords_mm: (n, 2, 2) end points (x, y) of each disk's chord (for drawing; NaN where the line misses);
    base_mm, apex_mm: (2,) ends of the long axis.
    """

    diameters_mm: np.ndarray
    length_mm: float
    volume_ml: float
    chords_mm: np.ndarray
    base_mm: np.ndarray
    apex_mm: np.ndarray


def method_of_disks(outline_mm: np.ndarray, base_mm: np.ndarray, apex_mm: np.ndarray,
                    n_disks: int = N_DISKS, with_chords: bool = True) -> Disks:
    """Disks of a cavity polygon (N, 2) in mm (an open endocardium is closed by its end chord).

    with_chords=False skips the chord end points (NaN) for speed when only volumes are needed.
    """
    pts = np.asarray(outline_mm, dtype=np.float64)
    base = np.asarray(base_mm, dtype=np.float64)
    apex = np.asarray(apex_mm, dtype=np.float64)
    axis = apex - base
    length = float(np.hypot(*axis))
    chords = np.full((n_disks, 2, 2), np.nan)
    if length <= 0 or len(pts) < 3:
        return Disks(np.zeros(n_disks), 0.0, 0.0, chords, base, apex)
    e = axis / length
    n = np.array([-e[1], e[0]])
    rel = pts - base
    u0, v0 = rel @ e, rel @ n
    u1, v1 = np.roll(u0, -1), np.roll(v0, -1)
    h = length / n_disks
    # level k (at (k + 0.5) h) crosses edge j when lo_j <= level < hi_j (half-open: vertices count once)
    lo, hi = np.minimum(u0, u1), np.maximum(u0, u1)
    k_first = np.ceil(lo / h - 0.5).astype(np.int64)
    k_stop = np.ceil(hi / h - 0.5).astype(np.int64)
    k_first, k_stop = np.clip(k_first, 0, n_disks), np.clip(k_stop, 0, n_disks)
    counts = np.maximum(k_stop - k_first, 0)
    edge = np.repeat(np.arange(len(u0)), counts)
    k = np.repeat(k_first, counts) + (np.arange(edge.size) - np.repeat(np.cumsum(counts) - counts, counts))
    s = (k + 0.5) * h
    vc = v0[edge] + (s - u0[edge]) * (v1[edge] - v0[edge]) / (u1[edge] - u0[edge])
    sign = np.sign(u1[edge] - u0[edge])
    diameters = np.abs(np.bincount(k, weights=sign * vc, minlength=n_disks))
    if with_chords and edge.size:
        vmin = np.full(n_disks, np.inf)
        vmax = np.full(n_disks, -np.inf)
        np.minimum.at(vmin, k, vc)
        np.maximum.at(vmax, k, vc)
        hit = np.isfinite(vmin)
        centres = base + ((np.arange(n_disks) + 0.5) * h)[:, None] * e
        chords[hit, 0] = centres[hit] + vmin[hit, None] * n
        chords[hit, 1] = centres[hit] + vmax[hit, None] * n
    return Disks(diameters, length, monoplane_volume_ml(diameters, length), chords, base, apex)


def contour_disks(
    contours: LvContours | None, spacing_mm: tuple[float, float], with_chords: bool = True
) -> Disks | None:
    """Disks of one long-axis LvContours (app.analysis.contours) with pixel spacing (row, col) in mm.

    None when there is no open endocardial border with an apex and a mitral annulus midpoint. Pass
    (1.0, 1.0) for an uncalibrated recording: the disks are then in pixel units.
    """
    if (contours is None or contours.closed or contours.apex_px is None or contours.base_mid_px is None
            or len(contours.endo_px) < 3):
        return None
    return method_of_disks(to_mm(contours.endo_px, spacing_mm), to_mm(contours.base_mid_px, spacing_mm),
                           to_mm(contours.apex_px, spacing_mm), with_chords=with_chords)


def monoplane_volume_ml(diameters_mm: np.ndarray, length_mm: float) -> float:
    """pi/4 * sum(d_i^2) * L/n in ml."""
    d = np.asarray(diameters_mm, dtype=np.float64)
    return float(np.pi / 4.0 * np.sum(d * d) * length_mm / len(d) / _MM3_PER_ML)


def biplane_volume_ml(a_mm: np.ndarray, b_mm: np.ndarray, length_a_mm: float, length_b_mm: float) -> float:
    """pi/4 * sum(a_i * b_i) * max(La, Lb)/n in ml (a, b: disk diameters of two orthogonal views)."""
    a = np.asarray(a_mm, dtype=np.float64)
    b = np.asarray(b_mm, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"both views need the same number of disks, got {a.shape} and {b.shape}")
    return float(np.pi / 4.0 * np.sum(a * b) * max(length_a_mm, length_b_mm) / len(a) / _MM3_PER_ML)


def area_length_volume_ml(area_mm2: float, length_mm: float) -> float:
    """Single-plane area-length: V = 8 A^2 / (3 pi L) in ml."""
    if length_mm <= 0:
        return 0.0
    return float(8.0 * area_mm2**2 / (3.0 * np.pi * length_mm) / _MM3_PER_ML)


def polygon_area_mm2(points_mm: np.ndarray) -> float:
    """Shoelace area of a closed polygon (N, 2) in mm^2."""
    p = np.asarray(points_mm, dtype=np.float64)
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def slice_summation_ml(areas_mm2: npt.ArrayLike, slice_spacing_mm: float) -> float:
    """Short-axis stack: sum of slice cavity areas x slice spacing (missing slices count as 0), in ml."""
    a = np.nan_to_num(np.asarray(areas_mm2, dtype=np.float64), nan=0.0)
    return float(a.sum() * slice_spacing_mm / _MM3_PER_ML)


def stack_base_first(lv_areas: npt.ArrayLike) -> bool:
    """Whether slice 0 of a short-axis stack is its base, from the LV pool area of each slice at end-diastole (in
    the stack's order, any unit): yes unless the last third of the slices that hold it are APEX_END_RATIO times
    larger on average than the first third (the LV pool narrows toward the apex). For files that do not say which
    end is the base (app/ml/mri_basal_rv.py has the figures on ACDC); fewer than 3 slices: yes."""
    areas = np.nan_to_num(np.asarray(lv_areas, dtype=np.float64), nan=0.0)
    held = areas[areas > 0]
    if len(held) < 3:
        return True
    third = max(1, len(held) // 3)
    return bool(held[-third:].mean() < APEX_END_RATIO * held[:third].mean())


def myocardial_mass_g(endo_areas_mm2: npt.ArrayLike, epi_areas_mm2: npt.ArrayLike, slice_spacing_mm: float) -> float:
    """1.05 g/ml x myocardial volume (epicardial minus endocardial slice volumes)."""
    endo = np.nan_to_num(np.asarray(endo_areas_mm2, dtype=np.float64), nan=0.0)
    epi = np.nan_to_num(np.asarray(epi_areas_mm2, dtype=np.float64), nan=0.0)
    volume_ml = float(np.clip(epi - endo, 0.0, None).sum() * slice_spacing_mm / _MM3_PER_ML)
    return MYOCARDIAL_DENSITY_G_PER_ML * volume_ml


def ejection_fraction_pct(edv: float | None, esv: float | None) -> float | None:
    """100 * (EDV - ESV) / EDV in any consistent unit; None if undefined."""
    if edv is None or esv is None or not np.isfinite(edv) or not np.isfinite(esv) or edv <= 0:
        return None
    return 100.0 * (edv - esv) / edv
