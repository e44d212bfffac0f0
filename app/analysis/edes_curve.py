"""End-diastole / end-systole from an LV volume (or area) curve: the curve rules, in one place.

EchoNet-Dynamic style: ED frames are the maxima and ES frames the minima of a lightly smoothed curve,
with a minimum distance between beats from the frame rate and the highest plausible heart rate and a
prominence relative to the curve's range (`detect_ed_es`); a 2-frame recording or a two-phase stack is an
ED/ES pair (`pair_ed_es`). Before that, frames whose cavity area jumps implausibly against both neighbours
(`area_jump_frames`, AREA_JUMP_FRACTION of the curve's range) are taken out of the curve (`without_spikes`),
so an outlier frame is never chosen as ED or ES. Fusion with a detector's events (TempReg-Net):
app/analysis/edes_fusion.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.ndimage import gaussian_filter1d

from app.analysis.peaks import find_peaks

MAX_HEART_RATE_BPM = 200.0  # = the shortest plausible RR interval, 0.3 s (app.analysis.beat_trust)
MIN_PROMINENCE_FRACTION = 0.3  # of the curve's robust range
PLATEAU_FRACTION = 0.005  # of the span: values this close to an extreme count as its plateau
EDGE_TOLERANCE_FRACTION = 0.05  # a clip-edge extremum must be this close to the interior extremes' level
EDGE_MAX_SLOPE_FRACTION = 0.3  # ... and the curve must be nearly flat there (vs its steepest slopes)
# The curve's own beat period (autocorrelation peak, cycle_period_frames) keeps two events of a kind at least
# this fraction of it apart: a segmentation dip in diastole is then no extra ES/ED pair (issue 30: events
# 7-12 frames apart next to 60-frame beats at 50 Hz).
PERIOD_DISTANCE_FRACTION = 0.6
MIN_PERIOD_CORRELATION = 0.3  # autocorrelation at the period's lag needed to trust the period

AREA_JUMP_FRACTION = 0.25  # of the area curve's range, against the mean of both neighbours


def area_jump_frames(area: np.ndarray) -> tuple[int, ...]:
    """Frames whose (T,) cavity area differs from the mean of both neighbours by more than AREA_JUMP_FRACTION
    of the curve's robust range (2nd-98th percentile), both neighbours on the same side (a spike)."""
    area = np.asarray(area, dtype=np.float64)
    n = len(area)
    finite = area[np.isfinite(area)]
    span = float(np.percentile(finite, 98) - np.percentile(finite, 2)) if finite.size > 2 else 0.0
    out = []
    for t in range(1, n - 1):
        if span <= 0 or not (np.isfinite(area[t - 1]) and np.isfinite(area[t]) and np.isfinite(area[t + 1])):
            continue
        d_prev, d_next = area[t] - area[t - 1], area[t] - area[t + 1]
        if d_prev * d_next > 0 and abs(area[t] - (area[t - 1] + area[t + 1]) / 2) > AREA_JUMP_FRACTION * span:
            out.append(t)
    return tuple(out)


def without_spikes(curve: np.ndarray, spike_frames: Iterable[int]) -> np.ndarray:
    """The curve with the spike frames NaN (unless fewer than 3 finite frames would remain)."""
    bad = [int(t) for t in spike_frames if 0 <= int(t) < len(curve)]
    if not bad or np.isfinite(curve).sum() - len(bad) < 3:
        return curve
    out = np.array(curve, dtype=np.float64)
    out[bad] = np.nan
    return out


def curve_ed_es(curve: np.ndarray, frame_rate_hz: float | None, periodic: bool = False
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ED/ES of a measured LV curve: detect_ed_es with 3 finite frames or more, else the pair rule."""
    if np.isfinite(curve).sum() >= 3:
        return detect_ed_es(curve, frame_rate_hz, periodic=periodic)
    return pair_ed_es(curve)


def smooth_curve(curve: np.ndarray, frame_rate_hz: float | None) -> np.ndarray:
    """(T,) curve smoothed with a Gaussian of ~20 ms (at least half a frame); NaNs interpolated."""
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    sigma = max(0.5, 0.02 * frame_rate_hz) if frame_rate_hz else 0.7
    result: np.ndarray = gaussian_filter1d(y, sigma, mode="nearest")
    return result


def min_event_distance(frame_rate_hz: float | None) -> int:
    """Frames between two events of a kind at MAX_HEART_RATE_BPM (0.3 s), at least 2 (3 untimed)."""
    return max(2, int(frame_rate_hz * 60.0 / MAX_HEART_RATE_BPM)) if frame_rate_hz else 3


def cycle_period_frames(curve: np.ndarray, min_lag: int, max_lag: int) -> int | None:
    """The curve's beat period in frames: the first autocorrelation peak in [min_lag, max_lag] that reaches
    80 % of the highest one there (so not a multiple of the period) and MIN_PERIOD_CORRELATION; None when
    the clip holds under 1.5 periods or shows no clear periodicity."""
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    y = y - y.mean()
    n = len(y)
    max_lag = min(max_lag, int(n / 1.5))
    if max_lag <= min_lag + 1 or not np.any(y):
        return None
    ac = np.array([np.dot(y[:n - k], y[k:]) / max(1, n - k) for k in range(max_lag + 2)]) / (np.dot(y, y) / n)
    lags = [k for k in range(max(1, min_lag), max_lag + 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    if not lags:
        return None
    best = max(ac[k] for k in lags)
    if best < MIN_PERIOD_CORRELATION:
        return None
    return next(k for k in lags if ac[k] >= 0.8 * best)


def beat_period_frames(smoothed: np.ndarray, frame_rate_hz: float | None) -> int | None:
    """The beat period (frames) of a (T,) curve smoothed by smooth_curve, as the ED/ES rules use it: the
    autocorrelation period (cycle_period_frames) between the shortest plausible RR (min_event_distance) and 2 s
    (the whole clip when untimed); None without a clear one."""
    max_lag = int(2.0 * frame_rate_hz) if frame_rate_hz else len(smoothed)
    return cycle_period_frames(smoothed, min_event_distance(frame_rate_hz), max_lag)


def fill_gaps(curve: np.ndarray) -> np.ndarray:
    """Linear interpolation over NaN frames (a frame without contours)."""
    y = np.asarray(curve, dtype=np.float64).copy()
    bad = ~np.isfinite(y)
    if bad.all():
        raise ValueError("the curve has no finite value")
    if bad.any():
        idx = np.arange(len(y))
        y[bad] = np.interp(idx[bad], idx[~bad], y[~bad])
    return y


def detect_ed_es(curve: np.ndarray, frame_rate_hz: float | None = None,
                 periodic: bool = False) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames) sorted, alternating, from a (T,) volume or area curve.

    Extrema at the clip edges count only when they reach the level of the interior extrema and the curve
    is nearly flat there (so a clip ending half-way through filling or just before ES invents no event). A clip shorter
    than a beat falls back to the global maximum and the following minimum.
    periodic: the curve is one gated cycle whose last phase runs on into its first (cine MR), so ED, which
    sits at the trigger, is found across the wrap (on three copies of the cycle end to end, the middle
    copy's events) instead of being judged as a clip edge.
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.ndim != 1 or len(y) < 3:
        return (), ()
    if periodic:
        n = len(y)
        ed_3, es_3 = detect_ed_es(np.tile(y, 3), frame_rate_hz)
        return tuple(f - n for f in ed_3 if n <= f < 2 * n), tuple(f - n for f in es_3 if n <= f < 2 * n)
    s = smooth_curve(y, frame_rate_hz)
    lo, hi = np.percentile(s, [2, 98])
    span = hi - lo
    if span <= 1e-9 * max(1.0, abs(hi)):
        return (), ()
    min_dist = refine_dist = min_event_distance(frame_rate_hz)
    period = beat_period_frames(s, frame_rate_hz)
    if period is not None:
        min_dist = max(min_dist, int(PERIOD_DISTANCE_FRACTION * period))
    raw = fill_gaps(y)
    ed = _extrema(s, raw, min_dist, span, maxima=True)
    es = _extrema(s, raw, min_dist, span, maxima=False)
    events = _alternate(sorted([(f, "ed") for f in ed] + [(f, "es") for f in es]), s)
    ed = [_refine(y, f, True, refine_dist, span) for f, k in events if k == "ed"]
    es = [_refine(y, f, False, refine_dist, span) for f, k in events if k == "es"]
    if not ed or not es:
        top = int(np.nanargmax(y))
        rest = y[top:]
        if len(rest) > 1 and np.nanmin(rest) < y[top] - MIN_PROMINENCE_FRACTION * span:
            return (top,), (top + int(np.nanargmin(rest)),)
        return (), ()
    return tuple(ed), tuple(es)


def pair_ed_es(curve: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed, es) of a 2-frame recording, an ED/ES pair as CAMUS, ACDC and many archives store studies: ED is
    the frame with the larger LV, ES the smaller (in either order); ((), ()) otherwise."""
    y = np.asarray(curve, dtype=np.float64)
    if y.shape != (2,) or not np.isfinite(y).all() or y[0] == y[1]:
        return (), ()
    return (int(np.argmax(y)),), (int(np.argmin(y)),)


def _extrema(s: np.ndarray, raw: np.ndarray, min_dist: int, span: float, maxima: bool) -> list[int]:
    """Peaks of s (or of -s) with the clip edges treated as deep valleys, so an extremum next to an edge
    keeps its full prominence; extrema AT an edge must reach the interior extremes' level."""
    sig = s if maxima else -s
    low = sig.min() - span
    padded = np.concatenate([[low], sig, [low]])
    peaks = find_peaks(padded, distance=min_dist, prominence=MIN_PROMINENCE_FRACTION * span)
    peaks = peaks - 1
    last = len(s) - 1
    inside = [int(p) for p in peaks if 0 < p < last]
    edges = [int(p) for p in peaks if p in (0, last)]
    ref = raw if maxima else -raw  # compare levels on the unsmoothed curve: smoothing blunts extrema
    level = float(np.median([ref[max(0, p - 1):p + 2].max() for p in inside])) if inside else float(ref.max())
    slope = np.abs(np.diff(raw))
    steep = EDGE_MAX_SLOPE_FRACTION * float(np.percentile(slope, 95))
    edges = [p for p in edges if ref[p] >= level - EDGE_TOLERANCE_FRACTION * span
             and slope[0 if p == 0 else -1] <= steep]
    return sorted(inside + edges)


def _alternate(events: list[tuple[int, str]], s: np.ndarray) -> list[tuple[int, str]]:
    """Merge runs of the same kind: keep the highest ED / lowest ES of each run."""
    out: list[tuple[int, str]] = []
    for frame, kind in events:
        if out and out[-1][1] == kind:
            prev = out[-1][0]
            better = s[frame] > s[prev] if kind == "ed" else s[frame] < s[prev]
            if better:
                out[-1] = (frame, kind)
            continue
        out.append((frame, kind))
    return out


def _refine(y: np.ndarray, frame: int, maxima: bool, min_dist: int, span: float) -> int:
    """Move a smoothed extremum to the raw curve's extremum within a small window.

    ED: the first frame within PLATEAU_FRACTION of the span from the maximum (the isovolumic-contraction
    plateau starts at mitral closure); ES: the smallest volume.
    """
    half = max(1, min_dist // 4)
    lo, hi = max(0, frame - half), min(len(y), frame + half + 1)
    window = np.where(np.isfinite(y[lo:hi]), y[lo:hi], np.nan)
    if np.all(np.isnan(window)):
        return frame
    if not maxima:
        return lo + int(np.nanargmin(window))
    close = np.flatnonzero(np.nan_to_num(window, nan=-np.inf) >= np.nanmax(window) - PLATEAU_FRACTION * span)
    return lo + int(close[0])


