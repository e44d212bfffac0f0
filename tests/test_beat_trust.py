"""EF from beats we trust (issue 30): the RR plausibility rule and physiologically spaced curve events."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_trust import MIN_RR_S, judge_beats, summarise_beats
from app.analysis.beats import Beat, split_beats
from app.analysis.edes_curve import detect_ed_es
from tests.analysis_synth import cardiac_curve

FPS = 50.0


def _curve_with_diastolic_dips(seed=0):
    """A 50 Hz clip of 60-frame beats (50 bpm) whose segmentation drops the cavity by half the stroke for
    4 frames in every diastasis: the spurious extrema the area curve fall-back turned into beats."""
    curve, ed, es = cardiac_curve(200, FPS, 50.0, 120.0, 50.0, start_phase=0.1)
    dipped = curve.copy()
    for f in es:
        if f + 26 < len(dipped):
            dipped[f + 22:f + 26] -= 35.0
    rng = np.random.default_rng(seed)
    return dipped + rng.normal(0, 2.0, dipped.shape), ed, es


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curve_fallback_gives_one_ed_and_one_es_per_beat(seed):
    curve, ed, es = _curve_with_diastolic_dips(seed)
    found_ed, found_es = detect_ed_es(curve, FPS)
    assert len(found_ed) == len(ed) and len(found_es) == len(es), (found_ed, found_es)
    assert all(abs(f - t) <= 2 for f, t in zip(found_ed, ed))
    assert all(abs(f - t) <= 2 for f, t in zip(found_es, es))
    events = sorted(found_ed + found_es)
    assert min(np.diff(events)) >= 15  # no ED/ES pair 7-12 frames apart next to 60-frame beats
    assert min(np.diff(found_ed)) / FPS >= MIN_RR_S


def test_spurious_events_give_untrusted_beats_and_the_median_of_the_rest():
    """Events as a detector could give them on the dipped curve (an extra ES/ED pair in the diastasis of
    the second beat): the two short beats are not trusted, EF is the median of the others."""
    curve, ed, es = _curve_with_diastolic_dips()
    times = np.arange(len(curve)) / FPS
    spurious_ed, spurious_es = es[1] + 20, es[1] + 23  # a peak just before the dip, the dip
    beats = split_beats(curve, sorted(ed + [spurious_ed]), sorted(es + [spurious_es]), times)
    judged, note = judge_beats(beats)
    assert note == ""
    short = [b for b in judged if b.rr_s is not None and b.rr_s < 0.5]
    assert len(short) == 1 and not short[0].trusted and "inconsistent" in short[0].why_untrusted
    trusted = [b for b in judged if b.trusted]
    assert len(trusted) == 2 and all(b.rr_s >= 0.8 for b in trusted)
    assert not judged[-1].trusted and not judged[-1].complete  # the beat cut by the clip's end
    summary = summarise_beats(beats)
    assert summary.ef_pct == pytest.approx(float(np.median([b.ef_pct for b in trusted])))
    assert summary.heart_rate_bpm == pytest.approx(60 / np.median([b.rr_s for b in trusted]))


def test_a_beat_inconsistent_with_its_neighbours_is_not_trusted():
    beats = [Beat(0, 20, 60, 120.0, 50.0, 1.2), Beat(60, 80, 120, 120.0, 48.0, 1.2),
             Beat(120, 135, 150, 118.0, 90.0, 0.6), Beat(150, 170, 210, 120.0, 52.0, 1.2)]
    judged, note = judge_beats(beats)
    assert [b.trusted for b in judged] == [True, True, False, True] and note == ""
    assert "inconsistent" in judged[2].why_untrusted
    assert summarise_beats(beats).ef_pct == pytest.approx(100 * 70 / 120, abs=0.1)


def test_a_clip_without_a_plausible_beat_says_why():
    beats = [Beat(0, 4, 9, 120.0, 60.0, 0.18), Beat(9, 13, 19, 118.0, 61.0, 0.2)]
    summary = summarise_beats(beats)
    assert summary.ef_pct is None and summary.ed_value is None and not summary.trusted
    assert "no beat with a plausible RR interval" in summary.note and "0.18" in summary.note
    assert all("outside" in b.why_untrusted for b in summary.beats)


def test_beats_without_rr_are_used_and_the_note_says_so():
    """A clip shorter than a cycle (or a 2-frame pair): no RR to check, every beat counts."""
    beats = [Beat(0, 1, None, 120.0, 50.0)]
    summary = summarise_beats(beats)
    assert summary.ef_pct == pytest.approx(100 * 70 / 120) and summary.trusted == tuple(summary.beats)
    assert summary.note.startswith("RR interval not checked")
    assert summarise_beats(()).note == ""


def test_a_cut_beat_beside_timed_beats_is_left_out():
    beats = [Beat(0, 20, 60, 120.0, 50.0, 1.2), Beat(60, 80, None, 140.0, 40.0)]
    summary = summarise_beats(beats)
    assert [b.trusted for b in summary.beats] == [True, False]
    assert summary.ed_value == 120.0 and summary.beats[1].to_json_dict()["why_untrusted"].startswith("cut")
