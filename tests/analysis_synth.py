"""Synthetic LV label maps and volume curves with known geometry for the analysis tests."""

from __future__ import annotations

import functools

import numpy as np


def half_ellipse_lv(shape=(260, 200), a_px=110.0, b_px=30.0, base_row=140, cx=100.0, wall_px=8.0,
                    la=True, la_height_px=24.0) -> np.ndarray:
    """(H, W) uint8 labels: an apical-view LV (half ellipse, apex at the top, flat base between rows
    base_row and base_row + 1), a myocardium band around it and an LA below the base.

    The cavity is the section of a prolate half-ellipsoid with semi-axes a (long) and b, so its true
    volume is 2/3 * pi * a * b^2 (pixel units).
    """
    h, w = shape
    r, c = np.mgrid[0:h, 0:w].astype(float)
    centre = base_row + 0.5
    above = r <= base_row

    def inside(a, b):
        return ((c - cx) / b) ** 2 + ((r - centre) / a) ** 2 <= 1.0

    labels = np.zeros(shape, np.uint8)
    labels[inside(a_px + wall_px, b_px + wall_px) & above] = 2
    labels[inside(a_px, b_px) & above] = 1
    if la:
        atrium = (((c - cx) / (b_px + wall_px)) ** 2 + ((r - centre) / la_height_px) ** 2 <= 1.0) & ~above
        labels[atrium] = 3
    return labels


def half_ellipse_outline(a_mm: float, b_mm: float, n: int = 400) -> np.ndarray:
    """Open outline (x, y) of a half ellipse: base at y=0 from x=-b to x=+b, apex at y=-a."""
    t = np.linspace(np.pi, 0, n)
    return np.column_stack([b_mm * np.cos(t), -a_mm * np.sin(t)])


def cardiac_curve(n_frames: int, fps: float, hr_bpm: float, edv: float, esv: float, start_phase: float = 0.0,
                  systole_fraction: float = 0.35):
    """(T,) volume curve and the true ED / ES frames (phase 0 = ED, phase systole_fraction = ES).

    Systole: half-cosine fall; diastole: rapid filling (70 % of the stroke in the first 40 %), diastasis,
    atrial kick. Frames nearest the true event times are returned.
    """
    rr = 60.0 / hr_bpm
    t = np.arange(n_frames) / fps
    phase = (t / rr + start_phase) % 1.0
    fill = np.interp((phase - systole_fraction) / (1 - systole_fraction), [0, 0.4, 0.8, 1.0], [0, 0.7, 0.78, 1.0])
    sys = 0.5 * (1 + np.cos(np.pi * phase / systole_fraction))
    shape = np.where(phase < systole_fraction, sys, fill)
    curve = esv + (edv - esv) * shape
    cycles = np.arange(-1, int(n_frames / fps / rr) + 3)
    ed_t = (cycles - start_phase) * rr
    es_t = ed_t + systole_fraction * rr
    ed = [int(round(x * fps)) for x in ed_t if -0.5 / fps <= x <= t[-1] + 0.5 / fps]
    es = [int(round(x * fps)) for x in es_t if -0.5 / fps <= x <= t[-1] + 0.5 / fps]
    return curve, [f for f in ed if 0 <= f < n_frames], [f for f in es if 0 <= f < n_frames]


PHANTOM_EDV_ML, PHANTOM_ESV_ML, PHANTOM_HR_BPM = 130.0, 55.0, 72.0
PHANTOM_VIEWS = {"a4c": (0.0, 11), "a2c": (0.37, 12)}  # view -> (start phase, seed)


@functools.lru_cache(maxsize=4)
def phantom_echo(view: str):
    """A small 2-beat phantom clip (160 x 160 px, 30 fps), made once per test session and view."""
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    start_phase, seed = PHANTOM_VIEWS[view]
    heart = HeartParams(edv_ml=PHANTOM_EDV_ML, esv_ml=PHANTOM_ESV_ML, heart_rate_bpm=PHANTOM_HR_BPM,
                        start_phase=start_phase)
    params = EchoPhantomParams(heart=heart, view=view, image_shape_px=(160, 160), frame_rate_hz=30, beats=2)
    return make_echo(params, seed=seed)
