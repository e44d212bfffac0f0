"""Measuring rules pinned against the survivors of `benchmarks/mutation.py measure` (issue 36): one edited event
with the other still detected (echo and MR stacks), the biplane stroke volume, disk chords drawn on non-square
pixels and the ED/ES pair of a two-frame recording. Truth: exact label maps (their own curves), hand arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.contours import extract_all
from app.data.recording import Recording, uniform_frame_times
from app.tasks import run_task
from app.workflow.analyze import analyze_recording, measure
from app.workflow.lv_curves import disk_chords_px, frame_disks
from app.workflow.study_result import compose_study
from tests.test_pipeline_synthetic import _ring_stack, beating_labels, recording_for


@pytest.fixture(scope="module")
def beating():
    return beating_labels()


def test_an_edited_ed_leaves_es_detected_and_an_edited_es_leaves_ed_detected(beating):
    labels = beating[0]
    rec, contours = recording_for(labels), extract_all(labels)
    auto = measure(rec, contours)
    assert len(auto.ed_frames) >= 2 and auto.es_frames
    only_ed = measure(rec, contours, ed_frames=[auto.ed_frames[0] + 1], es_frames=None)
    assert only_ed.ed_frames == (auto.ed_frames[0] + 1,) and only_ed.es_frames == auto.es_frames
    only_es = measure(rec, contours, ed_frames=None, es_frames=[auto.es_frames[0] - 1])
    assert only_es.ed_frames == auto.ed_frames and only_es.es_frames == (auto.es_frames[0] - 1,)


def test_a_stack_with_one_edited_event_detects_the_other():
    """Ring stack: ED at phase 0, ES at phase 12 of 24 (by construction); editing one keeps the other detected."""
    labels, _ = _ring_stack(3, 24)
    rec = Recording((labels * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(24, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0, heart_rate_bpm=62.5)
    contours = run_task(analyze_recording(rec, segmenter=lambda r: labels)).contours
    only_ed = measure(rec, contours, ed_frames=[1], es_frames=None)
    assert only_ed.ed_frames == (1,) and only_ed.es_frames == (12,)
    only_es = measure(rec, contours, ed_frames=None, es_frames=[11])
    assert only_es.ed_frames == (0,) and only_es.es_frames == (11,)


def test_biplane_stroke_volume_and_ef_follow_from_its_volumes(beating):
    """Biplane SV = EDV - ESV and EF = 100 SV / EDV (exact arithmetic on the biplane volumes)."""
    labels = beating[0]
    triples = []
    for view in ("a4c", "a2c"):
        rec, contours = recording_for(labels, view=view), extract_all(labels)
        triples.append((rec, contours, measure(rec, contours)))
    bi = compose_study(triples).measurements.biplane
    assert bi is not None and bi.edv_ml > bi.esv_ml > 0
    assert bi.sv_ml == pytest.approx(bi.edv_ml - bi.esv_ml, abs=1e-9)
    assert bi.ef_pct == pytest.approx(100.0 * (bi.edv_ml - bi.esv_ml) / bi.edv_ml, abs=1e-9)


def test_disk_chords_in_pixels_on_non_square_pixels_cross_the_long_axis_at_the_disk_centres(beating):
    """0.3 x 0.45 mm pixels (row, col): chord k's midpoint in pixels is base + (k + 1/2)/20 (apex - base) in
    pixels (an affine map keeps midpoints and ratios along a line; 1e-9 px)."""
    labels = beating[0]
    rec = recording_for(labels, spacing=(0.3, 0.45))
    c = extract_all(labels)[0]
    chords = disk_chords_px(rec, c)
    base, apex = np.asarray(c.base_mid_px, float), np.asarray(c.apex_px, float)
    expected = base + ((np.arange(20) + 0.5) / 20)[:, None] * (apex - base)
    np.testing.assert_allclose(chords.mean(axis=1), expected, atol=1e-9)
    np.testing.assert_allclose(chords * np.array([0.45, 0.3]), frame_disks(rec, c).chords_mm, atol=1e-9)


def test_a_two_frame_recording_is_an_ed_es_pair(beating):
    """Frames ES then ED (either order): ED = the larger LV; EF from the two disk volumes (exact labels)."""
    labels, _, ed, es = beating
    pair = labels[[es[0], ed[1]]]
    rec, contours = recording_for(pair), extract_all(pair)
    m = measure(rec, contours)
    assert m.ed_frames == (1,) and m.es_frames == (0,)
    v = [frame_disks(rec, c).volume_ml for c in contours]
    assert m.ef_pct == pytest.approx(100.0 * (v[1] - v[0]) / v[1], abs=1e-9)
    assert any(n.startswith("two frames: read as an ED/ES pair") for n in m.notes)


def test_an_echo_clip_without_a_complete_beat_says_its_rr_was_not_checked(beating):
    """ED -> ES but no next ED in the clip: EF from that beat, and the note that no RR interval was checked
    (only gated cine MR and ED/ES pairs, which have no RR interval, leave it out)."""
    labels, _, ed, es = beating
    cut = labels[: es[0] + 6]
    rec, contours = recording_for(cut), extract_all(cut)
    m = measure(rec, contours)
    assert len(m.beats) == 1 and not m.beats[0].complete and m.ef_pct is not None
    assert any(n.startswith("RR interval not checked") for n in m.notes)


def test_an_ed_without_an_es_says_no_pair_was_found(beating):
    labels = beating[0]
    rec, contours = recording_for(labels), extract_all(labels)
    m = measure(rec, contours, ed_frames=[5], es_frames=[])
    assert m.ef_pct is None and m.edv_ml is None
    assert "no complete ED -> ES pair found: no EDV/ESV/EF" in m.notes


def test_a_cycle_without_an_es_mark_is_named_and_the_others_measured(beating):
    """A cycle between two EDs with no ES (the reader removed it, or TempReg-Net saw none and the ED was put back
    from the curve: app.analysis.skipped_beats) is no beat: the note names the ED it starts at."""
    labels = beating[0]
    rec, contours = recording_for(labels), extract_all(labels)
    auto = measure(rec, contours)
    inner = [f for f in auto.es_frames if auto.ed_frames[0] < f < auto.ed_frames[-1]]
    assert len(inner) >= 2
    dropped = inner[0]
    start = max(f for f in auto.ed_frames if f < dropped)
    m = measure(rec, contours, ed_frames=auto.ed_frames, es_frames=[f for f in auto.es_frames if f != dropped])
    assert f"no end-systole marked in the cycle from ED at frame {start}: not measured (mark its ES to measure it)" \
        in m.notes
    assert m.ef_pct is not None and all(b.ed_frame != start for b in m.beats)


# -- more survivors (seed 2) --------------------------------------------------------------------------
def test_an_edited_frame_index_past_the_clip_and_flags_on_frame_0(beating):
    """Flags are per frame inside the clip: an edit index past the end is ignored (no error); a segmenter flag
    on frame 0 is kept."""
    labels = beating[0]
    rec, contours = recording_for(labels), extract_all(labels)
    m = measure(rec, contours, edited_frames=(len(labels),), segmenter_flags={0: ("view-mismatch",)})
    assert "view-mismatch" in m.quality[0]
    assert not any("edited" in q for q in m.quality)


def test_an_lv_in_under_half_the_frames_is_too_few_to_measure(beating):
    """MIN_LV_FRAME_FRACTION: with the LV found in 3 of 6 frames the clip is measured; in 2 of 6, or in 5 of
    the 60 frames of a clip, it is not (no EF)."""
    from app.workflow.measure import _too_few_lv_frames

    quality = [()] * 6
    assert not _too_few_lv_frames(3, 6, quality) and _too_few_lv_frames(2, 6, quality)
    assert _too_few_lv_frames(5, 60, [()] * 60) and not _too_few_lv_frames(30, 60, [()] * 60)
    assert _too_few_lv_frames(2, 3, [()] * 3) and not _too_few_lv_frames(3, 3, [()] * 3)


def test_notes_of_a_normal_clip_and_a_pair_name_no_missing_cycle_or_rr_check(beating):
    """A clip with complete beats gets no "no cycle" note and no empty note; an ED/ES pair has no RR interval
    to check, so it says nothing about one."""
    labels, _, ed, es = beating
    rec, contours = recording_for(labels), extract_all(labels)
    notes = measure(rec, contours).notes
    assert "" not in notes
    assert not any(n.startswith(("no complete", "no cardiac cycle", "no end-systole")) for n in notes)
    pair = labels[[es[0], ed[1]]]
    notes = measure(recording_for(pair), extract_all(pair)).notes
    assert not any(n.startswith("RR interval not checked") for n in notes)


def test_one_frame_without_an_lv_says_so(beating):
    """A single still frame whose LV was not found: "no LV found in it, so no area or volume", not a volume of nan."""
    labels = beating[0][:1] * 0
    m = measure(recording_for(labels), [None])
    assert any("no LV found in it, so no area or volume" in n for n in m.notes) and not any("nan" in n for n in m.notes)


def test_low_confidence_is_below_one_half_on_the_frame_it_belongs_to(beating):
    """LOW_CONFIDENCE = 0.5, strictly below: 0.49 is flagged, 0.5 and 0.74 are not; each frame keeps its own."""
    labels = beating[0][:6]
    rec, contours = recording_for(labels), extract_all(labels)
    confidence = np.array([0.9, 0.49, 0.5, 0.74, 0.9, 0.9])
    m = measure(rec, contours, confidence=confidence)
    assert ["low-confidence" in q for q in m.quality] == [False, True, False, False, False, False]


def test_an_area_jump_is_flagged_on_the_frames_the_rule_names_and_a_flag_past_the_clip_is_dropped(beating):
    """The area-jump flags sit on the frames app.analysis.edes_curve.area_jump_frames names (the odd frame, here
    also its neighbour), not one frame later; a segmenter flag for frame n (one past the last) is ignored, not
    an IndexError."""
    from app.analysis.edes_curve import area_jump_frames

    labels = beating[0].copy()
    smallest = int(np.argmin((labels == 1).sum(axis=(1, 2))))
    labels[20] = labels[smallest]  # an end-systolic cavity in the middle of diastole
    rec, contours = recording_for(labels), extract_all(labels)
    m = measure(rec, contours, segmenter_flags={len(labels): ("view-mismatch",)})
    flagged = [t for t, q in enumerate(m.quality) if "area-jump" in q]
    assert 20 in flagged and flagged == list(area_jump_frames(m.area_curve_px2))
    assert not any("view-mismatch" in q for q in m.quality)


def test_a_stack_on_non_square_pixels_sums_row_times_column_spacing():
    """Slice summation: pool area in pixels x row spacing x column spacing x slice gap (1.5 x 1.0 mm)."""
    labels, d = _ring_stack(3, 24)
    rec = Recording((labels * 80).astype(np.uint16), (1.5, 1.0), uniform_frame_times(24, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0, heart_rate_bpm=62.5)
    m = run_task(analyze_recording(rec, segmenter=lambda r: labels)).measurements
    edv = 3 * (d <= 20).sum() * 1.5 * 1.0 * 8.0 / 1000
    assert m.edv_ml == pytest.approx(edv, rel=0.005)  # as the square-pixel stack: measured under 0.1 %


def test_a_single_phase_stack_is_measured_with_its_notes():
    """One phase of a short-axis stack (a partial cycle): its volume, and the notes of a partial cycle."""
    labels, _ = _ring_stack(3, 24)
    one = labels[:, :1]
    rec = Recording((one * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(1, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0)
    m = run_task(analyze_recording(rec, segmenter=lambda r: one)).measurements
    assert m.notes and not any(n.startswith("no cardiac cycle found") for n in m.notes)


def test_a_biplane_with_one_uncalibrated_view_has_no_ml_volumes(beating):
    """Biplane volumes in ml need both views calibrated; with one in pixels only the unit-free EF is given."""
    labels = beating[0]
    triples = []
    for view, calibrated in (("a4c", True), ("a2c", False)):
        rec, contours = recording_for(labels, view=view, calibrated=calibrated), extract_all(labels)
        triples.append((rec, contours, measure(rec, contours)))
    bi = compose_study(triples).measurements.biplane
    assert bi is not None and not bi.calibrated and bi.edv_ml is None and bi.esv_ml is None and bi.sv_ml is None
    assert bi.ef_pct is not None


# -- the first half of measuring (app/workflow/lv_curves.py), against `benchmarks/mutation.py lv_curves` ----------
def test_area_in_mm2_is_pixels_times_row_times_column_spacing_for_clips_and_stacks(beating):
    """0.3 x 0.5 mm pixels: a clip's and a stack's cavity area in mm^2 is its area in px^2 x 0.15."""
    labels = beating[0][:6]
    m = measure(recording_for(labels, spacing=(0.3, 0.5)), extract_all(labels))
    np.testing.assert_allclose(m.area_curve_mm2, m.area_curve_px2 * 0.15, rtol=1e-12)
    rings, _ = _ring_stack(2, 6)
    rec = Recording((rings * 80).astype(np.uint16), (0.3, 0.5), uniform_frame_times(6, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0)
    stack = run_task(analyze_recording(rec, segmenter=lambda r: rings)).measurements
    np.testing.assert_allclose(stack.area_curve_mm2, stack.area_curve_px2 * 0.15, rtol=1e-12)


def test_an_uncalibrated_clip_draws_its_disk_chords_where_the_calibrated_one_does(beating):
    """Uncalibrated, the disks are measured on 1 x 1 'mm' pixels: their chords in pixels are the calibrated
    clip's (square 0.4 mm pixels), so the drawing does not depend on a calibration."""
    from app.workflow.lv_curves import trace_curves

    labels = beating[0]
    contours = extract_all(labels)
    calibrated = disk_chords_px(recording_for(labels), contours[0])
    uncalibrated = recording_for(labels, calibrated=False)
    np.testing.assert_allclose(disk_chords_px(uncalibrated, contours[0]), calibrated, atol=1e-9)
    # the pixel-unit disk volumes (EF and ED/ES of an uncalibrated clip) are the calibrated ones / 0.4^3
    np.testing.assert_allclose(trace_curves(uncalibrated, contours).volume * 0.4 ** 3,
                               trace_curves(recording_for(labels), contours).volume, rtol=1e-9)


def test_ed_es_are_checked_on_the_volume_when_calibrated_and_on_the_area_otherwise(beating):
    """LvCurves.ed_es_curve: calibrated long-axis clips give their disk volume (ml), uncalibrated ones and a
    single short-axis slice their cavity area in pixels."""
    from app.workflow.lv_curves import LvCurves

    vol, area = np.array([3.0, 1.0, 2.0]), np.array([30.0, 20.0, 10.0])
    quality = ((), (), ())
    on = {(method, cal): LvCurves(method, vol, area, area, np.full(3, np.nan), quality).ed_es_curve(
        recording_for(beating[0][:3], calibrated=cal))
        for method in ("monoplane", "single-slice") for cal in (True, False)}
    np.testing.assert_array_equal(on["monoplane", True], vol)
    for key in (("monoplane", False), ("single-slice", True), ("single-slice", False)):
        np.testing.assert_array_equal(on[key], area)


def test_stack_contours_of_the_wrong_shape_are_refused():
    """Contours for every slice but one frame short on one slice: a clear AnalysisError, not a wrong volume."""
    from app.workflow.lv_curves import trace_curves
    from app.workflow.results import AnalysisError

    rings, _ = _ring_stack(2, 6)
    rec = Recording((rings * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(6, 25.0), "mri", "sax",
                    slice_spacing_mm=8.0)
    contours = [extract_all(rings[s], kind="short-axis") for s in range(2)]
    trace_curves(rec, contours)  # the right shape is measured
    with pytest.raises(AnalysisError, match="contours must be 2 slices x 6 frames"):
        trace_curves(rec, [contours[0], contours[1][:5]])


def test_a_pair_or_still_frame_without_timing_says_no_heart_rate_once(beating):
    """No frame timing: a clip says the heart rate was not measured; an ED/ES pair and a still frame, which have
    no heart rate to measure, say so in their shape note only (not twice)."""
    from dataclasses import replace

    labels, _, ed, es = beating
    for frames in (labels, labels[[es[0], ed[1]]], labels[:1]):
        rec = replace(recording_for(frames), frame_times_nominal=True)
        notes = measure(rec, extract_all(frames)).notes
        timing = [n for n in notes if "no frame timing" in n]
        assert len(timing) == (1 if len(frames) > 2 else 0), notes
        assert sum("heart rate" in n for n in notes) == 1, notes


def test_trusted_beats_whose_efs_are_far_apart_are_named_in_a_note():
    """Two beats of one clip, EF about 45 and 70 %: the EF is their mean, and a note says the beats differ and
    by how much; beats 45 and 50 % apart by 5 points get no note (tests/analysis_synth curves, exact labels)."""
    from app.analysis.beats import Beat
    from app.workflow.measure_notes import BEAT_EF_SPREAD_PTS, beat_spread_note
    from tests.analysis_synth import cardiac_curve, half_ellipse_lv
    from tests.test_pipeline_synthetic import FPS, HR

    def clip(deeper: float):
        curve, ed, es = cardiac_curve(60, FPS, HR, 1.0, 0.55, 0.0)
        curve = curve.copy()
        second = slice(ed[1], ed[2])
        curve[second] = 1.0 - (1.0 - curve[second]) * deeper  # the second beat ejects more
        labels = np.stack([half_ellipse_lv((140, 120), 80.0 * s ** (1 / 3), 26.0 * s ** (1 / 3), base_row=110,
                                           cx=60, wall_px=6) for s in curve])
        return measure(recording_for(labels), extract_all(labels), ed_frames=ed, es_frames=es)

    far, near = clip(1.5), clip(1.1)
    efs = [b.ef_pct for b in far.beats if b.trusted]
    assert len(efs) == 2 and max(efs) - min(efs) > BEAT_EF_SPREAD_PTS
    spread = [n for n in far.notes if n.startswith("the beats' EFs differ by")]
    assert len(spread) == 1 and f"{min(efs):.0f}-{max(efs):.0f} %" in spread[0]
    assert far.ef_pct == pytest.approx(float(np.mean(efs)))
    near_efs = [b.ef_pct for b in near.beats if b.trusted]
    assert len(near_efs) == 2 and 0 < max(near_efs) - min(near_efs) < BEAT_EF_SPREAD_PTS
    assert not any(n.startswith("the beats' EFs differ by") for n in near.notes)
    untrusted = [Beat(0, 9, 25, 100.0, 55.0, 0.8), Beat(25, 34, 50, 100.0, 20.0, 0.8, trusted=False)]
    assert beat_spread_note(untrusted) == ()  # only trusted beats count


def test_measuring_again_traces_only_the_frames_whose_contours_are_new(beating, monkeypatch):
    """The viewer measures the whole clip after every edit: the disks of contours already measured are kept on
    them (per pixel spacing), so an edit costs one frame's disks, and the curves are the same as measured afresh."""
    import app.workflow.lv_curves as lv_curves
    from app.workflow.lv_curves import trace_curves

    labels = beating[0]
    rec = recording_for(labels)
    fresh = trace_curves(rec, extract_all(labels))  # other LvContours objects: nothing kept on them yet
    contours = extract_all(labels)
    calls = []
    real = lv_curves.contour_disks
    monkeypatch.setattr(lv_curves, "contour_disks", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = trace_curves(rec, contours)
    assert len(calls) == len(contours)
    edited = list(contours)
    edited[3] = extract_all(labels[5:6])[0]  # frame 3 redrawn as frame 5 is
    again = trace_curves(rec, edited)
    assert len(calls) == len(contours) + 1
    for curve in ("volume", "area_px", "area_mm", "length"):
        np.testing.assert_array_equal(getattr(first, curve), getattr(fresh, curve))
        expected = getattr(first, curve).copy()
        expected[3] = getattr(first, curve)[5]
        np.testing.assert_array_equal(getattr(again, curve), expected)
    coarser = trace_curves(recording_for(labels, calibrated=False), contours)  # another spacing: measured anew
    assert len(calls) == 2 * len(contours) + 1
    np.testing.assert_allclose(coarser.volume * 0.4 ** 3, first.volume, rtol=1e-9)


def test_an_echo_ef_from_a_clip_whose_view_nobody_set_says_so_on_page_one(beating):
    """An AVI has no view: its monoplane EF presumes an apical view through the apex, which nobody said it is.
    The note is on the measurements and on the report's page 1 (with what the file lacked); a clip with its view
    set, or a PLAX clip (no EF), gets none."""
    from app.report.build import recording_section
    from app.workflow.measure_notes import VIEW_UNSET_NOTE
    from app.workflow.results import RecordingAnalysis

    labels = beating[0]
    contours = extract_all(labels)
    unset = measure(recording_for(labels, view="unknown"), contours)
    assert unset.ef_pct is not None
    assert sum(n.startswith(VIEW_UNSET_NOTE) for n in unset.notes) == 1
    for view in ("a4c", "a2c", "plax"):
        assert not any(n.startswith(VIEW_UNSET_NOTE) for n in measure(recording_for(labels, view=view), contours).notes)
    analysis = RecordingAnalysis(recording_for(labels, view="unknown"), labels, contours, np.ones(len(labels)), unset)
    section = recording_section(analysis)
    assert any(n.startswith(VIEW_UNSET_NOTE) for n in section.reader_notes)


def test_an_echo_edit_names_no_value_echo_never_gives(beating):
    """A contour or ED/ES edit of an echo clip had listed the RV values, the mass and FAC as edited (the CSV/JSON
    `edited` list); a short-axis stack's edit names no GLS."""
    labels = beating[0]
    m = measure(recording_for(labels), extract_all(labels), edited=["contours", "ed_frames", "es_frames"])
    assert {"edv_ml", "esv_ml", "ef_pct", "gls_pct"} <= m.edited
    assert not m.edited & {"rv_edv_ml", "rv_ef_pct", "lv_mass_g", "fac_pct"}


def test_an_ef_under_any_ejecting_hearts_says_what_to_check_beside_the_ef(beating):
    """Two neighbouring frames of a clip, taken as an ED/ES pair, gave EF 0.3 % without a word. The EF is kept (a
    heart on mechanical support may not eject) with a note the report puts beside it on page 1; a real pair and
    a beating clip get none."""
    from app.report.build import recording_section
    from app.workflow.measure_notes import LITTLE_EJECTION_NOTE, MIN_EJECTING_EF_PCT
    from app.workflow.results import RecordingAnalysis

    labels, _, ed, es = beating
    neighbours = labels[[ed[1], ed[1] + 1]]
    m = measure(recording_for(neighbours), extract_all(neighbours))
    assert m.ef_pct is not None and 0.0 < m.ef_pct < MIN_EJECTING_EF_PCT
    notes = [n for n in m.notes if n.startswith(LITTLE_EJECTION_NOTE)]
    assert len(notes) == 1 and "neighbouring frames" in notes[0] and f"EF {m.ef_pct:.1f} %" in notes[0]
    section = recording_section(RecordingAnalysis(recording_for(neighbours), neighbours, extract_all(neighbours),
                                                  np.ones(2), m))
    assert notes[0] in section.contour_caveats
    pair = labels[[es[0], ed[1]]]
    for frames in (pair, labels):
        assert not any(n.startswith(LITTLE_EJECTION_NOTE) for n in measure(recording_for(frames),
                                                                          extract_all(frames)).notes)
