"""ED/ES marks as the user sets them: the E/S keys (mark_frame), a marker dragged on the curve (move_marker), marks
set while a recording's first analysis ran put among its marks (with_hand_marks). Each mark belongs to a beat: the
stretch between the marks of the other kind around it."""

from __future__ import annotations

import math


def move_marker(ed: tuple[int, ...], es: tuple[int, ...], which: str, old_frame: int, new_frame: int
                ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ED/ES tuples after moving one `which` ('ed'|'es') marker from old_frame towards new_frame, within its beat
    as mark_frame keeps a mark: between the marks of the other kind around it (an ES dragged onto or past the next
    ED stops the frame before it, so no frame is both and no beat gets two ES)."""
    frames = list(ed if which == "ed" else es)
    other = es if which == "ed" else ed
    lo = max((f for f in other if f < old_frame), default=-math.inf)
    hi = min((f for f in other if f > old_frame), default=math.inf)
    new_frame = max(0, int(min(max(int(new_frame), lo + 1), hi - 1)))
    if old_frame in frames:
        frames.remove(old_frame)
    frames.append(new_frame)
    moved = tuple(sorted(set(frames)))
    return (moved, tuple(es)) if which == "ed" else (tuple(ed), moved)


def mark_frame(ed: tuple[int, ...], es: tuple[int, ...], which: str, frame: int
               ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Mark `frame` as the ED (or ES) of its beat: that beat's mark of the kind moves there, a beat
    without one gains one; pressing on a mark removes it. A beat of an ES mark is the stretch between the
    ED marks around it (and the other way round); a frame cannot be both."""
    same, other = (set(ed), set(es)) if which == "ed" else (set(es), set(ed))
    if frame in same:
        same.discard(frame)
    else:
        other.discard(frame)
        lo = max((f for f in other if f < frame), default=-math.inf)
        hi = min((f for f in other if f > frame), default=math.inf)
        in_beat = [f for f in same if lo < f < hi]
        if in_beat:
            same.discard(min(in_beat, key=lambda f: (abs(f - frame), f)))
        same.add(int(frame))
    ed_set, es_set = (same, other) if which == "ed" else (other, same)
    return tuple(sorted(ed_set)), tuple(sorted(es_set))


def with_hand_marks(ed: tuple[int, ...], es: tuple[int, ...], hand_ed: tuple[int, ...], hand_es: tuple[int, ...]
                    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """An analysis' ED/ES with marks set by hand while it ran put in, as the E/S keys put a mark (mark_frame: each
    takes its beat's mark of its kind; one already there stays)."""
    for which, frames in (("ed", hand_ed), ("es", hand_es)):
        for frame in frames:
            if frame not in (ed if which == "ed" else es):
                ed, es = mark_frame(ed, es, which, frame)
    return ed, es
