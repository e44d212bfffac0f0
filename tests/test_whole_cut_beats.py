"""A beat cut by the clip's end is measured like the others when its systole is whole (issue 53, session 57)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_extremes import at_beat_extremes
from app.analysis.beat_trust import summarise_beats, whole_cut_beats
from app.analysis.beats import Beat, split_beats
from tests.analysis_synth import cardiac_curve

FPS = 50.0


def _clip(n_frames: int, cut_esv: float = 50.0):
    """60 bpm at 50 Hz (50-frame beats, ES 17 frames after ED), EDV 120; the beat from frame 100 empties to
    cut_esv instead of 50. Returns the curve, its ED / ES frames at the beats' extremes (as the analysis places
    them) and frame times."""
    curve, ed, es = cardiac_curve(n_frames, FPS, 60.0, 120.0, 50.0)
    if cut_esv != 50.0:
        curve[100:] = 120.0 - (120.0 - curve[100:]) * (120.0 - cut_esv) / 70.0
    ed, es = at_beat_extremes(curve, ed, es, FPS)
    return curve, list(ed), list(es), np.arange(n_frames) / FPS


def _summary(curve, ed, es, times, fps=FPS):
    return summarise_beats(split_beats(curve, ed, es, times), curve, fps)


def test_a_cut_beat_with_its_filling_seen_counts_in_the_ef():
    curve, ed, es, times = _clip(140, cut_esv=70.0)
    summary = _summary(curve, ed, es, times)
    last = summary.beats[-1]
    assert last.next_ed_frame is None and last.trusted and last.why_untrusted == ""
    assert len(summary.trusted) == 3 and summary.trusted[-1] is last
    assert summary.ef_pct == pytest.approx(np.mean([b.ef_pct for b in summary.beats]), abs=1e-9)
    assert summary.ef_pct < 100 * 70 / 120 - 1.0  # the cut beat's smaller stroke is in the mean
    assert summary.heart_rate_bpm == pytest.approx(60.0, abs=1.0)  # a cut beat has no RR: the rate is the others'
    assert summarise_beats(split_beats(curve, ed, es, times)).beats[-1].trusted is False  # no curve: as before


def test_a_clip_that_ends_in_systole_leaves_its_cut_beat_out():
    curve, ed, es, times = _clip(140, cut_esv=70.0)
    for end, es_last in ((110, 109), (116, 114)):  # ES on the last frame; ES before the cavity stops shrinking
        c, t = curve[:end], times[:end]
        summary = _summary(c, [f for f in ed if f < end], [f for f in es if f < 100] + [es_last], t)
        assert summary.beats[-1].next_ed_frame is None and not summary.beats[-1].trusted
        assert summary.ef_pct == pytest.approx(100 * 70 / 120, abs=0.5)


def test_a_cut_beat_whose_systole_is_no_heartbeat_is_left_out():
    curve, ed, es, times = _clip(140)
    beats = split_beats(curve, ed, [f for f in es if f < 100] + [104], times)  # a diastolic pair, 4 frames
    assert not summarise_beats(beats, curve, FPS).beats[-1].trusted
    dip = curve.copy()  # a short dip after the last ED, no systole of this heart's length (8 frames against 17)
    dip[101:] = 120.0
    dip[101:117] = 120.0 - 40.0 * np.sin(np.pi * np.arange(16) / 16) ** 2
    beats = split_beats(dip, [0, 50, 101], [17, 67, 109], times)
    assert beats[-1].systole_s == pytest.approx(0.16) and not summarise_beats(beats, dip, FPS).beats[-1].trusted
    collapsed = list(split_beats(curve, ed, es, times))
    collapsed[-1] = Beat(100, 117, None, 120.0, 6.0, systole_s=0.34)  # EF 95 %: a contour lost at ES
    assert not summarise_beats(collapsed, curve, FPS).beats[-1].trusted
    sliver = list(split_beats(curve, ed, es, times))
    sliver[-1] = Beat(100, 117, None, 120.0, 105.0, systole_s=0.34)  # a stroke under a third of the others'
    assert not summarise_beats(sliver, curve, FPS).beats[-1].trusted


def test_without_timing_or_a_trusted_beat_nothing_changes():
    curve, ed, es, times = _clip(140, cut_esv=70.0)
    untimed = split_beats(curve, ed, es, None)
    assert [b.trusted for b in summarise_beats(untimed, curve, None).beats] == [True, True, True]  # RR not checked
    assert summarise_beats(untimed, curve, None).note.startswith("RR interval not checked")
    beats = split_beats(curve, ed, es, times)
    untrusted = tuple(Beat(b.ed_frame, b.es_frame, b.next_ed_frame, b.ed_value, b.es_value, b.rr_s, trusted=False,
                           why_untrusted="x", systole_s=b.systole_s) for b in beats)
    assert whole_cut_beats(untrusted, curve, FPS) == untrusted
