"""ED and ES at each beat's own extremes: the ASE/EACVI measuring convention for EF.

A detector (TempReg-Net, or the LV curve's own extrema) finds the beats; for the EF, end-systole is then the frame
of the smallest LV volume of its beat (ED -> next ED) and end-diastole the frame of the largest volume in late
diastole around the detected ED. On clinical clips TempReg-Net's ES sits on the refilling limb, 80-260 ms after the
smallest cavity (issue 53), which shrinks the stroke volume of every beat it touches: `at_beat_extremes` moves each
event to its beat's extreme, so an event never lands on the refilling limb, whatever found the beat.

The extremes are located on the curve lightly smoothed (about 20 ms, app.analysis.edes_curve.smooth_curve): a
single noisy frame of the segmented curve is not an extreme of the heart (picking raw minima and maxima would bias
the EF upwards by the segmentation noise); a diastasis dip of the segmentation is not the beat's smallest volume
unless it is smaller than the systolic one. An event only lands on a frame the curve has a value for: a frame left
out as a spike (NaN, app.analysis.edes_curve.without_spikes) is interpolated for the smoothing, but its own
measurement is the dropout that made it a spike, so it is never an ED or ES.

One ECG-gated cycle (cine MR: a short-axis stack or one slice) is one beat whose phases are averaged over many
heartbeats: `at_cycle_extremes` puts its ED at the phase of the largest LV volume and its ES at the smallest (the
SCMR definition), on the measured phases themselves, not the smoothed curve (see there). Plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.analysis.edes_curve import smooth_curve

# How far (seconds) an ED may move to its beat's largest volume, within the diastole around it: TempReg-Net's ED
# is the start of isovolumic contraction, at most a few frames from the largest volume; the window never crosses
# the neighbouring ES events.
ED_WINDOW_S = 0.1
ED_WINDOW_FRAMES_UNTIMED = 3


def at_beat_extremes(
    curve: np.ndarray,
    ed_frames: Iterable[int],
    es_frames: Iterable[int],
    frame_rate_hz: float | None,
    move_ed: bool = True,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames), sorted, each event moved to its beat's extreme on a (T,) LV volume curve (NaN gaps).

    ES of a complete beat (ED -> next ED): the smallest volume between the two EDs. ES of a beat cut by the clip's
    end, and an ES before the first ED: the smallest volume between its neighbouring events (or clip edge), kept
    where it is when that minimum lies on the clip's edge (the clip ends, or starts, in systole: its smallest
    frame is no end-systole). ED: the largest volume within ED_WINDOW_S of it, strictly between the ES events
    around it (with move_ed; else each ED stays). The number of events and their order are kept; a curve with
    under 3 finite frames is left as is.
    """
    y = np.asarray(curve, dtype=np.float64)
    ed = sorted({int(f) for f in ed_frames if 0 <= int(f) < len(y)})
    es = sorted({int(f) for f in es_frames if 0 <= int(f) < len(y)})
    if y.ndim != 1 or np.isfinite(y).sum() < 3 or not ed or not es:
        return tuple(ed), tuple(es)
    s = smooth_curve(y, frame_rate_hz)
    s[~np.isfinite(y)] = np.nan  # candidates: the frames with a measurement
    new_es = [_es_at_minimum(s, f, ed) for f in es]
    half = max(1, int(round(ED_WINDOW_S * frame_rate_hz))) if frame_rate_hz else ED_WINDOW_FRAMES_UNTIMED
    new_ed = [_ed_at_maximum(s, f, new_es, half) for f in ed] if move_ed else ed
    return tuple(sorted(set(new_ed))), tuple(sorted(set(new_es)))


def _es_at_minimum(s: np.ndarray, frame: int, ed: list[int]) -> int:
    """The smallest frame of s between the EDs around `frame` (exclusive), or the clip's edge where there is none;
    `frame` itself when that smallest frame is a clip edge the EDs do not bound."""
    last = len(s) - 1
    before = [d for d in ed if d < frame]
    after = [d for d in ed if d > frame]
    lo = before[-1] + 1 if before else 0
    hi = after[0] - 1 if after else last
    if hi < lo or not np.isfinite(s[lo:hi + 1]).any():
        return frame
    best = lo + int(np.nanargmin(s[lo:hi + 1]))
    if (best == 0 and not before) or (best == last and not after):
        return frame  # the clip starts or ends in systole: its edge is no end-systole
    return best


def _ed_at_maximum(s: np.ndarray, frame: int, es: list[int], half: int) -> int:
    """The largest frame of s within `half` frames of `frame`, strictly between the ES events around it."""
    before = [e for e in es if e < frame]
    after = [e for e in es if e > frame]
    lo = max(frame - half, before[-1] + 1 if before else 0)
    hi = min(frame + half, after[0] - 1 if after else len(s) - 1)
    if hi < lo or not np.isfinite(s[lo:hi + 1]).any():
        return frame
    return lo + int(np.nanargmax(s[lo:hi + 1]))


def at_cycle_extremes(
    curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames) of one ECG-gated cycle (cine MR) on its (T,) LV volume curve (NaN: no measurement):
    ((phase of the largest volume,), (phase of the smallest volume,)), the SCMR definition of ED and ES, whatever
    events found the cycle and wherever they sat (a gated cycle is one beat: one ED, one ES). The given events,
    sorted, when they lack an ED or an ES (no cycle was found: none is made here) or the curve has under 3 measured
    phases or is flat.

    Unlike at_beat_extremes, the measured phases themselves, not a smoothed curve: each phase is already built from
    many heartbeats (gating) and summed over every slice, 20-30 phases 30-50 ms apart, and the EDV and ESV reported
    are the volumes at these phases, so ED and ES are the largest and smallest values of the curve the report
    plots. A noisy end-systolic or diastolic plateau has local dips and bumps: a slide from the detector's event
    stops in the first one (edes_fusion.snap_to_curve; SCD0000301's ES at phase 8, 176.3 ml, beside the
    cycle's 175.6 ml at phase 6), the cycle's extremes do not.
    """
    y = np.asarray(curve, dtype=np.float64)
    ed = tuple(sorted({int(f) for f in ed_frames}))
    es = tuple(sorted({int(f) for f in es_frames}))
    finite = np.isfinite(y) if y.ndim == 1 else np.zeros(0, bool)
    if finite.sum() < 3 or not ed or not es:
        return ed, es
    top = int(np.nanargmax(y))
    bottom = int(np.nanargmin(y))
    if not y[top] > y[bottom]:
        return ed, es
    return (top,), (bottom,)
