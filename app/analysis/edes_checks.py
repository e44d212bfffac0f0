"""Are an analysis' ED/ES events where its segmented LV curve says they can be?

End-diastole is the largest LV volume of its beat and end-systole the smallest; TempReg-Net can put an ED in the
middle of filling on a recording unlike its training data, or see too little motion in a clip and miss most of
its beats. `curve_contradiction` says why events cannot be the recording's ED/ES (app.analysis.edes_fusion.
choose_ed_es then takes the curve's own extrema): a beat with EDV <= ESV; on a clip, fewer than half of the
curve's own events (`missed_beats`), or no beat whose ED -> ES a systole can last (`no_systole`); on a gated
cine MR cycle, an event deep in its beat (`event_depths`, `misplaced_event`). An event's depth is
(top - value) / (top - bottom) over its beat (0 = the extreme itself, 1 = the opposite one); on a gated cycle
(periodic) the window wraps. Plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.analysis.beat_trust import systole_outside
from app.analysis.beats import split_beats
from app.analysis.edes_curve import detect_ed_es, fill_gaps

# Depth beyond which an event of a gated cine MR cycle is not the extreme of its beat. On the phantom cases
# of `python -m app evaluate ed-es --segmented` (the pipeline's events on our own segmented curves): 48 MR
# stacks, events matching the truth at most 0.02 deep, extra ones 0.12; the three Sunnybrook patients 0.0;
# TempReg-Net's mid-filling ED on a synthetic ring stack 0.44. Echo clips are not checked: their per-frame
# segmented curves have dips of a few frames that put correct events up to 0.51 deep (96 echo phantom
# clips: 12 with an event deeper than 0.3).
MAX_GATED_EVENT_DEPTH = 0.3


@dataclass(frozen=True)
class EventDepth:
    kind: str  # "ED" or "ES"
    frame: int
    depth: float  # 0 at the beat's extreme, 1 at the opposite one


def event_depths(
    curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], periodic: bool = False
) -> tuple[EventDepth, ...]:
    """Depth of every ED and ES frame of a (T,) LV volume/area curve (NaN gaps filled), in frame order."""
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    n = len(y)
    ed = sorted({int(f) for f in ed_frames if 0 <= int(f) < n})
    es = sorted({int(f) for f in es_frames if 0 <= int(f) < n})
    if n < 3 or not np.isfinite(y).all():
        return ()
    depths = [EventDepth("ED", f, _depth(y, f, es, periodic, top=True)) for f in ed]
    depths += [EventDepth("ES", f, _depth(y, f, ed, periodic, top=False)) for f in es]
    return tuple(sorted(depths, key=lambda d: (d.frame, d.kind)))


def misplaced_event(curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], periodic: bool = False,
                    max_depth: float = MAX_GATED_EVENT_DEPTH) -> str:
    """One line naming the first event deeper than max_depth in its beat ("" when all are in place)."""
    for d in event_depths(curve, ed_frames, es_frames, periodic):
        if d.depth > max_depth:
            where = "below the largest" if d.kind == "ED" else "above the smallest"
            return (f"{d.kind} at frame {d.frame} is {100 * d.depth:.0f} % of the beat's range {where} volume "
                    f"around it")
    return ""


def curve_contradiction(curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], gated: bool = False,
                        frame_rate_hz: float | None = None) -> str:
    """Why the events cannot be this recording's ED/ES on its LV curve, in a few words ("" when they can):
    a beat whose EDV <= ESV; on a clip, fewer than half as many events as the curve's own extrema show
    (missed_beats), or no beat whose ED -> ES a systole can last (no_systole); on a gated cine MR cycle
    (periodic), an event deeper than MAX_GATED_EVENT_DEPTH
    (misplaced_event; echo curves are too noisy for it)."""
    if any(not b.ed_value > b.es_value for b in split_beats(curve, ed_frames, es_frames)):
        return "EDV <= ESV"
    if gated:
        return misplaced_event(curve, ed_frames, es_frames, periodic=True)
    return missed_beats(curve, ed_frames, es_frames, frame_rate_hz) or no_systole(curve, ed_frames, es_frames,
                                                                                 frame_rate_hz)


def no_systole(curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int],
               frame_rate_hz: float | None) -> str:
    """"" or, when every complete beat's ED -> ES lasts longer or shorter than a systole can
    (beat_trust.SYSTOLE_S), the first one's: no beat of these events could be trusted, so the curve's own events
    are the better chance of an EF (a clip where TempReg-Net puts each ES in a dropout most of a beat later)."""
    if not frame_rate_hz:
        return ""
    times = np.arange(len(curve), dtype=np.float64) / float(frame_rate_hz)
    timed = [b for b in split_beats(curve, ed_frames, es_frames, times) if b.complete and b.rr_s]
    reasons = [systole_outside(b) for b in timed]
    return reasons[0] if timed and all(reasons) else ""


def missed_beats(
    curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], frame_rate_hz: float | None
) -> str:
    """"" or, when the events are fewer than half of the extrema the LV curve itself shows (detect_ed_es: at
    least two beats' worth), how many each has. TempReg-Net can see too little motion in a clip unlike its
    training data and find one event where the curve beats three times (a CAMUS patient as a 112 px clip,
    `evaluate echo-files --forms clip112`): one ED and one ES would then stand for the whole clip."""
    y = np.asarray(curve, dtype=np.float64)
    if np.isfinite(y).sum() < 3:
        return ""
    curve_ed, curve_es = detect_ed_es(y, frame_rate_hz)
    shown, found = len(curve_ed) + len(curve_es), len(set(ed_frames)) + len(set(es_frames))
    if shown >= 4 and 2 * found < shown:
        return f"{found} events where the curve shows {shown}"
    return ""


def _depth(y: np.ndarray, frame: int, others: list[int], periodic: bool, top: bool) -> float:
    window = y[_window(len(y), frame, others, periodic)]
    hi, lo = float(window.max()), float(window.min())
    if hi - lo <= 0:
        return 0.0
    return float((hi - y[frame]) / (hi - lo) if top else (y[frame] - lo) / (hi - lo))


def _window(n: int, frame: int, others: list[int], periodic: bool) -> np.ndarray:
    """Frame indices from the opposite event before `frame` to the one after it (clip ends or the wrap)."""
    before = [f for f in others if f < frame]
    after = [f for f in others if f > frame]
    if periodic and others:
        start = before[-1] if before else others[-1] - n
        stop = after[0] if after else others[0] + n
    else:
        start = before[-1] if before else 0
        stop = after[0] if after else n - 1
    return np.arange(start, stop + 1) % n
