"""End-diastole / end-systole from an LV volume (or area) curve, beat splitting and per-beat figures.

EchoNet-Dynamic style: ED frames are the maxima and ES frames the minima of a lightly smoothed curve,
with a minimum distance between beats from the frame rate and the highest plausible heart rate and a
prominence relative to the curve's range. A beat is ED -> ES -> next ED; a beat cut at the end of the clip
(ED and ES seen, next ED not) still gives EDV/ESV/EF but no heart rate; a clip starting after ED yields no
beat for the partial cycle at the start.

`fuse_events` combines another detector's events (TempReg-Net's, app.ml.edes) with the curve: ES frames
refined on it (`snap_to_curve`), clip-end events taken from it (`add_edge_events`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

MAX_HEART_RATE_BPM = 200.0  # = the shortest plausible RR interval, 0.3 s (app.analysis.beat_trust)
MIN_PROMINENCE_FRACTION = 0.3  # of the curve's robust range
PLATEAU_FRACTION = 0.005  # of the span: values this close to an extreme count as its plateau
EDGE_TOLERANCE_FRACTION = 0.05  # a clip-edge extremum must be this close to the interior extremes' level
EDGE_MAX_SLOPE_FRACTION = 0.3  # ... and the curve must be nearly flat there (vs its steepest slopes)
SNAP_RADIUS_FRAMES = 2  # fuse_events: how far an ES may slide down the curve
# The curve's own beat period (autocorrelation peak, cycle_period_frames) keeps two events of a kind at least
# this fraction of it apart: a segmentation dip in diastole is then no extra ES/ED pair (issue 30: events
# 7-12 frames apart next to 60-frame beats at 50 Hz).
PERIOD_DISTANCE_FRACTION = 0.6
MIN_PERIOD_CORRELATION = 0.3  # autocorrelation at the period's lag needed to trust the period


@dataclass(frozen=True)
class Beat:
    """One cardiac cycle. Values are in the curve's units (ml, or px^3 / px^2 when uncalibrated).

    next_ed_frame is None when the clip ends before the next ED (a cut beat); rr_s and heart_rate_bpm are
    None then, or when frame timing is unknown.
    """

    ed_frame: int
    es_frame: int
    next_ed_frame: int | None
    ed_value: float
    es_value: float
    rr_s: float | None = None
    trusted: bool = True  # counted in EDV/ESV/EF (app.analysis.beat_trust.judge_beats)
    why_untrusted: str = ""

    @property
    def stroke_value(self) -> float:
        return self.ed_value - self.es_value

    @property
    def ef_pct(self) -> float | None:
        return 100.0 * self.stroke_value / self.ed_value if self.ed_value > 0 else None

    @property
    def complete(self) -> bool:
        return self.next_ed_frame is not None

    @property
    def heart_rate_bpm(self) -> float | None:
        return 60.0 / self.rr_s if self.rr_s else None

    def to_json_dict(self, volumes_known: bool = True) -> dict:
        def r(v, nd=2):
            return None if v is None or not np.isfinite(v) else round(float(v), nd)

        out = {
            "ed_frame": self.ed_frame,
            "es_frame": self.es_frame,
            "next_ed_frame": self.next_ed_frame,
            "complete": self.complete,
            "ef_pct": r(self.ef_pct),
            "rr_s": r(self.rr_s, 4),
            "heart_rate_bpm": r(self.heart_rate_bpm, 1),
            "trusted": self.trusted,
        }
        if not self.trusted:
            out["why_untrusted"] = self.why_untrusted
        if volumes_known:
            out.update(edv_ml=r(self.ed_value), esv_ml=r(self.es_value), sv_ml=r(self.stroke_value))
        return out


def smooth_curve(curve: np.ndarray, frame_rate_hz: float | None) -> np.ndarray:
    """(T,) curve smoothed with a Gaussian of ~20 ms (at least half a frame); NaNs interpolated."""
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    sigma = max(0.5, 0.02 * frame_rate_hz) if frame_rate_hz else 0.7
    return gaussian_filter1d(y, sigma, mode="nearest")


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
    is nearly flat there (so a clip ending half-way through filling or just before ES invents no event). A clip shorter than a beat falls back to the
    global maximum and the following minimum.
    periodic: the curve is one gated cycle whose last phase runs on into its first (cine MR), so ED, which
    sits at the trigger, is found across the wrap (on three copies of the cycle end to end, the middle
    copy's events) instead of being judged as a clip edge.
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.ndim != 1 or len(y) < 3:
        return (), ()
    if periodic:
        n = len(y)
        ed, es = detect_ed_es(np.tile(y, 3), frame_rate_hz)
        return tuple(f - n for f in ed if n <= f < 2 * n), tuple(f - n for f in es if n <= f < 2 * n)
    s = smooth_curve(y, frame_rate_hz)
    lo, hi = np.percentile(s, [2, 98])
    span = hi - lo
    if span <= 1e-9 * max(1.0, abs(hi)):
        return (), ()
    min_dist = refine_dist = min_event_distance(frame_rate_hz)
    max_lag = int(2.0 * frame_rate_hz) if frame_rate_hz else len(y)
    period = cycle_period_frames(s, min_dist, max_lag)
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
    peaks, _ = find_peaks(padded, distance=min_dist, prominence=MIN_PROMINENCE_FRACTION * span)
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


def split_beats(
    curve: np.ndarray,
    ed_frames,
    es_frames,
    frame_times_s: np.ndarray | None = None,
) -> tuple[Beat, ...]:
    """Beats ED -> ES -> next ED from given ED/ES frames (each ED pairs with the first ES after it).

    When no ED is followed by an ES (a clip shorter than a cycle, e.g. ES then ED), the ES and the ED
    after it (the filling phase of one cycle) form a single beat with es_frame < ed_frame.
    """
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    ed = sorted({int(f) for f in ed_frames if 0 <= int(f) < len(y)})
    es = sorted({int(f) for f in es_frames if 0 <= int(f) < len(y)})
    beats = []
    for i, ed_f in enumerate(ed):
        next_ed = ed[i + 1] if i + 1 < len(ed) else None
        candidates = [f for f in es if f > ed_f and (next_ed is None or f < next_ed)]
        if not candidates:
            continue
        es_f = candidates[0]
        rr = None
        if next_ed is not None and frame_times_s is not None:
            rr = float(frame_times_s[next_ed] - frame_times_s[ed_f]) or None
        beats.append(Beat(ed_f, es_f, next_ed, float(y[ed_f]), float(y[es_f]), rr))
    if not beats:  # a clip shorter than a systole: use the filling phase ES -> following ED
        pairs = [(e, min(d for d in ed if d > e)) for e in es if any(d > e for d in ed)]
        if pairs:
            es_f, ed_f = pairs[0]
            beats.append(Beat(ed_f, es_f, None, float(y[ed_f]), float(y[es_f]), None))
    return tuple(beats)


def snap_to_curve(frames, curve: np.ndarray, maxima: bool, radius: int = SNAP_RADIUS_FRAMES) -> tuple[int, ...]:
    """Move each frame along a (T,) volume/area curve towards its local extremum, at most radius frames.

    From each frame, step to the lower (maxima=False) or higher neighbour while one is strictly lower
    (higher), up to radius steps: a frame on a local minimum, on a plateau or next to NaN frames stays;
    one on a slope slides down to the minimum (or radius frames towards it).
    """
    y = np.asarray(curve, dtype=np.float64)
    sig = np.where(np.isfinite(y), y if maxima else -y, -np.inf)
    out = []
    for frame in (int(v) for v in frames):
        g = frame
        if 0 <= g < len(sig) and np.isfinite(sig[g]):
            for _ in range(max(0, int(radius))):
                better = [h for h in (g - 1, g + 1) if 0 <= h < len(sig) and sig[h] > sig[g]]
                if not better:
                    break
                g = max(better, key=lambda h: sig[h])
        out.append(g)
    return tuple(out)


def add_edge_events(ed, es, curve_ed, curve_es, min_gap: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed, es) plus the curve's events at the clip ends that (ed, es) leave out: the last curve event
    before the first given event and the first after the last one, when of the other kind (so events
    still alternate) and at least min_gap frames away."""
    given = sorted([(int(f), "ed") for f in ed] + [(int(f), "es") for f in es])
    if not given:
        return tuple(sorted(ed)), tuple(sorted(es))
    curve = sorted([(int(f), "ed") for f in curve_ed] + [(int(f), "es") for f in curve_es])
    before = [e for e in curve if e[0] <= given[0][0] - min_gap and e[1] != given[0][1]]
    after = [e for e in curve if e[0] >= given[-1][0] + min_gap and e[1] != given[-1][1]]
    events = given + before[-1:] + after[:1]
    return (tuple(sorted({f for f, k in events if k == "ed"})),
            tuple(sorted({f for f, k in events if k == "es"})))


def fuse_events(ed_frames, es_frames, curve: np.ndarray, frame_rate_hz: float | None = None,
                refine_es: bool = True, radius: int = SNAP_RADIUS_FRAMES,
                periodic: bool = False) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """An event detector's (ed, es) (e.g. TempReg-Net's) combined with a (T,) LV volume/area curve.

    ED frames stay; with refine_es each ES slides down the curve to its minimum, at most radius frames
    (snap_to_curve); events at the clip ends that the detector leaves out come from the curve's own
    extrema (detect_ed_es, add_edge_events; periodic: a gated cycle, as detect_ed_es). Sorted, unique.
    """
    y = np.asarray(curve, dtype=np.float64)
    ed = tuple(int(f) for f in ed_frames)
    es = snap_to_curve(es_frames, y, False, radius) if refine_es else tuple(int(f) for f in es_frames)
    if np.isfinite(y).sum() >= 3:
        curve_ed, curve_es = detect_ed_es(y, frame_rate_hz, periodic)
        # opposite events: half the distance between two of a kind (a systole at 200 bpm lasts ~0.15 s)
        return add_edge_events(ed, es, curve_ed, curve_es, max(2, min_event_distance(frame_rate_hz) // 2))
    return tuple(sorted(set(ed))), tuple(sorted(set(es)))
