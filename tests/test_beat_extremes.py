"""EF from each beat's own extremes (issue 53): ES at the smallest LV volume of its beat, ED at the largest."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_extremes import ED_WINDOW_S, at_beat_extremes
from app.analysis.beat_trust import summarise_beats
from app.analysis.beats import split_beats
from tests.analysis_synth import cardiac_curve

FPS = 50.0
EDV, ESV = 120.0, 50.0  # true EF 58.3 %


def _ef(curve, ed, es):
    times = np.arange(len(curve)) / FPS
    return summarise_beats(split_beats(curve, ed, es, times)).ef_pct


@pytest.mark.parametrize("lag_frames", [4, 8, 13])
def test_es_on_the_refilling_limb_moves_back_to_the_beats_smallest_volume(lag_frames):
    """TempReg-Net's ES 80-260 ms late (issue 53) shrank every beat's stroke; at the extremes the EF is the true one."""
    curve, ed, es = cardiac_curve(240, FPS, 70.0, EDV, ESV, start_phase=0.1)
    late = [f + lag_frames for f in es if f + lag_frames < len(curve)]
    assert _ef(curve, ed, late) < 100 * (EDV - ESV) / EDV - 3  # the fault: a lagging ES loses stroke
    new_ed, new_es = at_beat_extremes(curve, ed, late, FPS)
    assert all(abs(f - t) <= 1 for f, t in zip(new_es, es[: len(new_es)], strict=False)), (new_es, es)
    assert len(new_ed) == len(ed) and len(new_es) == len(late)
    assert _ef(curve, new_ed, new_es) == pytest.approx(100 * (EDV - ESV) / EDV, abs=1.0)


def test_an_early_ed_moves_to_the_largest_volume_but_no_further_than_its_window():
    curve, ed, es = cardiac_curve(240, FPS, 60.0, EDV, ESV, start_phase=0.3)
    early = [f - 4 for f in ed if f >= 4]
    new_ed, _ = at_beat_extremes(curve, early, es, FPS)
    assert all(abs(f - t) <= 1 for f, t in zip(new_ed, [f for f in ed if f >= 4], strict=False)), (new_ed, ed)
    far = [f - 12 for f in ed if f >= 12]  # 240 ms early: outside ED_WINDOW_S, only moved by the window
    moved, _ = at_beat_extremes(curve, far, es, FPS)
    assert all(0 < m - f <= round(ED_WINDOW_S * FPS) for m, f in zip(moved, far, strict=False))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_diastasis_dips_above_the_systolic_minimum_leave_es_where_it_is(seed):
    """A segmentation dip in diastasis is not the beat's smallest volume unless it is smaller than systole's."""
    curve, ed, es = cardiac_curve(240, FPS, 50.0, EDV, ESV, start_phase=0.1)
    dipped = curve.copy()
    for f in es:
        if f + 26 < len(dipped):
            dipped[f + 22:f + 26] -= 35.0  # down to ~85 ml: still above ESV 50
    dipped += np.random.default_rng(seed).normal(0, 1.5, dipped.shape)
    new_ed, new_es = at_beat_extremes(dipped, ed, es, FPS)
    assert all(abs(f - t) <= 2 for f, t in zip(new_es, es, strict=False)), (new_es, es)
    assert all(abs(f - t) <= 2 for f, t in zip(new_ed, ed, strict=False)), (new_ed, ed)


def test_single_noisy_frames_do_not_become_the_extremes():
    """The extremes are those of the lightly smoothed curve: one frame 10 % low in ejection is not ES."""
    curve, ed, es = cardiac_curve(200, FPS, 60.0, EDV, ESV, start_phase=0.1)
    noisy = curve.copy()
    spikes = [f - 6 for f in es if f >= 6]
    noisy[spikes] = ESV * 0.9
    _, new_es = at_beat_extremes(noisy, ed, es, FPS)
    assert not set(new_es) & set(spikes)


def test_a_clip_ending_in_systole_keeps_the_last_es_and_a_clip_starting_in_systole_the_first():
    curve, ed, es = cardiac_curve(200, FPS, 60.0, EDV, ESV, start_phase=0.15)
    cut = curve[: es[-1] - 3]  # ends while still ejecting
    given_es = [f for f in es if f < len(cut)] + [len(cut) - 5]
    given_ed = [f for f in ed if f < len(cut)]
    _, new_es = at_beat_extremes(cut, given_ed, given_es, FPS)
    assert new_es[-1] == len(cut) - 5  # its minimum is the clip's last frame: no end-systole there
    start = curve[6:]  # starts during ejection: the first ES found is before the first ED
    first_ed = [f - 6 for f in ed if f >= 6]
    new_ed, new_es = at_beat_extremes(start, first_ed, [f - 6 for f in es if f >= 6], FPS)
    assert abs(new_es[0] - (es[0] - 6)) <= 1 and all(abs(a - b) <= 1 for a, b in zip(new_ed, first_ed, strict=False))


def test_events_keep_their_number_and_alternate():
    curve, ed, es = cardiac_curve(300, FPS, 80.0, EDV, ESV, start_phase=0.6)
    noisy = curve + np.random.default_rng(3).normal(0, 3.0, curve.shape)
    new_ed, new_es = at_beat_extremes(noisy, ed, es, FPS)
    assert (len(new_ed), len(new_es)) == (len(ed), len(es))
    kinds = [k for _, k in sorted([(f, "ed") for f in new_ed] + [(f, "es") for f in new_es])]
    assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False))


def test_too_short_or_empty_inputs_are_returned_as_given():
    assert at_beat_extremes(np.array([1.0, 2.0]), [1], [0], FPS) == ((1,), (0,))
    assert at_beat_extremes(np.array([np.nan, 2.0, np.nan, 1.0]), [1], [3], FPS) == ((1,), (3,))
    assert at_beat_extremes(np.arange(10.0), [], [4], FPS) == ((), (4,))


def test_es_only_leaves_every_ed_where_it_was():
    curve, ed, es = cardiac_curve(240, FPS, 60.0, EDV, ESV, start_phase=0.3)
    early = [f - 4 for f in ed if f >= 4]
    late = [f + 6 for f in es if f + 6 < len(curve)]
    new_ed, new_es = at_beat_extremes(curve, early, late, FPS, move_ed=False)
    assert new_ed == tuple(early) and all(abs(f - t) <= 1 for f, t in zip(new_es, es, strict=False))


def test_frames_left_out_as_spikes_are_never_the_extremes():
    """A frame the analysis left out (NaN: an area jump) is interpolated for the smoothing, but its own value is the
    dropout: the ES and ED land on the nearest measured frames, so each beat is measured where there is a value."""
    curve, ed, es = cardiac_curve(240, FPS, 60.0, EDV, ESV, start_phase=0.1)
    gappy = curve.copy()
    left_out = sorted({f + d for f in list(es) + list(ed) for d in (0, 1) if f + d < len(curve)})
    gappy[left_out] = np.nan
    new_ed, new_es = at_beat_extremes(gappy, ed, [f + 5 for f in es if f + 5 < len(curve)], FPS)
    assert np.isfinite(gappy[list(new_es)]).all() and np.isfinite(gappy[list(new_ed)]).all(), (new_ed, new_es)
    assert all(abs(f - t) <= 2 for f, t in zip(new_es, es, strict=False)), (new_es, es)
    assert _ef(gappy, new_ed, new_es) == pytest.approx(100 * (EDV - ESV) / EDV, abs=2.0)


# Exact windows on hand-made curves: 10 Hz (a 0.5-frame smoothing, an ED window of one frame each side), flat at
# 50 but for the frames set; each assertion names the frame a window must include or leave out.
HZ = 10.0


def _flat(n: int = 20, **frames: float) -> np.ndarray:
    y = np.full(n, 50.0)
    for name, value in frames.items():
        y[int(name[1:])] = value
    return y


def test_an_es_window_runs_from_the_frame_after_one_ed_to_the_frame_before_the_next():
    assert at_beat_extremes(_flat(f4=100, f14=100, f5=10, f13=20), [4, 14], [9], HZ) == ((4, 14), (5,))
    # the frame after the next ED is lower still, but in the next beat
    assert at_beat_extremes(_flat(f4=100, f14=100, f13=10, f15=0), [4, 14], [9], HZ) == ((4, 14), (13,))


def test_an_es_after_the_last_ed_looks_to_the_clips_end_but_not_at_its_last_frame():
    assert at_beat_extremes(_flat(f4=100, f18=10), [4], [9], HZ) == ((4,), (18,))
    assert at_beat_extremes(_flat(f4=100, f19=10), [4], [9], HZ) == ((4,), (9,))  # the clip ends in systole


def test_an_es_before_the_first_ed_looks_from_the_clips_start_but_not_at_its_first_frame():
    assert at_beat_extremes(_flat(f14=100, f1=10), [14], [9], HZ) == ((14,), (1,))
    assert at_beat_extremes(_flat(f14=100, f0=10), [14], [9], HZ) == ((14,), (9,))  # the clip starts in systole


def test_without_an_ed_the_events_stay_as_given():
    assert at_beat_extremes(_flat(f7=10), [], [3], HZ) == ((), (3,))  # no ED: no beat to find an extreme in
    assert at_beat_extremes(_flat(f7=10, f15=100), [15], [3], HZ) == ((15,), (7,))


def test_an_ed_moves_at_most_its_window_and_never_onto_an_es():
    # 10 Hz: ED_WINDOW_S is one frame; the higher frame two away is outside it
    assert at_beat_extremes(_flat(f10=80, f11=90, f12=120, f3=10, f17=10), [10], [3, 17], HZ) == ((11,), (3, 17))
    assert at_beat_extremes(_flat(f10=80, f9=90, f8=120, f3=10, f17=10), [10], [3, 17], HZ) == ((9,), (3, 17))
    # untimed: three frames each side
    y = _flat(f10=80, f13=90, f14=120, f3=5, f17=10)
    assert at_beat_extremes(y, [10], [3, 17], None) == ((13,), (3, 17))
    # the ES right after the ED bounds its window: the higher frame beyond that ES is in the next phase
    y = _flat(n=24, f10=80, f11=10, f12=120, f3=5)
    assert at_beat_extremes(y, [10], [3, 11], HZ) == ((10,), (3, 11))


def test_events_outside_the_clip_are_dropped_and_three_measured_frames_are_enough():
    assert at_beat_extremes(_flat(f4=100, f14=100, f5=10), [4, 14, 20], [9, 20, 25], HZ) == ((4, 14), (5,))
    three = np.array([np.nan, 9.0, 5.0, 1.0, np.nan, np.nan])
    assert at_beat_extremes(three, [1], [2], HZ) == ((1,), (3,))
    assert at_beat_extremes(np.array([np.nan, 9.0, 5.0, np.nan, np.nan, np.nan]), [1], [2], HZ) == ((1,), (2,))


def test_a_window_without_a_measured_frame_leaves_its_event_and_one_measured_frame_is_taken():
    gap = _flat(f4=100, f14=100)
    gap[5:14] = np.nan  # every frame of the beat's ES window left out as a spike
    assert at_beat_extremes(gap, [4, 14], [9], HZ) == ((4, 14), (9,))
    gap[13] = 40.0  # only the window's last frame measured: that is the smallest
    assert at_beat_extremes(gap, [4, 14], [9], HZ) == ((4, 14), (13,))
    ed_gap = _flat(f3=10, f17=10, f10=80)
    ed_gap[9:12] = np.nan  # the ED's whole window
    assert at_beat_extremes(ed_gap, [10], [3, 17], HZ)[0] == (10,)
    ed_gap[11] = 90.0
    assert at_beat_extremes(ed_gap, [10], [3, 17], HZ)[0] == (11,)


def test_an_ed_at_either_end_of_the_clip_keeps_to_the_clip():
    assert at_beat_extremes(_flat(f0=120, f1=100, f9=10), [1], [9], HZ)[0] == (0,)  # the clip starts at ED
    assert at_beat_extremes(_flat(f19=120, f18=100, f9=10), [19], [9], HZ)[0] == (19,)  # and ends at it
