"""The cardiac cycle of the phantom: a smooth normalised LV volume curve and ED/ES timing.

Phase 0 is end-diastole (mitral valve closure). Systole = isovolumic contraction + ejection;
diastole = isovolumic relaxation + rapid filling + diastasis + atrial contraction.
"""

from __future__ import annotations

import numpy as np

IVC_FRACTION = 0.14  # of systole
IVR_FRACTION = 0.14  # of diastole
RAPID_FILLING_FRACTION = 0.30  # of diastole
DIASTASIS_FRACTION = 0.31  # of diastole; the rest is the atrial kick
VOLUME_AFTER_RAPID_FILLING = 0.72  # of the stroke volume refilled
VOLUME_BEFORE_ATRIAL_KICK = 0.80


def _s_curve(u: np.ndarray) -> np.ndarray:
    """0 -> 1 with zero slope at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * u))


def systole_fraction(systole_diastole_ratio: float) -> float:
    """Fraction of the cycle taken by systole."""
    return systole_diastole_ratio / (1.0 + systole_diastole_ratio)


def normalised_volume(phase: np.ndarray, systole_diastole_ratio: float) -> np.ndarray:
    """(N,) LV volume for cycle phases in [0, 1): 1 at end-diastole, 0 at end-systole.

    Fast early ejection, isovolumic plateaus, rapid filling, diastasis and the atrial kick.
    """
    phase = np.mod(np.asarray(phase, dtype=np.float64), 1.0)
    f_sys = systole_fraction(systole_diastole_ratio)
    vol = np.ones_like(phase)
    # systole
    t_ivc = IVC_FRACTION * f_sys
    ej = (phase >= t_ivc) & (phase < f_sys)
    u = (phase[ej] - t_ivc) / (f_sys - t_ivc)
    vol[ej] = 1.0 - _s_curve(u**0.75)
    # diastole
    d = (phase - f_sys) / (1.0 - f_sys)
    dia = phase >= f_sys
    vol[dia] = _diastolic_volume(d[dia])
    return vol


def _diastolic_volume(d: np.ndarray) -> np.ndarray:
    """Normalised volume over diastole d in [0, 1]."""
    t1 = IVR_FRACTION
    t2 = t1 + RAPID_FILLING_FRACTION
    t3 = t2 + DIASTASIS_FRACTION
    v = np.zeros_like(d)
    m = (d >= t1) & (d < t2)
    v[m] = VOLUME_AFTER_RAPID_FILLING * _s_curve((d[m] - t1) / (t2 - t1))
    m = (d >= t2) & (d < t3)
    v[m] = VOLUME_AFTER_RAPID_FILLING + (VOLUME_BEFORE_ATRIAL_KICK - VOLUME_AFTER_RAPID_FILLING) * _s_curve(
        (d[m] - t2) / (t3 - t2)
    )
    m = d >= t3
    v[m] = VOLUME_BEFORE_ATRIAL_KICK + (1.0 - VOLUME_BEFORE_ATRIAL_KICK) * _s_curve((d[m] - t3) / (1.0 - t3))
    return v


def frame_phases(frame_times_s: np.ndarray, cycle_s: float, start_phase: float) -> np.ndarray:
    """(T,) cycle phase of each frame (may exceed 1: integer part = beat index from the start)."""
    return np.asarray(frame_times_s, dtype=np.float64) / cycle_s + start_phase


def ed_es_frames(volume: np.ndarray, phases: np.ndarray,
                 systole_diastole_ratio: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Every ED (volume maximum near mitral closure) and ES (minimum near aortic closure) frame.

    volume: (T,) the model volume; phases: (T,) unwrapped cycle phase of each frame. A beat's event is
    reported when its nominal time lies inside the clip (within half a frame).
    """
    f_sys = systole_fraction(systole_diastole_ratio)
    n = len(phases)
    step = float(np.median(np.diff(phases))) if n > 1 else 1.0
    ed: list[int] = []
    es: list[int] = []
    for k in range(int(np.floor(phases[0])) - 1, int(np.ceil(phases[-1])) + 2):
        for target, out, pick in ((float(k), ed, np.argmax), (k + f_sys, es, np.argmin)):
            if not (phases[0] - 0.5 * step <= target <= phases[-1] + 0.5 * step):
                continue
            window = np.flatnonzero(np.abs(phases - target) <= max(0.08, 1.5 * step))
            if window.size == 0:
                continue
            vals = volume[window]
            best = vals.max() if pick is np.argmax else vals.min()
            ties = window[np.abs(vals - best) <= 1e-9 * max(1.0, abs(best))]
            out.append(int(ties[np.argmin(np.abs(phases[ties] - target))]))
    return tuple(sorted(set(ed))), tuple(sorted(set(es)))
