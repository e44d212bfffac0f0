"""Are ED/ES frames where the LV curve says they can be? A check of detected events against the curve.

End-diastole is the largest LV volume of its beat and end-systole the smallest. An event detector (TempReg-Net)
can put an ED in the middle of filling, or an ES on the way down, on a recording unlike its training data,
and still give EDV > ESV. `event_depths` measures, for every event, how far it sits from its beat's extreme:
an ED's depth is (top - value) / (top - bottom) over the curve between the ES before and the ES after it (an
ES's, (value - bottom) / (top - bottom) between its neighbouring EDs); 0 = the extreme itself, 1 = the
opposite one. `misplaced_event` names the first event deeper than a tolerance; `curve_contradiction` adds
the beats whose EDV <= ESV (the pipeline then falls back to the curve's own extrema) and, on gated cine MR
(stacks and single slices, whose curves are smooth), the depth check (MAX_GATED_EVENT_DEPTH).

On a gated cine MR cycle (periodic=True) the cycle wraps: the window of the first event runs back from the
last frame. Otherwise it stops at the clip's ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.analysis.beats import fill_gaps, split_beats

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


def event_depths(curve: np.ndarray, ed_frames, es_frames, periodic: bool = False) -> tuple[EventDepth, ...]:
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


def misplaced_event(curve: np.ndarray, ed_frames, es_frames, periodic: bool = False,
                    max_depth: float = MAX_GATED_EVENT_DEPTH) -> str:
    """One line naming the first event deeper than max_depth in its beat ("" when all are in place)."""
    for d in event_depths(curve, ed_frames, es_frames, periodic):
        if d.depth > max_depth:
            where = "below the largest" if d.kind == "ED" else "above the smallest"
            return (f"{d.kind} at frame {d.frame} is {100 * d.depth:.0f} % of the beat's range {where} volume "
                    f"around it")
    return ""


def curve_contradiction(curve: np.ndarray, ed_frames, es_frames, gated: bool = False) -> str:
    """Why the events cannot be this recording's ED/ES on its LV curve, in a few words ("" when they can):
    a beat whose EDV <= ESV or, on a gated cine MR cycle (periodic), an event deeper than
    MAX_GATED_EVENT_DEPTH (misplaced_event; echo curves are too noisy for it)."""
    if any(not b.ed_value > b.es_value for b in split_beats(curve, ed_frames, es_frames)):
        return "EDV <= ESV"
    return misplaced_event(curve, ed_frames, es_frames, periodic=True) if gated else ""


def _depth(y: np.ndarray, frame: int, others: list[int], periodic: bool, top: bool) -> float:
    window = y[_window(len(y), frame, others, periodic)]
    hi, lo = float(window.max()), float(window.min())
    if hi - lo <= 0:
        return 0.0
    return (hi - y[frame]) / (hi - lo) if top else (y[frame] - lo) / (hi - lo)


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
