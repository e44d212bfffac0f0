"""End-diastoles a detector stepped over: the LV curve's own ED put back where one detected beat spans two cycles.

On clinical clips TempReg-Net can skip an end-diastole (issue 53: two of the 80 EchoNet clips read 30 and 32 bpm
where their cavity curves beat at 81 and 62). Its "beat" then spans two cycles: the heart rate is halved, and the
EF is taken between the ED of one cycle and the smallest volume of either. The curve's own beat period (its
autocorrelation, app.analysis.edes_curve.beat_period_frames) tells such a beat: a detected ED -> next ED of more
than RR_CONSISTENCY[1] periods (the bound past which beat_trust calls a beat inconsistent with the clip's others)
gets the curve's own EDs inside it back, each at least RR_CONSISTENCY[0] of a period from the EDs around it (so
each part is a cycle the trust rules would call consistent).

Only the ED comes back, not an ES: the detector's beat becomes one cycle long (its RR, the heart rate's), measured
between its own ED and the smallest volume of that cycle, and a cycle the detector saw no end-systole in is timed but
not measured (split_beats makes no beat of an ED without an ES). Putting the curve's ES back too, so that those
cycles were measured as well, made the cross-validated clinical EF worse (lab/notes/echo_clip_ef.md, session 56):
the cycles TempReg-Net steps over are those whose images it cannot read, and their contours are poor too. A curve
without a clear period is left alone. Plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from app.analysis.beat_trust import RR_CONSISTENCY
from app.analysis.edes_curve import beat_period_frames, detect_ed_es, smooth_curve


def with_skipped_beats(
    curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], frame_rate_hz: float | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames), sorted, with the curve's own EDs inside each detected beat (ED -> next ED) longer than
    RR_CONSISTENCY[1] of the curve's beat period, each at least RR_CONSISTENCY[0] of a period from the EDs around it;
    es_frames as given. Unchanged when the (T,) curve (NaN gaps) shows no clear period or has under 3 finite
    frames."""
    y = np.asarray(curve, dtype=np.float64)
    ed = sorted({int(f) for f in ed_frames if 0 <= int(f) < len(y)})
    es = tuple(sorted({int(f) for f in es_frames if 0 <= int(f) < len(y)}))
    if y.ndim != 1 or len(ed) < 2 or np.isfinite(y).sum() < 3:
        return tuple(ed), es
    period = beat_period_frames(smooth_curve(y, frame_rate_hz), frame_rate_hz)
    if period is None:
        return tuple(ed), es
    shortest, longest = RR_CONSISTENCY[0] * period, RR_CONSISTENCY[1] * period
    long_beats = [(a, b) for a, b in zip(ed[:-1], ed[1:], strict=True) if b - a > longest]
    if not long_beats:
        return tuple(ed), es
    curve_ed, _ = detect_ed_es(y, frame_rate_hz)
    for start, end in long_beats:
        before = start  # the last ED so far: the beat's own, then each one put back
        for frame in (f for f in curve_ed if start < f < end):
            if frame - before >= shortest and end - frame >= shortest:
                ed.append(frame)
                before = frame
    return tuple(sorted(ed)), es
