"""The Qt-free study model: analysis -> control points, edits with undo, propagation, autosave."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from app.workflow import autosave
from app.workflow.edits import (
    CalibrationEdit,
    ContourEdit,
    EdEsEdit,
    ViewEdit,
    spacing_from_line,
)
from app.workflow.marks import mark_frame, move_marker
from app.workflow.reference_ranges import classify, reference_range
from app.workflow.splines import ControlContour, nearest_segment, smooth_curve
from app.workflow.study import StudyState
from tests.ui_fixtures import area_measure, echo_file, fake_analysis, synthetic_echo  # noqa: F401


@pytest.fixture
def study():
    rec, labels = synthetic_echo(n_frames=12)
    s = StudyState(measure_fn=area_measure, biplane_fn=None)
    s.add_recording(rec)
    s.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)))
    return s


def test_analysis_becomes_control_points(study):
    st = study[0]
    assert len(st.contours) == 12
    endo = st.contour((0, 0), "endo")
    assert endo is not None and len(endo.points_px) == 20 and not endo.closed
    assert st.contour((0, 0), "la").closed
    areas = st.measurements["area_px2"]
    assert areas[0] > areas[6] * 1.3  # ED larger than ES
    assert st.ed_frames == (0,) and st.es_frames == (6,)


def test_a_mark_set_while_the_first_analysis_runs_takes_its_beats_place_among_the_analysis_marks():
    """S pressed on frame 5 before the first analysis came back had kept ES (5,) alone: the analysis' other
    beat lost its ES and its measurement. A re-analysis keeping the corrections keeps the marks as they are."""
    rec, labels = synthetic_echo(n_frames=12)
    s = StudyState(measure_fn=area_measure, biplane_fn=None)
    s.add_recording(rec)
    EdEsEdit(0, (), (5,)).apply(s)  # the user's S while the analysis runs
    s.set_analysis(0, fake_analysis(labels, ed_frames=(0, 8), es_frames=(4, 11)), keep_edits=True)
    st = s[0]
    assert (st.ed_frames, st.es_frames) == ((0, 8), (5, 11)) and st.es_edited and not st.ed_edited
    s.set_analysis(0, fake_analysis(labels, ed_frames=(0, 8), es_frames=(3, 10)), keep_edits=True)
    assert (st.ed_frames, st.es_frames) == ((0, 8), (5, 11))  # a re-analysis: the marks as the user left them


def test_replacing_the_edits_by_a_new_analysis_keeps_those_made_while_it_ran():
    """"Replace them" answers for the corrections made before the analysis ran; one made while it ran was
    silently thrown away."""
    from app.workflow.recording_state import edits_since

    rec, labels = synthetic_echo(n_frames=12)
    study = StudyState(measure_fn=area_measure, biplane_fn=None)
    study.add_recording(rec)
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)))
    st = study[0]

    def moved(frame):
        old = st.contour((0, frame), "endo")
        return ContourEdit(0, (0, frame), "endo", old.moved(0, old.points_px[0] + [4.0, 0.0]), old)

    moved(2).apply(study)  # before the run: to be replaced, with the marks set by hand then
    EdEsEdit(0, (0, 8), (5, 10)).apply(study)
    before = study.snapshot(0)
    moved(3).apply(study)  # while it ran
    EdEsEdit(0, (0, 8), (5, 11)).apply(study)
    during = edits_since(st, before)
    assert during.contour_keys == {(0, 3)} and (during.ed_frames, during.es_frames) == ((), (11,))
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0, 7), es_frames=(4, 10)), keep_edits=False,
                       made_while_running=during)
    assert st.edited_keys == {(0, 3)}
    # the analysis' marks with the one set during the run in its beat's place; ED 8 and ES 5 set before, replaced
    assert (st.ed_frames, st.es_frames) == ((0, 7), (4, 11)) and st.es_edited and not st.ed_edited
    assert st.contour((0, 3), "endo").points_px[0] == pytest.approx(before.contours[(0, 3)]["endo"].points_px[0]
                                                                     + [4.0, 0.0])


def test_smooth_curve_passes_through_control_points():
    theta = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    ctrl = np.column_stack([50 + 20 * np.cos(theta), 50 + 10 * np.sin(theta)])
    dense = smooth_curve(ctrl, 240, closed=True)
    d = np.min(np.hypot(*(dense[:, None, :] - ctrl[None]).transpose(2, 0, 1)), axis=0)
    assert d.max() < 0.5
    assert nearest_segment(ctrl, (50 + 20 * np.cos(0.2), 50 + 10 * np.sin(0.2)), True) == 1


def test_contour_edit_changes_measure_and_undo_restores(study):
    st = study[0]
    old = st.contour((0, 0), "endo")
    area0 = st.measurements["area_px2"][0]
    apex_i = int(np.argmin(old.points_px[:, 1]))
    new = old.moved(apex_i, (old.points_px[apex_i, 0], old.points_px[apex_i, 1] - 15))
    cmd = ContourEdit(0, (0, 0), "endo", new, old)
    cmd.apply(study)
    assert st.measurements["area_px2"][0] > area0 + 50
    assert "edv_ml" in st.edited_values() and "ef_pct" in st.edited_values()
    cmd.revert(study)
    assert st.measurements["area_px2"][0] == pytest.approx(area0)
    assert st.edited_values() == frozenset()


def test_add_and_remove_points(study):
    c = study[0].contour((0, 0), "endo")
    assert len(c.inserted(3, (10, 10)).points_px) == 21
    assert len(c.removed(3).points_px) == 19
    with pytest.raises(ValueError):
        ControlContour(np.zeros((4, 2))).removed(0)


def test_edes_view_calibration_edits(study):
    st = study[0]
    ed, es = move_marker(st.ed_frames, st.es_frames, "ed", 0, 1)
    cmd = EdEsEdit(0, ed, es)
    cmd.apply(study)
    assert st.ed_frames == (1,) and st.edes_edited
    cmd.revert(study)
    assert st.ed_frames == (0,) and not st.edes_edited
    assert mark_frame((0,), (6,), "es", 0) == ((), (0,))
    v = ViewEdit(0, "a2c")
    v.apply(study)
    assert st.recording.view == "a2c"
    v.revert(study)
    assert st.recording.view == "a4c"
    spacing = spacing_from_line((0, 0), (30, 40), 25.0)
    assert spacing == pytest.approx((0.5, 0.5))
    c = CalibrationEdit(0, (0.3, 0.3))
    c.apply(study)
    assert st.recording.spacing_mm == (0.3, 0.3) and "calibration" in st.edited_values()
    c.revert(study)
    assert st.recording.spacing_mm == (0.5, 0.5) and not st.calibration_edited
    with pytest.raises(ValueError):
        spacing_from_line((0, 0), (0, 1), 10.0)


def test_json_round_trip_and_autosave(study, echo_file, tmp_path, monkeypatch):
    from dataclasses import replace

    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    st = study[0]
    st.recording = replace(st.recording, source_path=echo_file)
    old = st.contour((0, 3), "endo")
    ContourEdit(0, (0, 3), "endo", old.moved(0, (1.0, 2.0)), old).apply(study)
    EdEsEdit(0, (1,), (6,)).apply(study)
    sched = autosave.AutosaveScheduler(delay_s=0.0)
    sched.mark(0)
    assert sched.due()
    [result] = sched.flush(study)
    key = study.save_key(0)
    assert result.path == tmp_path / "userdata" / f"{key}.cardiotrace.json" and result.path.exists()
    assert sorted(p.name for p in echo_file.parent.iterdir()) == ["case.dcm", "userdata"]  # nothing beside
    assert not sched.pending
    rec2, _ = synthetic_echo(n_frames=12, path=tmp_path / "elsewhere" / "copy.dcm")  # same pixels, moved
    fresh = StudyState(measure_fn=area_measure, biplane_fn=None)
    fresh.add_recording(rec2)
    assert fresh.save_key(0) == key
    found = autosave.find_saved(key, rec2.source_path)
    assert found.path == result.path and not found.legacy
    assert autosave.matches_source(found.data, rec2, key)
    fresh.restore_json(0, found.data)
    r = fresh[0]
    np.testing.assert_allclose(r.contour((0, 3), "endo").points_px[0], (1.0, 2.0))
    assert r.ed_frames == (1,) and r.edes_edited and (0, 3) in r.edited_keys
    assert r.measurements["area_px2"] == pytest.approx(st.measurements["area_px2"], rel=1e-5)
    assert not list((tmp_path / "userdata").glob("*.tmp"))


def test_content_key_follows_the_pixels_and_the_series_not_the_path(tmp_path):
    a, _ = synthetic_echo(n_frames=12, path=tmp_path / "a.dcm")
    b, _ = synthetic_echo(n_frames=12, path=tmp_path / "b.dcm")
    assert autosave.content_key(a) == autosave.content_key(b)
    frames = a.frames.copy()
    frames[3, 10, 10] ^= 1
    from dataclasses import replace

    assert autosave.content_key(replace(a, frames=frames)) != autosave.content_key(a)
    assert autosave.content_key(replace(a, series_description="LAX")) != autosave.content_key(a)
    with pytest.raises(ValueError):
        autosave.saved_path("../../etc/passwd")


def test_autosave_never_writes_beside_a_read_only_source(study, tmp_path, monkeypatch):
    """A read-only data folder is normal: the work goes to the user data folder, the source folder is untouched
    (checked also as root, who could write there)."""
    from dataclasses import replace

    ro = tmp_path / "ro"
    ro.mkdir()
    src = ro / "clip.dcm"
    src.write_bytes(b"x")
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    study[0].recording = replace(study[0].recording, source_path=src)
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        sched = autosave.AutosaveScheduler(delay_s=0.0)
        sched.mark(0)
        [result] = sched.flush(study)
    finally:
        ro.chmod(stat.S_IRWXU)
    assert not result.error and result.path.parent == tmp_path / "userdata"
    assert [p.name for p in ro.iterdir()] == ["clip.dcm"]
    assert autosave.find_saved(study.save_key(0), src).path == result.path


def test_a_legacy_side_car_is_read_when_no_keyed_file_exists(study, echo_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    key = study.save_key(0)
    assert autosave.find_saved(key, echo_file) is None
    autosave.write_atomic(autosave.sidecar_path(echo_file), study.to_json(0))
    found = autosave.find_saved(key, echo_file)
    assert found.legacy and found.path == autosave.sidecar_path(echo_file)
    keyed = autosave.save(study.to_json(0), key)
    found = autosave.find_saved(key, echo_file)
    assert not found.legacy and found.path == keyed  # the keyed file wins once written


def test_corrupt_saved_file_is_a_clear_error(echo_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    key = "0123456789abcdef"
    autosave.sidecar_path(echo_file).write_text("{not json")
    with pytest.raises(autosave.StudyFileError, match="cannot read"):
        autosave.find_saved(key, echo_file)
    autosave.saved_path(key).parent.mkdir(parents=True)
    autosave.saved_path(key).write_text(json.dumps({"format": "other"}))
    with pytest.raises(autosave.StudyFileError, match="not a CardioTrace"):
        autosave.find_saved(key, echo_file)


def test_restore_rejects_contours_that_do_not_fit(study):
    data = study.to_json(0)
    data["contours"][0]["frame"] = 99
    with pytest.raises(ValueError, match="does not fit"):
        study.restore_json(0, data)



@pytest.mark.parametrize("spoil, message", [
    (lambda d: d.update(es_frames=[99]), "ED/ES frames outside"),
    (lambda d: d.update(excluded_slices=[3]), "excluded slices outside"),
    (lambda d: d.update(segmenter_flags={"40": ["low-confidence"]}), "segmenter findings outside"),
])
def test_a_file_that_does_not_fit_leaves_the_state_as_it_was(study, spoil, message):
    """A saved state is checked whole before any of it is applied: a bad file never half-replaces the edits."""
    study.set_edes(0, (1,), (7,))
    contours_before = {k: dict(v) for k, v in study[0].contours.items()}
    data = study.to_json(0)
    data["contours"] = data["contours"][:3]  # a file whose contours differ from the state's
    data["view"] = "a2c"
    spoil(data)
    with pytest.raises(ValueError, match=message):
        study.restore_json(0, data)
    st = study[0]
    assert (st.ed_frames, st.es_frames) == ((1,), (7,)) and st.ed_edited and st.es_edited
    assert st.contours == contours_before and st.recording.view == "a4c"

def test_reference_ranges():
    assert reference_range("ef_pct", "F").low == 54
    assert reference_range("ef_pct", "M").low == 52
    assert reference_range("ef_pct").low == 52
    assert classify("ef_pct", 53.0, "F") == "low" and classify("ef_pct", 53.0, "M") == "normal"
    assert classify("gls_pct", -12.0) == "reduced" and classify("gls_pct", -21.0) == "normal"
    assert classify("sv_ml", 70.0) == ""
    assert classify("heart_rate_bpm", 120.0, "M", "mri") == "high"
    # cine MRI: the CMR table (Kawel-Boehm 2015, Maceira 2006), never the echo one: EF 55 % normal on echo, low on CMR
    assert classify("ef_pct", 55.0, "M", "mri") == "low" and classify("ef_pct", 55.0, "M") == "normal"
    assert reference_range("rv_edv_ml", "F", "mri").high == 175 and reference_range("rv_edv_ml", "M", "mri").high == 217
    assert reference_range("rv_ef_pct", "", "echo") is None and classify("gls_pct", -12.0, "", "mri") == ""
    # the CMR stroke volume has the pooled table's range (108 +- 18 ml men, 87 +- 15 women); echo gives SV none
    assert reference_range("sv_ml", "F", "mri").label() == "57-117 ml" and classify("sv_ml", 50.0, "M", "mri") == "low"
    assert reference_range("sv_index_ml_m2", "M", "mri").label() == "42-66 ml/m2" and reference_range("sv_ml") is None


@pytest.mark.parametrize("modality", ["echo", "mri"])
def test_the_report_and_the_viewer_give_the_same_ranges_and_flags(modality):
    from app.report.build import _row
    from app.workflow.reference_ranges import _CMR_TABLE, _TABLE

    for name in list(_TABLE) + list(_CMR_TABLE) + ["sv_ml", "myocardial_mass_g"]:
        for sex in ("M", "F", ""):
            viewer = reference_range(name, sex, modality)
            for value in (-30.0, 0.0, 55.0, 80.0, 500.0):
                row = _row(name, name, value, "", sex=sex, modality=modality)
                assert row.reference == (viewer.label() if viewer else ""), (name, sex, modality)
                assert row.flag == classify(name, value, sex, modality, 1).replace("normal", ""), (name, value, sex)


def test_two_series_of_one_folder_have_separate_legacy_sidecars(tmp_path):
    folder = tmp_path / "mr"
    folder.mkdir()
    a = autosave.sidecar_path(folder, "SAX cine")
    b = autosave.sidecar_path(folder, "LAX cine")
    assert a != b and a.parent == tmp_path and a.name.startswith("mr.SAX-cine-")
    assert autosave.sidecar_path(tmp_path / "x.dcm", "SAX cine").name == "x.dcm.cardiotrace.json"


@pytest.mark.parametrize("which,frame,ed,es", [
    ("es", 12, (0, 20), (12, 30)),  # the first beat's ES moves, the second beat keeps its own
    ("es", 25, (0, 20), (10, 25)),
    ("ed", 3, (3, 20), (10, 30)),
    ("ed", 18, (0, 18), (10, 30)),  # the ED between ES 10 and ES 30 is 20
    ("es", 10, (0, 20), (30,)),  # on a mark: removes it
])
def test_an_ed_es_key_moves_the_mark_of_the_current_beat(which, frame, ed, es):
    assert mark_frame((0, 20), (10, 30), which, frame) == (ed, es)


@pytest.mark.parametrize("which,old,new,ed,es", [
    ("es", 10, 14, (0, 20), (14, 30)),  # within its beat: where it is dropped
    ("es", 10, 20, (0, 20), (19, 30)),  # onto the next ED: the frame before it (no frame both ED and ES)
    ("es", 10, 25, (0, 20), (19, 30)),  # past it: still its own beat's (the next beat keeps one ES)
    ("ed", 20, 40, (0, 29), (10, 30)),  # an ED dragged onto the next ED stops before that beat's ES
    ("ed", 20, 5, (0, 11), (10, 30)),
    ("ed", 0, -3, (0, 20), (10, 30)),  # before the clip's first frame
])
def test_a_dragged_marker_stays_in_its_beat_as_the_keys_keep_it(which, old, new, ed, es):
    """Dragging ES 10 onto ED 20 had made frame 20 both; past it, the next beat had two ES and EF 18.7 %."""
    assert move_marker((0, 20), (10, 30), which, old, new) == (ed, es)


def test_a_beat_without_a_mark_gains_one():
    assert mark_frame((0, 20, 40), (10,), "es", 30) == ((0, 20, 40), (10, 30))


def test_moving_es_alone_leaves_edv_and_heart_rate_automatic(study):
    st = study[0]
    cmd = EdEsEdit(0, st.ed_frames, (st.es_frames[0] + 1,))
    cmd.apply(study)
    assert st.es_edited and not st.ed_edited
    edited = st.edited_values()
    assert {"esv_ml", "ef_pct", "sv_ml", "es_frames"} <= edited
    assert not edited & {"edv_ml", "heart_rate_bpm", "ed_frames"}
    EdEsEdit(0, (1,), st.es_frames).apply(study)
    assert st.ed_edited and {"edv_ml", "heart_rate_bpm", "ed_frames"} <= st.edited_values()
    data = study.to_json(0)
    assert data["edited"]["ed"] and data["edited"]["es"]
    cmd.revert(study)  # undo goes back to exactly the marks before
    assert not st.ed_edited and not st.es_edited


def test_removing_or_adding_an_es_marks_edv_and_heart_rate_edited_and_undo_and_reopen_keep_it(tmp_path):
    """Pressing S on an ES mark removes it: that cycle is no longer measured, so EDV and the heart rate (the
    measured beats' means) change with no ED moved. They were shown and printed unmarked (EDV 33.4 -> 34.9 ml, HR
    97 -> 103 bpm on a clinical clip). Now they are marked edited; undo puts the marks back exactly, and the mark
    survives the autosave."""
    rec, labels = synthetic_echo(n_frames=30)
    study = StudyState(measure_fn=area_measure, biplane_fn=None)
    study.add_recording(rec)
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0, 10, 20), es_frames=(5, 15, 25)))
    st = study[0]
    within = EdEsEdit(0, st.ed_frames, (5, 16, 25))  # an ES moved inside its cycle: the cycles measured stay
    within.apply(study)
    assert not st.cycles_edited and not st.edited_values() & {"edv_ml", "heart_rate_bpm"}
    removed = EdEsEdit(0, st.ed_frames, (5, 25))  # the second cycle's ES removed
    removed.apply(study)
    assert st.cycles_edited and {"edv_ml", "heart_rate_bpm", "esv_ml", "ef_pct"} <= st.edited_values()
    assert "ed_frames" not in st.edited_values()  # no ED mark moved
    data = study.to_json(0)
    assert data["edited"]["cycles"] is True
    again = StudyState(measure_fn=area_measure, biplane_fn=None)
    again.add_recording(rec)
    from app.workflow.study_json import restore_state

    restore_state(again[0], json.loads(json.dumps(data)))
    assert again[0].cycles_edited and {"edv_ml", "heart_rate_bpm"} <= again[0].edited_values()
    removed.revert(study)
    assert not st.cycles_edited and st.es_frames == (5, 16, 25)
    within.revert(study)
    assert not st.es_edited and not st.edited_values() & {"edv_ml", "heart_rate_bpm", "esv_ml"}
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0, 10, 20), es_frames=(5, 25)))  # a cycle without ES
    EdEsEdit(0, st.ed_frames, (5, 15, 25)).apply(study)  # marked by hand: one more cycle measured
    assert st.cycles_edited and {"edv_ml", "heart_rate_bpm"} <= st.edited_values()


def test_measured_cycles_of_any_marks():
    """Also with no ED mark at all (an S pressed on the only ED's frame took it): the edit crashed the viewer."""
    from app.workflow.recording_state import measured_cycles

    assert measured_cycles((), (12,)) == frozenset() and measured_cycles((), ()) == frozenset()
    assert measured_cycles((0, 20), (10, 30)) == {0, 20} and measured_cycles((0, 20), (25,)) == {20}
    assert measured_cycles((20, 0), (5,)) == {0}


def test_flags_judge_the_value_as_shown():
    esv = reference_range("esv_ml", "")  # 14-61 ml
    assert esv.flag(61.4) == "high" and esv.flag(61.4, 0) == "" and esv.flag(61.6, 0) == "high"
    assert classify("ef_pct", 51.96, "M", decimals=1) == "normal" and classify("ef_pct", 51.96, "M") == "low"


def test_listeners_of_new_marks_or_a_new_analysis_read_the_measurements_they_make(study):
    """The strain re-tracking reads the measured beats when the marks change: they had been the old marks'
    (an ES added by hand kept the GLS of the beat before, -16.4 % against -11.1 % on the clinical clip)."""
    rec, labels = synthetic_echo(n_frames=12)
    seen: list[tuple[str, frozenset]] = []
    study.events.edes_changed.connect(lambda i: seen.append(("edes", study[i].measurements["edited"])))
    study.events.analysis_changed.connect(lambda i: seen.append(("analysis", study[i].measurements["edited"])))
    EdEsEdit(0, (0,), (5,)).apply(study)
    assert seen == [("edes", study[0].edited_values())] and "es_frames" in seen[0][1]
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)), keep_edits=False)
    assert seen[-1] == ("analysis", frozenset())


def test_what_an_edit_marks_follows_what_it_can_change(study):
    """A calibration scales EDV and ESV alike: EF unchanged is not marked, the LA volume (in mm) is; an ES
    added names the beats measured, not a contour."""
    from app.workflow.edits import CalibrationEdit

    st = study[0]
    CalibrationEdit(0, (0.5, 0.5)).apply(study)
    names = st.edited_values()
    assert {"edv_ml", "esv_ml", "sv_ml", "la_volume_ml", "calibration"} <= names and "ef_pct" not in names
    EdEsEdit(0, (0,), (6, 10)).apply(study)  # a second ES in the one cycle: the cycles measured stay
    EdEsEdit(0, (0, 8), (6, 10)).apply(study)  # an ED that makes a second cycle of the ES at 10
    names = st.edited_values()
    assert {"cycles", "ef_pct"} <= names and not names & {"ed_contours", "es_contours"}


def test_an_es_marked_outside_every_cycle_marks_no_value_edited():
    """S pressed before the first ED set ESV, SV, EF, the LA volume and GLS as "edited" (starred in the report,
    `edited` in the exports) though none changed: that ES is in no measured cycle. Its mark stays set by hand (a
    re-analysis keeps it); an ES moved inside a cycle still marks them."""
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from tests.test_pipeline_synthetic import beating_labels, recording_for

    labels, _, _, _ = beating_labels(start_phase=0.3)
    rec = recording_for(labels)
    study = StudyState(biplane_fn=None)
    study.add_recording(rec)
    study.set_analysis(0, run_task(analyze_recording(rec, segmenter=lambda r: labels, strain=False)))
    st = study[0]
    before = st.measurements
    first_ed = st.ed_frames[0]
    assert first_ed > 3 and first_ed - 3 not in st.es_frames and not st.edited_values()
    EdEsEdit(0, st.ed_frames, (first_ed - 3, *st.es_frames)).apply(study)
    assert st.es_edited and st.edited_values() == {"es_frames"}
    assert (st.measurements.esv_ml, st.measurements.ef_pct) == (before.esv_ml, before.ef_pct)
    measured_es = min(f for f in st.es_frames if f > first_ed)
    EdEsEdit(0, st.ed_frames, tuple(f + 1 if f == measured_es else f for f in st.es_frames)).apply(study)
    assert {"esv_ml", "ef_pct", "sv_ml", "es_frames"} <= st.edited_values()
