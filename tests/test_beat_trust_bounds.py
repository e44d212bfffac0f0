"""The beat rules at their exact bounds (app/analysis/beat_trust.py): which beats an EF rests on.

Each bound is inclusive where its docstring says "within" or "at most" and exclusive where it says "under". The
beats are built by hand, frame indices and RR (seconds) set each on its own, so that a value sits exactly on a bound
or just past it (a systole is timed as its share of the beat's frames times the RR).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_events import strain_events, without_split_pairs
from app.analysis.beat_trust import (
    MAX_PLAUSIBLE_EF_PCT,
    MAX_RR_S,
    MIN_RR_S,
    SYSTOLE_S,
    BeatSummary,
    judge_beats,
    merge_split_beats,
    no_systole,
    summarise_beats,
)
from app.analysis.beats import Beat


def _beat(ed: int, es: int, next_ed: int | None, rr_s: float | None, ed_value: float = 100.0,
          es_value: float = 40.0) -> Beat:
    return Beat(ed, es, next_ed, ed_value, es_value, rr_s)


def _trusted(beats: list[Beat]) -> list[bool]:
    return [b.trusted for b in judge_beats(beats)[0]]


@pytest.mark.parametrize(("rr_s", "trusted"), [(MIN_RR_S, True), (MIN_RR_S - 0.01, False), (MAX_RR_S, True),
                                               (MAX_RR_S + 0.01, False)])
def test_the_rr_bounds_are_inclusive(rr_s, trusted):
    """A clip of three equal beats at 200 bpm or at 30 bpm counts; just beyond either, none does."""
    systole_frames = 24 if rr_s < 1.0 else 12  # ED -> ES 0.12 s at 200 bpm, 0.4 s at 30 bpm (within SYSTOLE_S)
    beats = [_beat(60 * k, 60 * k + systole_frames, 60 * (k + 1), rr_s) for k in range(3)]
    assert _trusted(beats) == [trusted] * 3


def test_a_clip_at_150_bpm_is_measured():
    beats = [_beat(20 * k, 20 * k + 7, 20 * (k + 1), 0.4) for k in range(4)]
    summary = summarise_beats(beats)
    assert [b.trusted for b in summary.beats] == [True] * 4 and summary.heart_rate_bpm == pytest.approx(150.0)


@pytest.mark.parametrize(("rr_s", "trusted"), [(1.5, True), (1.52, False), (0.65, True), (0.64, False)])
def test_a_beat_is_consistent_with_the_clips_median_rr_within_0_65_to_1_5_times_it(rr_s, trusted):
    beats = [_beat(0, 20, 50, 1.0), _beat(50, 70, 100, 1.0), _beat(100, 120, 150, 1.0),
             _beat(150, 150 + round(20 * rr_s), 150 + round(50 * rr_s), rr_s)]
    assert _trusted(beats) == [True, True, True, trusted]


@pytest.mark.parametrize(("es", "trusted"), [(6, True), (5, False), (36, True), (37, False)])
def test_a_systole_of_0_1_to_0_6_s_is_trusted_and_none_outside(es, trusted):
    """ED -> ES over a 60-frame, 1.0 s beat: 6 frames is 0.1 s, 36 frames 0.6 s (SYSTOLE_S, inclusive)."""
    assert SYSTOLE_S == (0.1, 0.6)
    assert _trusted([_beat(0, es, 60, 1.0)]) == [trusted]


@pytest.mark.parametrize(("es_value", "trusted"), [(10.0, True), (9.9, False)])
def test_an_ef_of_90_percent_is_a_hearts_and_above_it_none_is(es_value, trusted):
    assert _beat(0, 20, 60, 1.0, 100.0, es_value).ef_pct == pytest.approx(100.0 - es_value)
    assert MAX_PLAUSIBLE_EF_PCT == 90.0
    assert _trusted([_beat(0, 20, 60, 1.0, 100.0, es_value)]) == [trusted]


def _with_middle_stroke(stroke: float) -> tuple[Beat, ...]:
    """Beats of stroke 60 around a middle beat of 0.7 s (not short against the 1.0 s median) and the given stroke."""
    return merge_split_beats([_beat(0, 20, 50, 1.0), _beat(50, 55, 85, 0.7, 100.0, 100.0 - stroke),
                              _beat(85, 105, 135, 1.0)])


@pytest.mark.parametrize(("stroke", "merged"), [(15.0, True), (19.9, True), (20.0, False), (25.0, False)])
def test_a_beat_under_a_third_of_the_clips_largest_stroke_joins_the_beat_before_it(stroke, merged):
    beats = _with_middle_stroke(stroke)
    if merged:
        assert len(beats) == 2 and beats[0].next_ed_frame == 85 and beats[0].rr_s == pytest.approx(1.7)
    else:
        assert len(beats) == 3 and beats[0].next_ed_frame == 50


def test_a_sliver_joins_only_when_the_two_make_at_most_the_longest_rr():
    """Neither piece is short against the 1.0 s median, so only the sliver rule can join them."""
    exactly = merge_split_beats([_beat(0, 20, 50, 1.0), _beat(50, 55, 100, 1.0, 100.0, 95.0),
                                 _beat(100, 120, 150, 1.0)])
    assert len(exactly) == 2 and exactly[0].rr_s == pytest.approx(MAX_RR_S)
    beyond = merge_split_beats([_beat(0, 20, 50, 1.0), _beat(50, 55, 105, 1.05, 100.0, 95.0),
                                _beat(105, 125, 155, 1.0)])
    assert len(beyond) == 3


def test_a_short_beat_joins_the_one_before_when_the_two_make_a_beat_of_the_clips_length():
    """0.6 s is short against a 1.0 s median (0.65 x 1.0 = 0.65 s); with the 0.4 s beat before it, 1.0 s."""
    beats = [_beat(0, 10, 20, 0.4), _beat(20, 40, 50, 0.6), _beat(50, 70, 100, 1.0), _beat(100, 120, 150, 1.0),
             _beat(150, 170, 200, 1.0)]
    merged = merge_split_beats(beats)
    assert [b.ed_frame for b in merged] == [0, 50, 100, 150] and merged[0].rr_s == pytest.approx(1.0)
    # 0.65 x the median is not short; joined beats beyond 1.5 x the median are not one beat either
    kept = merge_split_beats([_beat(0, 20, 50, 1.0), _beat(50, 60, 83, 0.65), _beat(83, 103, 133, 1.0)])
    assert len(kept) == 3
    long = merge_split_beats([_beat(0, 20, 60, 1.2), _beat(60, 65, 80, 0.4), _beat(80, 100, 130, 1.0),
                              _beat(130, 150, 180, 1.0)])
    assert len(long) == 4  # 1.2 + 0.4 = 1.6 s, over 1.5 x the 1.0 s median


def test_the_median_rr_that_judges_a_split_leaves_the_slivers_out():
    """Two slivers of 0.5 s would pull the median RR to 0.75 s, against which 0.45 s is no longer short; without
    them the median is the real beats' 1.0 s and the 0.45 s piece joins the beat before it."""
    beats = [_beat(0, 20, 50, 1.0), _beat(50, 52, 75, 0.5, 100.0, 98.0), _beat(75, 95, 125, 1.0),
             _beat(125, 127, 150, 0.5, 100.0, 98.0), _beat(150, 160, 172, 0.55), _beat(172, 180, 195, 0.45),
             _beat(195, 215, 245, 1.0)]
    merged = merge_split_beats(beats)
    assert [b.ed_frame for b in merged] == [0, 75, 150, 195]
    assert [b.rr_s for b in merged] == pytest.approx([1.5, 1.5, 1.0, 1.0])


def test_strain_uses_a_cut_last_beat_whose_systole_is_as_long_as_the_trusted_beats():
    trusted = [_beat(0, 20, 50, 1.0), _beat(50, 70, 100, 1.0)]
    as_long = strain_events(judge_beats(trusted + [_beat(100, 120, None, None)])[0], [], [])
    assert as_long == ((0, 50, 100), (20, 70, 120))
    for es in (112, 131):  # 12 frames: under 0.65 x the 20-frame median; 31: over 1.5 x it
        assert strain_events(judge_beats(trusted + [_beat(100, es, None, None)])[0], [], []) == ((0, 50, 100),
                                                                                                  (20, 70))
    bounds = [strain_events(judge_beats(trusted + [_beat(100, es, None, None)])[0], [], [])[1][-1]
              for es in (113, 130)]
    assert bounds == [113, 130]  # exactly 0.65 x and 1.5 x the median (13 and 30 frames) still count


def test_the_short_beat_rule_scales_with_the_clips_median_rr():
    """The same clips as above at 75 bpm (median 0.8 s): 0.48 s is short (under 0.65 x 0.8 = 0.52 s) and joins the
    0.32 s before it into 0.8 s; 0.96 + 0.32 s = 1.28 s is over 1.5 x 0.8 = 1.2 s and does not join."""
    beats = [_beat(0, 8, 16, 0.32), _beat(16, 32, 40, 0.48), _beat(40, 56, 80, 0.8), _beat(80, 96, 120, 0.8),
             _beat(120, 136, 160, 0.8)]
    merged = merge_split_beats(beats)
    assert [b.ed_frame for b in merged] == [0, 40, 80, 120] and merged[0].rr_s == pytest.approx(0.8)
    long = merge_split_beats([_beat(0, 16, 48, 0.96), _beat(48, 52, 64, 0.32), _beat(64, 80, 104, 0.8),
                              _beat(104, 120, 144, 0.8)])
    assert len(long) == 4


def test_a_sliver_is_found_in_any_unit_with_no_stroke_at_all_and_in_a_clip_of_two_beats():
    assert len(_with_middle_stroke(0.0)) == 2  # ED = ES: no stroke is the thinnest sliver
    small = merge_split_beats([_beat(0, 20, 50, 1.0, 1.0, 0.4), _beat(50, 55, 85, 0.7, 1.0, 0.85),
                               _beat(85, 105, 135, 1.0, 1.0, 0.4)])  # strokes 0.6 and 0.15 (e.g. cm^2 or a 0-1 curve)
    assert len(small) == 2
    two = merge_split_beats([_beat(0, 20, 50, 1.0), _beat(50, 55, 85, 0.7, 100.0, 95.0)])
    assert len(two) == 1 and two[0].next_ed_frame == 85


def test_an_untimed_recording_keeps_its_events_and_a_summary_without_an_es_has_no_stroke():
    curve = np.array([100.0, 60.0, 40.0, 90.0, 100.0, 95.0, 98.0, 60.0, 40.0, 100.0])
    assert without_split_pairs(curve, [0, 4, 6], [2, 5, 8], None) == ((0, 4, 6), (2, 5, 8))
    assert BeatSummary((), 100.0, None, None, None).stroke_value is None
    assert BeatSummary((), None, 40.0, None, None).stroke_value is None
    assert BeatSummary((), 100.0, 40.0, 60.0, None).stroke_value == 60.0


@pytest.mark.parametrize(("es", "withheld"), [(5, True), (6, False), (40, False)])
def test_strain_has_no_systole_only_when_every_beat_s_is_shorter_than_any(es, withheld):
    """ED -> ES 5 frames of a 60-frame, 1.0 s beat is 0.083 s, under SYSTOLE_S[0]: no window of the strain holds
    a systole's peak. 0.1 s, or a systole too long (0.67 s, whose window still holds the peak), keeps the strain."""
    judged, _ = judge_beats([_beat(0, es, 60, 1.0)])
    assert bool(no_systole(judged)) is withheld
    if withheld:
        assert no_systole(judged) == "no beat with a systole a heart can have (ED to ES 0.08 s, under 0.1 s)"


def test_strain_keeps_its_systole_with_one_trusted_beat_an_untimed_one_or_a_filling_phase():
    short = Beat(0, 2, None, 100.0, 40.0, systole_s=0.05, trusted=False)
    assert no_systole([short]) and no_systole([short, short])
    assert not no_systole([short, _beat(10, 30, 70, 1.0)])  # a trusted beat
    assert not no_systole([short, Beat(10, 12, None, 100.0, 40.0, trusted=False)])  # untimed
    assert not no_systole([Beat(5, 2, None, 100.0, 40.0, systole_s=None, trusted=False)])  # ES before ED
    assert not no_systole([])
