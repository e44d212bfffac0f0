"""A clip that starts after an end-diastole: its first frame is no ED, and that first beat is left out (issue 53)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_extremes import at_beat_extremes
from app.analysis.beat_trust import summarise_beats
from app.analysis.beats import Beat, split_beats
from app.analysis.clip_start import FIRST_FRAME_ED_SHARE, judge_first_frame_ed
from tests.analysis_synth import cardiac_curve

FPS = 50.0
EDV, ESV = 120.0, 50.0


def _summary(start_phase: float, n_frames: int = 160):
    """60 bpm at 50 Hz, the clip starting start_phase of a cycle after an ED, with an ED placed on its first frame
    (as TempReg-Net or the curve put one there: nothing earlier to compare with) and the others at the beats'
    extremes."""
    curve, ed, es = cardiac_curve(n_frames, FPS, 60.0, EDV, ESV, start_phase=start_phase)
    ed, es = at_beat_extremes(curve, sorted({0, *ed}), es, FPS)
    return curve, summarise_beats(split_beats(curve, ed, es, np.arange(n_frames) / FPS), curve, FPS)


def test_a_clip_that_starts_in_systole_leaves_its_first_beat_out():
    curve, summary = _summary(start_phase=0.12)
    first = summary.beats[0]
    assert first.ed_frame == 0 and curve[0] < FIRST_FRAME_ED_SHARE * EDV
    assert not first.trusted and "the clip does not start at an end-diastole" in first.why_untrusted
    assert f"is {100 * (1 - curve[0] / EDV):.0f} % smaller" in first.why_untrusted
    assert first.ef_pct < 100 * (EDV - ESV) / EDV - 5  # what it would have pulled the EF down by
    assert all(b.trusted for b in summary.beats[1:]) and len(summary.trusted) >= 2
    assert summary.ef_pct == pytest.approx(100 * (EDV - ESV) / EDV, abs=0.5)
    assert summary.ed_value == pytest.approx(EDV, abs=0.5)
    assert summary.heart_rate_bpm == pytest.approx(60.0, abs=1.0)


def test_a_clip_that_starts_at_or_just_after_end_diastole_keeps_its_first_beat():
    for start_phase in (0.0, 0.03):  # on the R wave (an ECG-triggered loop); 30 ms in: 0.99 of the EDV
        curve, summary = _summary(start_phase)
        assert summary.beats[0].ed_frame == 0 and curve[0] >= FIRST_FRAME_ED_SHARE * EDV
        assert all(b.trusted for b in summary.beats)


def test_the_first_frame_is_judged_only_against_other_trusted_beats():
    alone = (Beat(0, 17, 50, 100.0, 50.0, rr_s=1.0), Beat(50, 67, 100, 120.0, 50.0, rr_s=1.0, trusted=False))
    assert judge_first_frame_ed(alone) == alone  # no other trusted beat: nothing to compare with
    later = (Beat(0, 17, 50, 120.0, 50.0, rr_s=1.0), Beat(50, 67, 100, 100.0, 50.0, rr_s=1.0))
    assert judge_first_frame_ed(later) == later  # only the first frame is judged: a later ED is the beat's largest
    filling = (Beat(0, 0, None, 80.0, 50.0), Beat(10, 27, 60, 120.0, 50.0, rr_s=1.0))
    assert judge_first_frame_ed(filling) == filling  # ED and ES on one frame: no systole to shorten
    pair = (Beat(0, 1, None, 120.0, 50.0),)  # an ED/ES pair of two frames (CAMUS, an MR stack)
    assert judge_first_frame_ed(pair) == pair
    short = (Beat(0, 17, 50, 100.0, 50.0, rr_s=1.0), Beat(50, 67, 100, 120.0, 50.0, rr_s=1.0),
             Beat(100, 117, 150, 118.0, 50.0, rr_s=1.0))
    judged = judge_first_frame_ed(short)
    assert [b.trusted for b in judged] == [False, True, True] and judged[1:] == short[1:]
