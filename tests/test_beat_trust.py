"""EF from beats we trust (issue 30): the RR plausibility rule and physiologically spaced curve events."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.beat_events import beat_events, strain_events, without_split_pairs
from app.analysis.beat_trust import MIN_RR_S, judge_beats, merge_split_beats, summarise_beats
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
    assert all(abs(f - t) <= 2 for f, t in zip(found_ed, ed, strict=False))
    assert all(abs(f - t) <= 2 for f, t in zip(found_es, es, strict=False))
    events = sorted(found_ed + found_es)
    assert min(np.diff(events)) >= 15  # no ED/ES pair 7-12 frames apart next to 60-frame beats
    assert min(np.diff(found_ed)) / FPS >= MIN_RR_S


def test_a_spurious_pair_in_diastasis_is_merged_back_into_its_beat():
    """Events as a detector could give them on the dipped curve (an extra ED/ES pair in the diastasis of the
    second beat): judged alone, the beat it cuts short looks plausible (0.8 s) and the fragment does not; merged,
    every complete beat has the clip's true RR (1.2 s, 50 bpm) and the EF of its own ED and ES."""
    curve, ed, es = _curve_with_diastolic_dips()
    times = np.arange(len(curve)) / FPS
    spurious_ed, spurious_es = es[1] + 20, es[1] + 23  # a peak just before the dip, the dip
    beats = split_beats(curve, sorted(ed + [spurious_ed]), sorted(es + [spurious_es]), times)
    judged, _ = judge_beats(beats)
    assert any(b.rr_s is not None and b.rr_s < 0.5 and not b.trusted for b in judged)  # the fragment alone
    merged = merge_split_beats(beats)
    assert len(merged) == len(beats) - 1
    assert [b.ed_frame for b in merged] == [b.ed_frame for b in beats if b.ed_frame != spurious_ed]
    complete = [b for b in merged if b.complete]
    assert all(b.rr_s == pytest.approx(60 / 50.0, abs=0.05) for b in complete)
    summary = summarise_beats(beats)
    assert summary.heart_rate_bpm == pytest.approx(50.0, abs=2.0)
    assert all(b.trusted for b in summary.beats if b.complete)
    assert not summary.beats[-1].trusted and not summary.beats[-1].complete  # the beat cut by the clip's end
    assert summary.ef_pct == pytest.approx(float(np.mean([b.ef_pct for b in summary.trusted])))
    eds, ess = strain_events(summary.beats, sorted(ed + [spurious_ed]), sorted(es + [spurious_es]))
    assert spurious_ed not in eds and spurious_es not in ess  # strain sees one beat, not a beat and a sliver
    assert set(eds) >= {b.ed_frame for b in summary.trusted}


def test_phantom_like_splits_every_beat_and_short_beats_alone_are_not_merged():
    """TempReg-Net on the long phantom clip: an ED/ES pair 0.24 s before every real ED (8 'beats' for 4);
    merged, 4 beats of 0.98-1.0 s. Two short beats with no plausible neighbour stay as they are."""
    fps = 55.0
    real_ed, spurious_ed = [2, 56, 110, 165], [43, 97, 152]
    beats = [Beat(e, e + 19, n, 110.0, 48.0, (n - e) / fps) for e, n in zip(real_ed, spurious_ed, strict=False)]
    beats += [Beat(s, s + 4, n, 89.0, 87.0, (n - s) / fps) for s, n in zip(spurious_ed, real_ed[1:], strict=False)]
    beats = sorted(beats, key=lambda b: b.ed_frame) + [Beat(165, 183, None, 108.0, 48.0)]
    merged = merge_split_beats(beats)
    assert [(b.ed_frame, b.next_ed_frame) for b in merged] == [(2, 56), (56, 110), (110, 165), (165, None)]
    assert all(b.rr_s == pytest.approx((b.next_ed_frame - b.ed_frame) / fps) for b in merged[:3])
    shorts = [Beat(0, 4, 9, 120.0, 60.0, 0.18), Beat(9, 13, 19, 118.0, 61.0, 0.2)]
    assert merge_split_beats(shorts) == tuple(shorts)


def test_strain_uses_the_given_events_when_no_beat_is_trusted():
    beats = [Beat(0, 4, 9, 120.0, 60.0, 0.18, trusted=False, why_untrusted="RR")]
    assert strain_events(beats, [9, 0], [4]) == ((0, 9), (4,))
    assert strain_events((), [3], [10]) == ((3,), (10,))


def test_strain_keeps_a_cut_last_beat_with_a_full_systole_but_not_a_sliver():
    full = [Beat(0, 20, 60, 120.0, 50.0, 1.2), Beat(60, 79, None, 118.0, 52.0, trusted=False, why_untrusted="cut")]
    assert strain_events(full, [0, 60], [20, 79]) == ((0, 60), (20, 79))
    sliver = [Beat(0, 20, 60, 120.0, 50.0, 1.2), Beat(60, 63, None, 90.0, 88.0, trusted=False, why_untrusted="cut")]
    assert strain_events(sliver, [0, 60], [20, 63]) == ((0, 60), (20,))


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


def test_strain_of_the_analysis_ignores_an_ed_es_pair_outside_the_trusted_beats():
    """The analysis's strain step runs on the trusted beats' events: an extra ED/ES pair in the events (as
    TempReg-Net puts in a diastasis) that no trusted beat uses leaves GLS as it was; counted as a beat, its
    window without shortening would pull the mean toward 0."""
    from dataclasses import replace

    from report_fixtures import synthetic_analysis

    from app.tasks import run_task
    from app.workflow.strain_step import strain_step

    analysis = synthetic_analysis(n_frames=60)
    m = analysis.measurements
    assert m.ed_frames == (0, 40) and [b.trusted for b in m.beats] == [True, False]
    plain = run_task(strain_step(analysis)).strain
    extra = replace(m, ed_frames=(0, 30, 40), es_frames=(20, 33, 59))  # a pair in the first beat's diastole
    spurious = run_task(strain_step(replace(analysis, measurements=extra))).strain
    assert plain.gls_pct < -5.0
    assert spurious.gls_pct == pytest.approx(plain.gls_pct, abs=1e-9)
    assert 30 not in spurious.ed_frames


def test_the_events_of_a_merged_pair_are_left_out_and_others_kept():
    """After the merge, the phantom pattern's events are one ED and one ES per beat; an ES before the first ED
    and the events of the beat cut by the clip's end stay."""
    fps = 55.0
    ed, es = [2, 43, 56, 97, 110, 152, 165], [0, 21, 47, 75, 101, 129, 155, 183]
    beats = split_beats(np.linspace(100, 50, 200), ed, es, np.arange(200) / fps)
    merged = merge_split_beats(beats)
    assert beat_events(merged, ed, es) == ((2, 56, 110, 165), (0, 21, 75, 129, 183))
    clean_ed, clean_es = [2, 56, 110, 165], [21, 75, 129, 183]
    clean = summarise_beats(split_beats(np.linspace(100, 50, 200), clean_ed, clean_es, np.arange(200) / fps)).beats
    assert beat_events(clean, clean_ed, clean_es) == (tuple(clean_ed), tuple(clean_es))  # nothing to drop


def test_a_diastolic_pair_cut_by_the_clips_end_is_not_a_beat_but_a_cut_systole_is():
    """The long phantom clip ends with ED 206 / ES 209, a pair in diastasis 0.24 s before the next (unseen) ED:
    a 3-frame 'systole' next to the trusted beats' 18-19 frames. Its events go; a cut beat whose ES comes a
    systole after its ED stays."""
    fps = 55.0
    ed, es = [2, 56, 110, 165, 206], [21, 75, 129, 183, 209]
    judged = summarise_beats(split_beats(np.linspace(100, 50, 217), ed, es, np.arange(217) / fps)).beats
    assert beat_events(judged, ed, es) == ((2, 56, 110, 165), (21, 75, 129, 183))
    real = summarise_beats(split_beats(np.linspace(100, 50, 240), ed[:4] + [219], es[:4] + [237],
                                       np.arange(240) / fps)).beats
    assert beat_events(real, ed[:4] + [219], es[:4] + [237]) == ((2, 56, 110, 165, 219), (21, 75, 129, 183, 237))
    filling = summarise_beats(split_beats(np.linspace(50, 100, 20), [12], [2], np.arange(20) / 50.0)).beats
    assert beat_events(filling, [12], [2]) == ((12,), (2,))  # a clip shorter than a beat: ES 2 -> ED 12 stays


def test_a_diastolic_pair_before_the_clips_first_real_ed_is_not_a_beat():
    """EchoNet 0X1E125FF0DBDEDD8E starts in systole (ES 17); TempReg-Net put an ED/ES pair one frame apart in
    the diastasis that follows (ED 32, ES 33) before the real ED (49). With no beat before it to join, the pair
    stayed the clip's first 'beat' (EF 1.6 %, not counted) and its overlapping ED and ES marks stayed on the
    curves and in the report. Here: a 61 bpm clip at 50 Hz starting after ED, the pair at 24/25."""
    curve, ed, es = cardiac_curve(197, FPS, 61.0, 120.0, 45.0, start_phase=0.2)
    assert ed == [39, 89, 138, 187] and es == [7, 57, 106, 155]
    with_pair_ed, with_pair_es = [24] + ed, [7, 25] + es[1:]
    times = np.arange(len(curve)) / FPS
    judged = summarise_beats(split_beats(curve, with_pair_ed, with_pair_es, times)).beats
    assert (judged[0].ed_frame, judged[0].es_frame, judged[0].trusted) == (24, 25, False)
    assert beat_events(judged, with_pair_ed, with_pair_es) == (tuple(ed), tuple(es))
    assert without_split_pairs(curve, with_pair_ed, with_pair_es, FPS) == (tuple(ed), tuple(es))
    clean = summarise_beats(split_beats(curve, ed, es, times)).beats  # the first beat a real one: kept
    assert beat_events(clean, ed, es) == (tuple(ed), tuple(es))
    # a first beat whose systole is real but whose stroke is small (a weak beat) is a beat, and kept
    weak = curve.copy()
    weak[39:57] = np.linspace(curve[39], curve[39] - 20.0, 18)
    weak_beats = summarise_beats(split_beats(weak, ed, es, times)).beats
    assert beat_events(weak_beats, ed, es) == (tuple(ed), tuple(es))


def test_a_cut_beat_with_a_long_systole_keeps_its_events_and_the_beat_before():
    """The long phantom clip as a 112 px MJPEG AVI at 50 Hz: after its split pairs go, TempReg-Net's last ED comes
    12 frames early in filling (152, the curve's ED is 164), so the cut last beat's 'systole' is 31 frames against
    the trusted beats' 20. Too long is not a diastolic sliver: dropping its ED also cut the beat before it, so
    the clip lost its third complete beat (reported ED [2, 56, 110], 2 trusted beats instead of 3)."""
    ed, es = [2, 56, 110, 152], [22, 75, 130, 183]
    judged = summarise_beats(split_beats(np.linspace(100, 50, 217), ed, es, np.arange(217) / FPS)).beats
    assert beat_events(judged, ed, es) == (tuple(ed), tuple(es))
    assert [b.trusted for b in judged] == [True, True, True, False]  # the cut beat: no RR, the others counted


def test_the_analysis_reports_one_ed_and_one_es_per_beat(monkeypatch):
    """A detector's extra ED/ES pair in a diastole (as TempReg-Net gave on the long phantom clip) is not in the
    analysis's events: not in the marks, the exported frames, the beats or the heart rate."""
    from report_fixtures import synthetic_labels, synthetic_recording

    from app.analysis.edes_fusion import TEMPREG_METHOD, EdEsChoice
    from app.tasks import run_task
    from app.workflow import analyze

    labels = synthetic_labels(90, beats=3.0)  # ED at 0, 30, 60 and ES at 15, 45, 75 at 40 Hz: 80 bpm
    recording = synthetic_recording(labels)
    monkeypatch.setattr(analyze, "detect_ed_es_events", lambda rec, curves: EdEsChoice(
        (0, 25, 30, 60), (15, 27, 45, 75), TEMPREG_METHOD))  # the detector's events; the ED/ES step cleans them
    analysis = run_task(analyze.analyze_recording(recording, segmenter=lambda rec: labels))
    m = analysis.measurements
    assert m.ed_frames == (0, 30, 60) and m.es_frames == (15, 45, 75)
    assert [(b.ed_frame, b.es_frame, b.next_ed_frame) for b in m.beats] == [(0, 15, 30), (30, 45, 60), (60, 75, None)]
    assert m.heart_rate_bpm == pytest.approx(80.0, abs=0.5)


def test_a_diastolic_sliver_is_joined_to_its_beat_whatever_its_rr():
    """EchoNet 0X1154F8CD483D5CD5 (40 bpm): TempReg-Net's ED/ES pair 60 ms apart in a diastasis made a 0.6 s "beat"
    of EF 4 %, trusted, and set the median RR that left the real 1.44 s beat untrusted (EF 26 against 56 %)."""
    beats = [Beat(76, 96, 148, 100.0, 52.0, 1.44), Beat(148, 173, 189, 100.0, 53.0, 0.82),
             Beat(189, 192, 219, 96.0, 92.0, 0.60)]
    summary = summarise_beats(beats)
    assert [(b.ed_frame, b.next_ed_frame) for b in summary.beats] == [(76, 148), (148, 219)]
    assert all(b.trusted for b in summary.beats) and summary.ef_pct == pytest.approx(47.5, abs=0.1)
    assert summary.heart_rate_bpm == pytest.approx(60 / 1.43, abs=0.1)
    ectopic = [Beat(0, 20, 50, 100.0, 50.0, 1.0), Beat(50, 60, 150, 80.0, 70.0, 2.0)]  # together past MAX_RR_S
    assert len(merge_split_beats(ectopic)) == 2
    alike = [Beat(0, 20, 50, 100.0, 50.0, 1.0), Beat(50, 70, 100, 100.0, 70.0, 1.0)]  # 30 of 50: not a sliver
    assert merge_split_beats(alike) == tuple(alike)


def test_a_beat_with_an_ef_no_heart_has_is_not_trusted():
    """A contour that collapses for a few frames (EchoNet 0X777EA631128ED080: a beat of EF 99.8 %) is that beat's
    smallest volume; such a beat does not count, and a clip with only such beats gives no EF and says why."""
    good, collapsed = Beat(0, 20, 50, 100.0, 45.0, 1.0), Beat(50, 70, 100, 100.0, 2.0, 1.0)
    summary = summarise_beats([good, collapsed])
    assert summary.ef_pct == pytest.approx(55.0) and not summary.beats[1].trusted
    assert "above 90 %" in summary.beats[1].why_untrusted
    alone = summarise_beats([collapsed])
    assert alone.ef_pct is None and "no beat with an EF a heart can have" in alone.note
    untimed = summarise_beats([Beat(0, 20, None, 100.0, 5.0)])
    assert untimed.ef_pct is None and not untimed.beats[0].trusted


def test_a_beat_whose_ed_to_es_is_no_systole_is_not_trusted():
    """50 Hz beats of 1.0 s: ED -> ES 0.36 s is a systole; 0.86 s (an ES in a dropout most of a beat later, as
    TempReg-Net placed it on a clinical clip) and 0.06 s (a pair in diastasis) are not, whatever their EF."""
    beats = [Beat(0, 18, 50, 120.0, 50.0, 1.0), Beat(50, 93, 100, 120.0, 20.0, 1.0),
             Beat(100, 103, 150, 119.0, 52.0, 1.0), Beat(150, 168, 200, 121.0, 51.0, 1.0)]
    summary = summarise_beats(beats)
    assert [b.trusted for b in summary.beats] == [True, False, False, True]
    assert "0.86 s" in summary.beats[1].why_untrusted and "0.06 s" in summary.beats[2].why_untrusted
    assert summary.ef_pct == pytest.approx(100 * 70 / 120, abs=0.5)  # the two real beats only
    only_long = summarise_beats([Beat(0, 43, 50, 120.0, 20.0, 1.0), Beat(50, 92, 100, 118.0, 22.0, 1.0)])
    assert only_long.ef_pct is None and "no beat with a systole a heart can have" in only_long.note
    untimed = summarise_beats([Beat(0, 43, 50, 120.0, 50.0)])  # no RR: its systole cannot be timed, so not judged
    assert untimed.ef_pct is not None


def test_a_clip_too_short_for_a_systole_gives_no_ef():
    """A truncated 50 Hz file of 4 frames: its only beat, cut by the clip's end, is timed by its frames, and
    ED -> ES 0.04 s is no systole (it gave EF 4 %). A clip cut after a full systole keeps its EF, and a clip
    without frame timing is not judged."""
    curve = np.array([1326.0, 1340.0, 1269.0, 1292.0])
    times = np.arange(4) / FPS
    short = summarise_beats(split_beats(curve, [1], [2], times))
    assert short.beats[0].systole_s == pytest.approx(0.02) and not short.trusted and short.ef_pct is None
    assert "0.02 s is outside" in short.beats[0].why_untrusted
    assert "no beat with a systole a heart can have" in short.note
    curve, ed, es = cardiac_curve(40, FPS, 60.0, 120.0, 50.0)  # one systole and the start of the filling
    cut = summarise_beats(split_beats(curve, ed[:1], es[:1], np.arange(40) / FPS))
    assert not cut.beats[0].complete and 0.1 <= cut.beats[0].systole_s <= 0.6
    assert cut.ef_pct == pytest.approx(100 * 70 / 120, abs=2) and cut.note.startswith("RR interval not checked")
    assert summarise_beats(split_beats(curve[:4], [1], [2])).ef_pct is not None  # untimed: as before


def test_edv_esv_and_ef_are_the_means_over_the_trusted_beats():
    """Three trusted beats of EF 50, 55 and 65 % give 56.7 (the median would be the middle beat's 55); an untrusted
    beat weighs nothing (session 52, lab/notes/echo_clip_ef.md: one beat strays from its clip by SD 4.6 points)."""
    beats = [Beat(2, 8, 25, 100.0, 50.0, 0.8), Beat(25, 33, 50, 110.0, 49.5, 0.8),  # ED not the clip's first frame
             Beat(50, 58, 75, 120.0, 42.0, 0.8), Beat(75, 83, 100, 100.0, 5.0, 0.8)]  # EF 95 %: not trusted
    summary = summarise_beats(beats)
    assert [b.trusted for b in summary.beats] == [True, True, True, False]
    assert summary.ef_pct == pytest.approx((50.0 + 55.0 + 65.0) / 3)
    assert summary.ed_value == pytest.approx(110.0) and summary.es_value == pytest.approx((50.0 + 49.5 + 42.0) / 3)
