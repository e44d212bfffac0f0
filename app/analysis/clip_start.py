"""A beat whose end-diastole is the clip's first frame, when the clip does not start at an end-diastole.

End-diastole is the frame of the beat's largest volume (the ASE/EACVI convention; app.analysis.beat_extremes
moves each ED to the largest volume near it). At the clip's first frame nothing earlier can be looked at: a clip
that starts on the R wave (an ECG-triggered loop) starts at end-diastole, one that starts a few frames into systole
does not, and its first "beat" then has an EDV too small and an EF too low (issue 53; lab/notes/echo_clip_ef.md,
session 61). The clip's other beats tell the two apart: an end-diastole on the first frame clearly smaller than
theirs was not this beat's (the clip starts in systole, or in diastole before the atrial kick has filled the
ventricle). Plain numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from app.analysis.beats import Beat

# An ED on the clip's first frame counts when its volume is at least this share of the median ED volume of the
# clip's other trusted beats: in sinus rhythm end-diastolic volume varies from beat to beat by a few per cent
# (breathing included), so a first frame more than a tenth smaller is not an end-diastole.
FIRST_FRAME_ED_SHARE = 0.9


def judge_first_frame_ed(beats: Iterable[Beat]) -> tuple[Beat, ...]:
    """The judged beats, a trusted beat whose ED is the clip's first frame marked untrusted when its ED value is
    under FIRST_FRAME_ED_SHARE of the median ED value of the other trusted beats (a systolic beat, ED before ES);
    unchanged when no other trusted beat starts later in the clip."""
    beats = tuple(beats)
    others = [b.ed_value for b in beats
              if b.trusted and b.ed_frame > 0 and b.es_frame > b.ed_frame and np.isfinite(b.ed_value)]
    if not others:
        return beats
    reference = float(np.median(others))
    return tuple(replace(b, trusted=False, why_untrusted=_why(b.ed_value, reference))
                 if _not_an_ed(b, reference) else b for b in beats)


def _not_an_ed(beat: Beat, reference: float) -> bool:
    return (beat.trusted and beat.ed_frame == 0 and beat.es_frame > 0 and reference > 0
            and beat.ed_value < FIRST_FRAME_ED_SHARE * reference)


def _why(ed_value: float, reference: float) -> str:
    shortfall_pct = 100.0 * (1.0 - ed_value / reference)
    return (f"its end-diastole, the clip's first frame, is {shortfall_pct:.0f} % smaller than the other beats': "
            "the clip does not start at an end-diastole")
