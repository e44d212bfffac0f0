"""Tests written against the survivors of `benchmarks/mutation.py` (issue 36): each pins a rule of the code
behind a clinical number (EF, volumes, ED/ES frames, GLS, segment strain, autosave) to an independent truth
(hand-computed values on small curves, closed forms), so the planted bug it names fails.

Tolerances: exact arithmetic is compared at 1e-9; elsewhere the measured error is written beside the bound.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis import edes_checks, edes_curve, edes_fusion
from app.analysis.beats import Beat, split_beats
from app.analysis.strain import StrainResult, beat_windows, combine_views, segment_names, strain_from_tracks
from tests.analysis_synth import half_ellipse_outline


# -- beats (app/analysis/beats.py) ----------------------------------------------------------------
def test_ef_of_a_curve_in_small_units_is_still_computed():
    """EF is unit-free: a curve normalised to 0..1 (or in litres) still gives its EF; only EDV <= 0 has none.
    Guards `ed_value > 0` (a threshold of 1 would drop every EF of a curve below 1 unit)."""
    assert Beat(0, 5, None, 0.8, 0.3).ef_pct == pytest.approx(62.5, abs=1e-9)
    assert Beat(0, 5, None, 0.0, 0.0).ef_pct is None


def test_beat_json_rounds_values_and_keeps_unknowns_none():
    """analyze --json of a beat: EDV/ESV/SV/EF to 2 decimals, RR to 4, heart rate to 1; unknown RR is null."""
    js = Beat(3, 20, 43, 121.456, 48.123, 0.81234).to_json_dict()
    assert js["edv_ml"] == 121.46 and js["esv_ml"] == 48.12 and js["sv_ml"] == 73.33
    assert js["ef_pct"] == 60.38  # 100 * 73.333 / 121.456 = 60.378
    assert js["rr_s"] == 0.8123 and js["heart_rate_bpm"] == 73.9  # 60 / 0.81234 = 73.86
    cut = Beat(3, 20, None, 121.456, 48.123).to_json_dict(volumes_known=False)
    assert cut["rr_s"] is None and cut["heart_rate_bpm"] is None and "edv_ml" not in cut
    assert cut["complete"] is False and cut["ef_pct"] == 60.38


def test_an_event_on_the_first_frame_counts():
    """A clip that starts at ES (frame 0) and fills to ED: the filling-phase beat ES 0 -> ED 8
    (EF = 100 * 70 / 120 by hand); a clip starting at ED (frame 0) gives the beat ED 0 -> ES 5."""
    filling = np.array([50, 55, 70, 90, 105, 115, 118, 119, 120, 118], float)
    beats = split_beats(filling, [8], [0])
    assert [(b.es_frame, b.ed_frame) for b in beats] == [(0, 8)]
    assert beats[0].ef_pct == pytest.approx(100 * 70 / 120, abs=1e-9)
    systole = np.array([120, 110, 90, 70, 55, 50, 60, 80], float)
    beats = split_beats(systole, [0], [5])
    assert [(b.ed_frame, b.es_frame) for b in beats] == [(0, 5)]
    assert beats[0].ef_pct == pytest.approx(100 * 70 / 120, abs=1e-9)


def test_an_es_on_the_next_ed_frame_is_not_that_beats_es():
    """ES must lie strictly between its ED and the next ED: a frame marked both ES and the next ED
    (a contradictory marking) makes no beat, so no EF 0 from EDV = ESV of the same frame."""
    curve = np.array([120, 100, 80, 60, 90, 120, 100, 80], float)
    assert split_beats(curve, [0, 5], [5]) == ()
    beats = split_beats(curve, [0, 5], [3, 5])
    assert [(b.ed_frame, b.es_frame, b.next_ed_frame) for b in beats] == [(0, 3, 5)]


def test_rr_is_the_time_between_the_two_ed_frames_on_uneven_frame_times():
    """RR = t(next ED) - t(ED) from the file's own frame times (DICOM frame time vectors are uneven): exact.
    One frame off on either end would be 20-35 ms (2-4 bpm at 75 bpm)."""
    curve = np.array([120, 100, 70, 50, 60, 90, 110, 120, 100, 70, 50], float)
    times = np.cumsum([0.0, 0.021, 0.034, 0.020, 0.033, 0.025, 0.030, 0.028, 0.022, 0.031, 0.027])
    beats = split_beats(curve, [0, 7], [3, 10], times)
    assert beats[0].rr_s == pytest.approx(times[7] - times[0], abs=1e-12)
    assert beats[0].heart_rate_bpm == pytest.approx(60.0 / (times[7] - times[0]), abs=1e-9)
    assert beats[1].rr_s is None  # the clip ends before its next ED


def test_event_frames_outside_the_curve_are_ignored():
    """An ED or ES at or past the last frame (an edit on a shorter re-analysis) makes no beat and no error."""
    curve = np.array([120, 100, 70, 50, 60, 90, 110, 120], float)
    beats = split_beats(curve, [0, len(curve), -1], [3, len(curve)])
    assert [(b.ed_frame, b.es_frame, b.next_ed_frame) for b in beats] == [(0, 3, None)]


def test_a_beat_counts_until_beat_trust_judges_it():
    """split_beats' beats are trusted (counted in EDV/ESV/EF) by default; only app.analysis.beat_trust marks
    one untrusted, with its reason."""
    beats = split_beats(np.array([120, 100, 70, 50, 60, 90, 110, 120], float), [0, 7], [3])
    assert beats and all(b.trusted and b.why_untrusted == "" for b in beats)


def test_the_filling_phase_beat_pairs_es_with_the_next_later_ed():
    """No ED -> ES systole in the marks (ES 3 is also marked ED): the filling-phase fallback pairs ES 3 with
    the first ED strictly after it (8), EF = 100 * (120 - 60) / 120 = 50 by hand, never with itself (EF 0)."""
    curve = np.array([100, 80, 70, 60, 75, 90, 105, 115, 120, 110], float)
    beats = split_beats(curve, [3, 8], [3])
    assert [(b.es_frame, b.ed_frame) for b in beats] == [(3, 8)]
    assert beats[0].ef_pct == pytest.approx(50.0, abs=1e-9)


# -- strain (app/analysis/strain.py) --------------------------------------------------------------
def _uniform_tracks(n_frames: int = 12, shortening: float = 0.2) -> np.ndarray:
    """(T, 120, 2) a half-ellipse centerline scaled uniformly by 1 - shortening * sin(pi t / (T-1)):
    every segment's strain is exactly -100 * shortening * sin(...) %."""
    outline = half_ellipse_outline(80.0, 25.0, 120)
    scale = 1.0 - shortening * np.sin(np.linspace(0, np.pi, n_frames))
    return outline[None] * scale[:, None, None]


def test_strain_json_rounds_the_curves_to_two_decimals():
    """analyze --json: GLS, the global and every segment curve in % to 2 decimals (as shown in the report)."""
    tracks = _uniform_tracks()
    res = strain_from_tracks(tracks, (1.0, 1.0), [0], np.zeros(tracks.shape[:2]), view="a4c")
    js = res.to_json_dict()
    truth = -20.0 * np.sin(np.linspace(0, np.pi, 12))  # exact uniform shortening, %
    assert js["strain_curve_pct"] == [round(float(v), 2) for v in res.strain_curve_pct]
    np.testing.assert_allclose(js["strain_curve_pct"], truth, atol=0.005 + 1e-9)
    for k, seg in enumerate(js["segmental_strain_pct"].values()):
        assert seg["curve"] == [round(float(v), 2) for v in res.segmental_strain_pct[:, k]]
        np.testing.assert_allclose(seg["curve"], truth, atol=0.005 + 1e-9)
        assert seg["peak"] == round(float(res.segment_peak_pct[k]), 2)
    assert js["gls_pct"] == round(float(res.gls_pct), 2)


def test_strain_without_a_systolic_window_has_no_peaks():
    """ED on the clip's last frame: no systole to search (window of one frame), so GLS and every segment's
    peak are None (not a number made up from one frame)."""
    tracks = _uniform_tracks()
    assert beat_windows(12, [11]) == []
    res = strain_from_tracks(tracks, (1.0, 1.0), [11], np.zeros(tracks.shape[:2]), view="a2c")
    assert res.gls_pct is None
    assert res.segment_peak_pct == (None,) * 6
    assert all(v["peak"] is None for v in res.to_json_dict()["segmental_strain_pct"].values())


def _peaks_only(view: str, peaks) -> StrainResult:
    """A StrainResult carrying only per-segment peaks (all tracking passed), as combine_views reads them."""
    return StrainResult(
        gls_pct=float(np.mean(peaks)),
        strain_curve_pct=np.zeros(2),
        segmental_strain_pct=np.zeros((2, 6)),
        segment_peak_pct=tuple(peaks),
        segment_names=segment_names(view),
        strain_quality=(1.0,) * 6,
        segment_ok=(True,) * 6,
        tracking_error_mm=(0.0,) * 6,
        centerline_px=np.zeros((2, 120, 2)),
        ed_frames=(0,),
        view=view,
    )


def test_bullseye_apex_is_the_mean_of_the_four_apical_segments():
    """AHA segment 17 (apex) = mean of apical 13-16: A4C gives 14 (septal) and 16 (lateral), A2C 15 (inferior)
    and 13 (anterior); by hand (-20 - 18 - 16 - 14) / 4 = -17."""
    a4c = _peaks_only("a4c", [-15.0, -17.0, -18.0, -14.0, -19.0, -21.0])  # apical_septal 14, apical_lateral 16
    a2c = _peaks_only("a2c", [-16.0, -18.5, -16.0, -20.0, -19.5, -22.0])  # apical_inferior 15, apical_anterior 13
    bull = combine_views([a4c, a2c])
    assert bull.aha_peak_pct[13] == -20.0 and bull.aha_peak_pct[14] == -18.0
    assert bull.aha_peak_pct[15] == -16.0 and bull.aha_peak_pct[16] == -14.0
    assert bull.aha_peak_pct[17] == pytest.approx(-17.0, abs=1e-12)
    assert bull.gls_mean_pct == pytest.approx((np.mean(a4c.segment_peak_pct) + np.mean(a2c.segment_peak_pct)) / 2)


# -- ED/ES curve rules (app/analysis/edes_curve.py) ------------------------------------------------
def test_a_spike_in_a_three_frame_curve_is_found():
    """Three finite frames are enough for the robust range: 10, 100, 10 -> frame 1 jumps (|90| > 0.25 * 86.4)."""
    assert edes_curve.area_jump_frames([10.0, 100.0, 10.0]) == (1,)
    assert edes_curve.area_jump_frames([10.0, 100.0]) == ()


def test_a_two_frame_step_is_not_a_spike():
    """A spike differs from both neighbours on the same side; a frame equal to one neighbour (a 2-frame step,
    e.g. two frames of a real fast change) is no spike (d_prev * d_next = 0)."""
    assert edes_curve.area_jump_frames(np.array([10, 10, 10, 50, 50, 10, 10, 10], float)) == ()
    assert edes_curve.area_jump_frames(np.array([10, 10, 10, 50, 10, 10, 10, 10], float)) == (3,)


def test_a_spike_two_frames_after_a_frame_without_contours_is_found():
    """Only the spike frame and its two neighbours must be finite: a missing frame two before it changes nothing."""
    assert edes_curve.area_jump_frames(np.array([10, np.nan, 10, 100, 10, 10], float)) == (3,)
    assert edes_curve.area_jump_frames(np.array([10, 10, np.nan, 100, 10, 10], float)) == ()  # a neighbour missing


@pytest.mark.parametrize("fps,sigma", [(50.0, 1.0), (100.0, 2.0), (10.0, 0.5), (None, 0.7)])
def test_the_curve_is_smoothed_with_a_20_ms_gaussian_at_least_half_a_frame(fps, sigma):
    """The smoothed unit impulse is the sampled Gaussian of sigma = max(0.5, 0.02 s * fps) frames (0.7 untimed),
    normalised to sum 1 (closed form; measured difference 2e-9 from scipy's 4-sigma truncation)."""
    impulse = np.zeros(41)
    impulse[20] = 1.0
    k = np.arange(-int(4 * sigma + 0.5), int(4 * sigma + 0.5) + 1)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    np.testing.assert_allclose(edes_curve.smooth_curve(impulse, fps)[20 + k], kernel / kernel.sum(), atol=1e-8)


def test_the_beat_period_is_the_autocorrelation_peak_not_a_short_lag():
    """A 40-frame sine on an offset (a volume curve never has zero mean): period 40 exactly, whatever the offset,
    though short lags (3 frames: correlation cos(27 deg) = 0.89) also correlate highly."""
    t = np.arange(160)
    for offset in (0.0, 100.0):
        curve = offset + 20.0 * np.sin(2 * np.pi * t / 40)
        assert edes_curve.cycle_period_frames(curve, 3, 100) == 40
    for sd_ml in (8.0, 18.0):  # normalised autocorrelation at lag 40: 0.80 and 0.46 (> 0.3 needed), measured
        noisy = 100.0 + 20.0 * np.sin(2 * np.pi * t / 40) + np.random.default_rng(0).normal(0, sd_ml, t.size)
        assert edes_curve.cycle_period_frames(noisy, 3, 100) == 40


def test_a_three_frame_clip_has_its_ed_and_es():
    """ED = the largest volume, ES the smallest after it (shorter than a beat): by hand ED 0, ES 1."""
    assert edes_curve.detect_ed_es(np.array([100.0, 60.0, 80.0])) == ((0,), (1,))


def test_runs_of_one_kind_keep_the_lowest_es_and_the_first_on_a_tie():
    s = np.array([5.0, 4.0, 3.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.5, 2.0, 3.0])
    assert edes_curve._alternate([(3, "es"), (7, "es")], s) == [(3, "es")]  # equal minima: the first stays
    s[7] = 1.0
    assert edes_curve._alternate([(3, "es"), (7, "es")], s) == [(7, "es")]
    assert edes_curve._alternate([(3, "ed"), (7, "ed")], -s) == [(7, "ed")]


def test_es_is_refined_on_the_raw_curve_within_a_quarter_of_the_event_distance():
    """At 50 fps (events >= 15 frames apart) a smoothed ES at frame 6 moves to the raw minimum within
    15 // 4 = 3 frames: frame 9 (37.0 ml), not frame 7; the raw minimum beyond the window (frame 12) is not taken."""
    y = np.array([50, 48, 46, 44, 42, 40, 39, 38, 37.5, 37, 36.9, 36.8, 36.7, 45, 60, 70.0])
    assert edes_curve._refine(y, 6, False, 15, 30.0) == 9
    assert edes_curve._refine(y, 9, False, 15, 30.0) == 12


# -- ED/ES from TempReg-Net's curve and its fusion (app/analysis/edes_fusion.py) --------------------------
# A TempReg-like (Kong) curve at 30 fps: ED (1.0) left steeply, ES (0.0) approached slowly; by hand the ED events
# are the last frames of their flat tops within 0.01 (frames 17 and 35, the clip's last but one and last frame)
# and the ES events the last frames within 0.02 of 0 (7 and 24); frame 0 (0.95, falling) is an ED.
KONG = np.array([0.95, 0.7, 0.45, 0.25, 0.1, 0.03, 0.0, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.93, 0.97, 0.99, 1.0,
                 0.75, 0.5, 0.3, 0.15, 0.05, 0.0, 0.02, 0.1, 0.3, 0.5, 0.7, 0.85, 0.93, 0.97, 0.99, 1.0, 1.0, 0.995])


def test_tempreg_events_are_the_ends_of_their_flat_tops_and_a_falling_first_frame():
    assert edes_fusion.curve_extrema(KONG, 30.0) == ((0, 17, 35), (7, 24))
    at_level = KONG.copy()
    at_level[0] = 1.0 - edes_fusion.EDGE_LEVEL  # exactly on the edge level still counts
    assert edes_fusion.curve_extrema(at_level, 30.0)[0] == (0, 17, 35)
    low = KONG.copy()
    low[0] = 0.85  # below the level: the first frame is not an ED
    assert edes_fusion.curve_extrema(low, 30.0)[0] == (17, 35)


def _detection(ed, es, n):
    return edes_fusion.EdEsDetection(tuple(ed), tuple(es), np.zeros(n, np.float32))


def test_a_gated_cycle_keeps_one_ed_and_es_slides_to_the_smallest_volume():
    """Cine MR cycle of 20 phases, volume 120 - 50 sin(pi t / 20): TempReg's ED on phase 0 and on the last phase
    (the next beat's ED) -> one ED (0); its ES at phase 9 slides to the smallest volume, phase 10 (70 ml)."""
    n = 20
    volume = 120.0 - 50.0 * np.sin(np.pi * np.arange(n) / n)
    choice = edes_fusion.choose_ed_es(_detection((0, n - 1), (9,), n), volume, 20.0, "mri", True)
    assert (choice.ed_frames, choice.es_frames, choice.method) == ((0,), (10,), edes_fusion.FUSED_METHOD)


def test_an_ed_without_es_falls_back_to_the_curve():
    n = 20
    choice = edes_fusion.choose_ed_es(_detection((0,), (), n), np.full(n, np.nan), 20.0, "echo", False)
    assert choice.method == edes_fusion.CURVE_METHOD and choice.ed_frames is None
    choice = edes_fusion.choose_ed_es(_detection((), (5,), n), np.full(n, np.nan), 20.0, "echo", False)
    assert choice.method == edes_fusion.CURVE_METHOD and choice.es_frames is None


@pytest.mark.parametrize("first,second,ed_at_start", [
    (93.0, 92.5, False),  # 7 ml below the interior ED level (100): more than 5 % of the 50 ml span
    (99.0, 98.5, True),  # within 2.5 ml of it and flat (0.5 ml/frame against 10 ml/frame slopes)
    (99.0, 90.0, False),  # at the level but steep (9 ml/frame > 0.3 x 10): still falling, not an ED
])
def test_an_extremum_on_the_first_frame_counts_only_at_the_interior_level_and_flat(first, second, ed_at_start):
    """Documented edge rule of detect_ed_es on sharp triangular beats (ED 100 ml, ES 50 ml, 14 frames), by hand."""
    beat = [100, 90, 80, 70, 60, 50, 55, 60, 65, 70, 75, 80, 85, 90]
    curve = np.array([first, second, 85, 75, 65, 55, 50, 56, 62, 68, 74, 80, 86, 92] + beat * 3 + [100, 90, 80], float)
    ed, es = edes_curve.detect_ed_es(curve, None)
    assert ed == ((0,) if ed_at_start else ()) + (14, 28, 42, 56)
    assert es == (6, 19, 33, 47)


def test_three_finite_frames_use_the_curve_rule_and_fewer_the_pair_rule():
    """curve_ed_es: 3 finite frames -> detect_ed_es (ED 0 = 100 ml, ES 1 = 60 ml by hand); 2 -> the pair rule,
    which needs exactly two frames; not a 1-D curve -> no events."""
    assert edes_curve.curve_ed_es(np.array([100.0, 60.0, 80.0]), None) == ((0,), (1,))
    assert edes_curve.curve_ed_es(np.array([60.0, 100.0]), None) == ((1,), (0,))
    assert edes_curve.detect_ed_es(np.zeros((3, 3))) == ((), ())


def test_depths_ignore_frames_outside_the_curve():
    curve = np.array([120, 110, 90, 70, 60, 65, 80, 100, 118, 120.0])
    depths = edes_checks.event_depths(curve, [0, 10, -1], [4, 10, -1])
    assert [(d.kind, d.frame, d.depth) for d in depths] == [("ED", 0, 0.0), ("ES", 4, 0.0)]


def test_only_the_nearest_curve_event_is_added_at_each_clip_end():
    """Detector: ED 10, ES 20; curve: ES 1 and 5 before, ED 30 and 40 after -> ES 5 and ED 30 join (the nearest
    of the other kind, at least 2 frames away), not the farther ones."""
    assert edes_fusion.add_edge_events((10,), (20,), (30, 40), (1, 5), 2) == ((10, 30), (5, 20))


# -- volumes (app/analysis/volumes.py) --------------------------------------------------------------
def test_area_length_volume_of_a_short_axis_under_a_millimetre():
    """V = 8 A^2 / (3 pi L): only L <= 0 gives 0 (no division by zero); a 0.8 mm length is measured (exact)."""
    from app.analysis.volumes import area_length_volume_ml

    assert area_length_volume_ml(40.0, 0.8) == pytest.approx(8 * 40.0**2 / (3 * np.pi * 0.8) / 1000, rel=1e-12)
    assert area_length_volume_ml(40.0, 0.0) == 0.0 and area_length_volume_ml(40.0, -1.0) == 0.0


def test_a_triangle_has_its_area_and_two_points_have_none():
    """The shoelace area of the smallest polygon, a triangle (base 4 mm, height 3 mm: 6 mm^2 exactly)."""
    from app.analysis.volumes import polygon_area_mm2

    assert polygon_area_mm2(np.array([[0.0, 0.0], [4.0, 0.0], [1.0, 3.0]])) == pytest.approx(6.0, abs=1e-12)
    assert polygon_area_mm2(np.array([[0.0, 0.0], [4.0, 0.0]])) == 0.0


# -- edes_fusion: more survivors (seed 2) -----------------------------------------------------------
def test_a_detection_is_on_slice_0_unless_told():
    """A 2D recording has one slice, index 0: a detection made without a slice index is on it."""
    assert edes_fusion.EdEsDetection((0,), (5,), np.zeros(8, np.float32)).slice_index == 0


def test_misplaced_event_judges_an_open_clip_unless_told_it_is_a_cycle():
    """Echo clips are not periodic: an ED on the last frame is judged within the clip (the largest volume after
    ES: depth 0); only on a gated cycle, where frame 0 follows, is it below the top (depth 0.02, named at a
    0.01 threshold)."""
    curve = 78.5 + 57.5 * np.cos(2 * np.pi * np.arange(20) / 20)
    assert edes_checks.misplaced_event(curve, (19,), (10,), max_depth=0.01) == ""
    assert edes_checks.misplaced_event(curve, (19,), (10,), periodic=True, max_depth=0.01).startswith("ED at frame 19")


def test_a_curve_event_exactly_min_gap_before_the_first_given_event_is_added():
    """add_edge_events: 'at least min_gap frames away' includes exactly min_gap (and the other kind only)."""
    ed, es = edes_fusion.add_edge_events((10,), (20,), (0, 10, 30), (5, 20), min_gap=5)
    assert ed == (10, 30) and es == (5, 20)
    ed, es = edes_fusion.add_edge_events((10,), (20,), (0, 10, 30), (6, 20), min_gap=5)
    assert ed == (10, 30) and es == (20,)  # frame 6 is 4 frames before the first given ED


def test_tempreg_extrema_of_fewer_than_three_frames_are_none():
    assert edes_fusion.curve_extrema(np.array([1.0, 0.0]), 25.0) == ((), ())
    assert edes_fusion.curve_extrema(np.array([[1.0, 0.0, 1.0]]), 25.0) == ((), ())


def test_a_first_frame_counts_as_es_only_near_the_bottom_of_the_tempreg_scale():
    """TempReg's curve is about 0 at ES: a first frame at 0.05 rising into the clip is ES, one at 0.3 is not
    (EDGE_LEVEL = 0.12)."""
    rise = np.linspace(0.0, 1.0, 12)
    beat = np.concatenate([rise, rise[::-1][1:], rise[1:]])  # ES 0, ED 11, ES 22, ED 33
    low = beat.copy()
    low[0] = 0.05
    assert edes_fusion.curve_extrema(low, 25.0)[1][0] == 0
    high = np.concatenate([[0.3], beat[5:]])  # 0.3, then rising from 0.45: no ES on the first frame
    assert 0 not in edes_fusion.curve_extrema(high, 25.0)[1]


def test_a_run_of_equal_tempreg_peaks_keeps_the_first():
    """Two ED peaks of the same height with no ES between (a shallow dip): the first is kept on a tie."""
    y = np.array([0.0, 0.5, 1.0, 0.9, 0.85, 0.9, 1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0])
    ed, es = edes_fusion.curve_extrema(y, 10.0)
    assert ed[0] == 2, (ed, es)


def test_three_finite_frames_are_enough_to_check_tempreg_against_the_curve():
    """With 3 finite curve frames the detector's events are checked: an ED on the smallest volume is a
    contradiction (EDV <= ESV) and the curve's own extrema are used instead."""
    det = edes_fusion.EdEsDetection((1,), (2,), np.zeros(3, np.float32))
    choice = edes_fusion.choose_ed_es(det, np.array([100.0, 50.0, 100.0]), 25.0, "echo", gated=False)
    assert choice.method == edes_fusion.CURVE_METHOD, choice


def test_a_lower_second_tempreg_peak_in_a_run_is_dropped():
    """Within a run of EDs (the dip between them is no ES: a deeper ES follows within the event distance),
    the higher ED stays: ED 0.9 at frame 9, not the later 0.85 at 15 (25 fps: events 5 frames apart)."""
    y = np.array([0.5, 1.0, 0.6, 0.3, 0.1, 0.0, 0.2, 0.5, 0.8, 0.9, 0.7, 0.5, 0.4, 0.6, 0.75, 0.85, 0.0, 0.3, 0.6,
                  0.8, 0.95, 1.0, 0.7, 0.3, 0.0, 0.3, 0.6])
    assert edes_fusion.curve_extrema(y, 25.0) == ((1, 9, 21), (5, 16, 24))


def test_a_flat_top_ends_within_half_the_event_distance():
    """_last_of_plateau walks along a flat top only within min_dist // 2 (at least 1) of the peak, and the top
    is the highest value inside that window: frames 2-5 flat at min_dist 3 -> frame 4; a higher value
    just past the window does not lower the top."""
    assert edes_fusion._last_of_plateau(np.array([0, 0.5, 1, 1, 1, 1, 0.5, 0]), 3, 3, 0.01) == 4
    assert edes_fusion._last_of_plateau(np.array([0, 0.5, 0.99, 1.0, 0.995, 1.2]), 3, 2, 0.01) == 4


def test_an_es_on_an_ed_frame_does_not_end_that_beats_systolic_window():
    """The systolic window runs from ED to its ES (+3 frames), an ES strictly after the ED: an ES marked on
    the ED frame itself (a contradictory edit) is not that beat's ES."""
    from app.analysis.strain import beat_windows

    assert beat_windows(20, [0, 10], [0, 5, 15]) == [(0, 8), (10, 18)]
    assert beat_windows(20, [0, 10], [10, 15]) == [(0, 10), (10, 18)]


def test_strain_needs_an_ed_inside_the_clip():
    """An ED frame at or past the clip's end is no reference: with no other ED, strain refuses to run."""
    from app.analysis.strain import reference_frames

    with pytest.raises(ValueError, match="at least one end-diastolic frame"):
        reference_frames(10, [10])
    assert list(reference_frames(10, [3, 10])) == [3] * 10


def test_a_short_complete_beat_counts_and_only_the_last_partial_beat_is_judged_by_length():
    """An early beat (ED 20 -> next ED 24, under 60 % of the typical 10 frames) is complete, so it counts; the
    last partial beat counts only when it is at least 60 % of a typical beat (6 of 10 frames, not 2)."""
    from app.analysis.strain import beat_windows

    assert beat_windows(30, [0, 10, 20, 24]) == [(0, 10), (10, 20), (20, 24), (24, 30)]
    assert beat_windows(26, [0, 10, 20, 24]) == [(0, 10), (10, 20), (20, 24)]


def test_strain_json_gives_quality_scores_and_tracking_errors_to_three_decimals():
    """analyze --json strain_quality: score and tracking error (mm) rounded to 3 decimals, e.g. 1.23456 mm ->
    1.235 and its score exp(-1.23456 / 1.5) = 0.43906 -> 0.439 (below 0.5: not ok)."""
    tracks = _uniform_tracks()
    disagreement = np.full(tracks.shape[:2], 1.23456)
    js = strain_from_tracks(tracks, (1.0, 1.0), [0], disagreement, view="a4c").to_json_dict()
    for q in js["strain_quality"].values():
        assert q == {"score": 0.439, "ok": False, "tracking_error_mm": 1.235}


def test_the_systolic_peak_is_searched_up_to_but_not_including_the_windows_end():
    """Windows are [start, stop): post-systolic shortening after ES + 3 frames is not the peak."""
    from app.analysis.strain import peak_systolic_pct

    curve = np.array([0.0, -5.0, -10.0, -15.0, -12.0, -20.0, 0.0])
    assert peak_systolic_pct(curve, [(0, 5)]) == pytest.approx(-15.0, abs=1e-12)
