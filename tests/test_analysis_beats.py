"""ED/ES detection and beats on synthetic volume curves with several beats and cut beats."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_trust import summarise_beats
from app.analysis.beats import split_beats
from app.analysis.edes_curve import detect_ed_es, fill_gaps
from tests.analysis_synth import cardiac_curve


def _close(found, truth, tol=1):
    assert len(found) == len(truth), (found, truth)
    assert all(abs(f - t) <= tol for f, t in zip(found, truth, strict=False)), (found, truth)


@pytest.mark.parametrize("fps,hr,start", [(50, 70, 0.0), (30, 60, 0.5), (80, 110, 0.2), (25, 50, 0.9)])
def test_detects_every_ed_and_es(fps, hr, start):
    curve, ed, es = cardiac_curve(int(fps * 3.2), fps, hr, 120.0, 50.0, start_phase=start)
    found_ed, found_es = detect_ed_es(curve, fps)
    _close(found_ed, ed)
    _close(found_es, es)


def test_noise_does_not_add_beats():
    rng = np.random.default_rng(3)
    curve, ed, es = cardiac_curve(160, 50, 75, 140.0, 70.0, start_phase=0.3)
    noisy = curve + rng.normal(0, 2.0, curve.shape)
    found_ed, found_es = detect_ed_es(noisy, 50)
    _close(found_ed, ed, tol=2)
    _close(found_es, es, tol=2)


def test_clip_ending_mid_filling_invents_no_ed():
    fps, hr = 50, 60
    curve, ed, es = cardiac_curve(50 + 30, fps, hr, 120.0, 50.0)  # ends at 60 % of the second cycle
    found_ed, _ = detect_ed_es(curve, fps)
    assert found_ed[-1] < 75
    _close(found_ed, ed)


def test_beats_with_cut_ends_and_stats():
    fps, hr = 50, 75  # rr 0.8 s = 40 frames
    curve, ed, es = cardiac_curve(120, fps, hr, 120.0, 48.0, start_phase=0.2)  # starts in systole
    times = np.arange(len(curve)) / fps
    found_ed, found_es = detect_ed_es(curve, fps)
    beats = split_beats(curve, found_ed, found_es, times)
    assert all(b.ed_frame < b.es_frame for b in beats)
    complete = [b for b in beats if b.complete]
    assert len(complete) >= 1
    for b in complete:  # the exact curve: measured errors under 1e-12 (one frame off is 0.02 s, 2 bpm)
        assert b.rr_s == pytest.approx(0.8, abs=1e-6)
        assert b.heart_rate_bpm == pytest.approx(75, abs=0.01)
    for b in beats:  # one frame off an extreme is 0.9 ml or more
        assert b.ed_value == pytest.approx(120.0, abs=0.01)
        assert b.es_value == pytest.approx(48.0, abs=0.01)
    stats = summarise_beats(beats)
    assert stats.ef_pct == pytest.approx(60.0, abs=0.01)  # measured 60.000
    assert stats.stroke_value == pytest.approx(72.0, abs=0.01)  # measured exact
    assert stats.heart_rate_bpm == pytest.approx(75, abs=0.01)
    # the partial cycle at the start (ES before the first ED) gives no beat
    assert beats[0].ed_frame == found_ed[0] and found_es[0] < found_ed[0]


def test_beat_cut_at_end_has_no_heart_rate():
    curve = np.array([100, 95, 80, 60, 50, 52, 60], float)
    beats = split_beats(curve, [0], [4], np.arange(7) * 0.02)
    assert len(beats) == 1 and not beats[0].complete and beats[0].heart_rate_bpm is None
    assert beats[0].ef_pct == pytest.approx(50.0)
    assert summarise_beats(beats).heart_rate_bpm is None
    assert summarise_beats(()).ef_pct is None


def test_short_clip_and_flat_curve():
    curve = np.array([100, 99, 90, 70, 55, 50, 51, 53], float)
    ed, es = detect_ed_es(curve, 30)
    assert ed == (0,) and es == (5,)
    assert detect_ed_es(np.full(30, 7.0), 30) == ((), ())
    assert detect_ed_es(np.array([1.0, 2.0]), 30) == ((), ())


def test_gaps_are_interpolated():
    curve, ed, es = cardiac_curve(100, 50, 70, 120.0, 50.0)
    holed = curve.copy()
    holed[[10, 11, 40]] = np.nan
    np.testing.assert_allclose(fill_gaps(holed)[10:12], curve[10:12], atol=3)
    found_ed, found_es = detect_ed_es(holed, 50)
    _close(found_ed, ed)
    _close(found_es, es)
    with pytest.raises(ValueError):
        fill_gaps(np.full(4, np.nan))


def test_clip_shorter_than_a_systole_uses_the_filling_phase():
    curve = np.array([60, 52, 50, 55, 70, 90, 105, 115, 120, 118, 110], float)
    ed, es = detect_ed_es(curve, 30)
    assert es == (2,) and ed == (8,)
    beats = split_beats(curve, ed, es)
    assert len(beats) == 1 and beats[0].es_frame == 2 and beats[0].ed_frame == 8 and not beats[0].complete
    assert beats[0].ef_pct == pytest.approx(100 * 70 / 120)
    # with a real systole in the clip, no filling-phase beat is added
    assert all(b.ed_frame < b.es_frame for b in split_beats(curve, [0, 8], [2]))
