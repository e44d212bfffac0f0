"""The ED/ES events of a clip's beats: which detected events the analysis keeps (beat_events,
without_split_pairs) and which beats strain is measured over (strain_events), by the rules of
app.analysis.beat_trust.

An ED/ES pair merge_split_beats joined into a beat, a second ES in one beat, and a beat cut by the clip's end, or the
clip's first beat, whose systole is a sliver next to the trusted beats' (a diastolic pair) are left out of the
events, so the viewer's marks and the exported frames show one ED and one ES per beat. Strain takes the trusted
beats and a cut beat whose systole is as long as theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from app.analysis.beat_trust import (
    RR_CONSISTENCY,
    judge_beats,
    median_systole,
    merge_split_beats,
    real_systole,
    sliver_beats,
)
from app.analysis.beats import Beat


def beat_events(
    beats: Sequence[Beat], ed_frames: Iterable[int], es_frames: Iterable[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ed_frames and es_frames (sorted) without the events inside a complete beat's span (after its ED, before
    its next ED) other than its own ES: the ED/ES pair merge_split_beats joined into the beat, or a second ES
    the detector put in one beat; and without the ED and ES of a beat cut by the clip's end whose systole is a
    sliver next to the trusted beats' (_systole_sliver), or of the clip's first beat when it is such a pair
    (_leading_pair): a diastolic pair, not the start of a beat. Other events
    outside every complete beat (before the first ED, a cut beat with a real systole, or with a long one: an ED
    placed early in filling, whose removal would also cut the beat before it) are kept."""
    slivers = [b for b in beats if not b.complete and _systole_sliver(b, beats)] + _leading_pair(beats)
    spans = [(b.ed_frame, end, b.es_frame) for b in beats if (end := b.next_ed_frame) is not None  # complete
             and b not in slivers]

    def inside(frame: int, keep_es: bool) -> bool:
        return any(start < frame < end and not (keep_es and frame == es) for start, end, es in spans)

    eds = [f for f in ed_frames if not inside(int(f), False) and all(int(f) != b.ed_frame for b in slivers)]
    ess = [f for f in es_frames if not inside(int(f), True) and all(int(f) != b.es_frame for b in slivers)]
    return tuple(sorted(int(f) for f in eds)), tuple(sorted(int(f) for f in ess))


def without_split_pairs(
    curve: np.ndarray, ed_frames: Iterable[int], es_frames: Iterable[int], frame_rate_hz: float | None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Detected ED/ES frames on a (T,) LV curve without the pairs the beats show to be split beats or diastolic
    slivers (merge_split_beats, judge_beats, beat_events), as the measured analysis leaves them out; unchanged
    without a frame rate (no RR to judge)."""
    from app.analysis.beats import split_beats

    ed, es = tuple(sorted(int(f) for f in ed_frames)), tuple(sorted(int(f) for f in es_frames))
    if not frame_rate_hz or not ed or not es:
        return ed, es
    times = np.arange(len(curve), dtype=np.float64) / float(frame_rate_hz)
    judged, _ = judge_beats(merge_split_beats(split_beats(curve, ed, es, times)))
    return beat_events(judged, ed, es)


def _leading_pair(beats: Sequence[Beat]) -> list[Beat]:
    """The clip's first beat when it is an ED/ES pair in the diastasis before the first real ED: complete, its
    systole a sliver of the trusted beats' (_systole_sliver) and its stroke a sliver of the clip's largest
    (as merge_split_beats joins such a pair to the beat before it; the first has none to join)."""
    first = beats[0] if beats else None
    if first is None or not first.complete or not _systole_sliver(first, beats):
        return []
    return [first] if first in sliver_beats(beats) else []


def _systole_sliver(beat: Beat, beats: Sequence[Beat]) -> bool:
    """A beat's ED -> ES shorter than RR_CONSISTENCY[0] of the trusted complete beats' median systole (a pair
    of events in diastasis); False without such beats to compare with, or for a filling-phase beat."""
    systole = median_systole(beats)
    if systole is None or beat.es_frame < beat.ed_frame:
        return False
    return beat.es_frame - beat.ed_frame < RR_CONSISTENCY[0] * systole


def strain_events(
    beats: Sequence[Beat], ed_frames: Iterable[int], es_frames: Iterable[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ED frames (each beat's ED and next ED) and ES frames of the beats strain uses, sorted: the trusted
    beats, and a beat cut by the clip's end whose systole (ED -> ES frames) is as long as theirs (within
    RR_CONSISTENCY of their median: a real systole, not a diastolic ED/ES sliver); the given ed_frames /
    es_frames when no beat is trusted."""
    trusted = [b for b in beats if b.trusted]
    if not trusted:
        return tuple(sorted(int(f) for f in ed_frames)), tuple(sorted(int(f) for f in es_frames))
    cut = [b for b in beats if not b.trusted and not b.complete and real_systole(b, beats)]
    used = trusted + cut
    eds = {b.ed_frame for b in used} | {b.next_ed_frame for b in used if b.next_ed_frame is not None}
    return tuple(sorted(eds)), tuple(sorted({b.es_frame for b in used}))
