"""A recording's saved study state (app/workflow/study_json.py): everything the user set comes back, a file is
checked at its edges before anything is applied, and the saved form keeps its format. Written against the
survivors of `benchmarks/mutation.py study_json`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.workflow.study import StudyState
from app.workflow.study_json import FORMAT_VERSION
from tests.ui_fixtures import area_measure, fake_analysis, synthetic_echo

N_FRAMES = 12
TRIANGLE = [[10.0, 10.0], [20.0, 10.0], [15.0, 18.0]]  # an RV region left out as right atrium (x, y px)


def _study(view: str = "a4c") -> StudyState:
    rec, labels = synthetic_echo(n_frames=N_FRAMES, view=view)
    s = StudyState(measure_fn=area_measure, biplane_fn=None)
    s.add_recording(rec)
    s.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)))
    return s


def _restored(data: dict) -> StudyState:
    """A fresh study of the same recording with `data` restored on it (ValueError as restore_json raises)."""
    rec, _ = synthetic_echo(n_frames=N_FRAMES)
    s = StudyState(measure_fn=area_measure, biplane_fn=None)
    s.add_recording(rec)
    s.restore_json(0, data)
    return s


@pytest.fixture
def edited() -> StudyState:
    """A study with every kind of user input set: view, calibration, body size, sex, ED/ES by hand, a hand edit
    and a propagated one, the conclusion; confidence as the analysis gave it."""
    s = _study()
    s.set_view(0, "a2c")
    s.set_calibration(0, (0.31, 0.29))
    s.set_body_size(0, 181.0, 77.5)
    s.set_sex(0, "F")
    s.set_edes(0, (0, 11), (5,))
    old = s[0].contour((0, 3), "endo")
    s.set_contours(0, {((0, 3), "endo"): old.moved(0, (2.0, 1.0))}, edited_keys={(0, 3)})
    old = s[0].contour((0, 4), "endo")
    s.set_contours(0, {((0, 4), "endo"): old.moved(0, (2.0, 1.0))}, edited_keys={(0, 4)}, propagated_keys={(0, 4)})
    s.set_conclusion("Normal LV size and function.", "Dr A. Reviewer")
    return s


def test_everything_the_user_set_comes_back(edited):
    data = json.loads(json.dumps(edited.to_json(0)))  # through text, as the autosave writes it
    assert data["version"] == FORMAT_VERSION == 1  # files already written say 1: a reader of 2 must still read them
    fresh = _restored(data)
    st, was = fresh[0], edited[0]
    assert st.recording.view == "a2c" and st.view_edited
    assert st.recording.spacing_mm == (0.31, 0.29) and st.calibration_edited
    patient = st.recording.patient
    assert (patient.height_cm, patient.weight_kg, patient.sex) == (181.0, 77.5, "F")
    assert (st.ed_frames, st.es_frames) == ((0, 11), (5,)) and st.ed_edited and st.es_edited
    assert st.edited_keys == {(0, 3), (0, 4)} and st.propagated_keys == {(0, 4)}
    np.testing.assert_allclose(st.contour((0, 3), "endo").points_px, was.contour((0, 3), "endo").points_px)
    np.testing.assert_allclose(st.confidence, np.round(was.confidence, 4), atol=0)
    assert data["confidence"] == np.round(was.confidence, 4).tolist()
    assert (fresh.conclusion, fresh.reviewer) == ("Normal LV size and function.", "Dr A. Reviewer")


def test_a_state_without_confidence_body_size_or_report_comes_back_without_them():
    s = _study()
    s[0].confidence = None
    data = json.loads(json.dumps(s.to_json(0)))
    assert data["confidence"] is None
    data.pop("body_size"), data.pop("report"), data.pop("patient_sex")  # files from before these were kept
    fresh = _restored(data)
    st = fresh[0]
    assert st.confidence is None and (fresh.conclusion, fresh.reviewer) == ("", "")
    patient = st.recording.patient
    assert (patient.height_cm, patient.weight_kg, patient.sex) == (None, None, "M")  # the file's own sex kept


@pytest.mark.parametrize("height_cm, weight_kg", [(None, 64.0), (172.0, None)])
def test_one_of_height_and_weight_is_kept_alone(height_cm, weight_kg):
    s = _study()
    s.set_body_size(0, height_cm, weight_kg)
    fresh = _restored(s.to_json(0))
    assert (fresh[0].recording.patient.height_cm, fresh[0].recording.patient.weight_kg) == (height_cm, weight_kg)


def test_the_segmenter_name_is_kept_and_a_file_without_one_says_restored():
    s = _study()
    data = s.to_json(0)
    data["segmenter"] = "echo_seg_base"
    fresh = _restored(data)
    assert fresh[0].analysis.segmenter == "echo_seg_base"
    data["segmenter"] = ""
    fresh = _restored(data)
    assert fresh[0].analysis.segmenter == "restored"


def test_where_the_ed_es_came_from_is_kept_and_an_older_file_says_restored():
    """A reopened study said "ED/ES: as saved" where the analysis had said "TempReg-Net" (or why it fell back)."""
    from dataclasses import replace

    from app.workflow.study_json import _ed_es_source

    s = _study()
    data = s.to_json(0)
    assert data["ed_es_source"] is None  # a stand-in analysis: nothing to keep
    data["ed_es_source"] = {"method": "area_curve", "fallback": "ED/ES model not installed"}
    fresh = _restored(data)
    assert (fresh[0].analysis.ed_es_method, fresh[0].analysis.ed_es_fallback) == ("area_curve",
                                                                                  "ED/ES model not installed")
    again = _restored(fresh.to_json(0))  # kept through a second save
    assert again[0].analysis.ed_es_method == "area_curve"
    assert _ed_es_source(replace(again[0].analysis, ed_es_method="tempreg", ed_es_fallback="")) == {
        "method": "tempreg", "fallback": ""}
    del data["ed_es_source"]
    assert _restored(data)[0].analysis.ed_es_method == "restored"


def test_an_unknown_view_in_a_file_keeps_the_recordings_own():
    s = _study()
    data = s.to_json(0)
    data["view"] = "not-a-view"
    fresh = _restored(data)
    assert fresh[0].recording.view == "a4c"


@pytest.mark.parametrize("field, first, past", [
    ("es_frames", [0], [N_FRAMES]),
    ("excluded_slices", [0], [1]),
    ("segmenter_flags", {"0": ["low-confidence"]}, {str(N_FRAMES): ["low-confidence"]}),
    ("rv_left_out", [{"slice": 0, "frame": 0, "points": TRIANGLE}],
     [{"slice": 0, "frame": N_FRAMES, "points": TRIANGLE}]),
    ("rv_left_out", [{"slice": 0, "frame": 0, "points": TRIANGLE}], [{"slice": 1, "frame": 0, "points": TRIANGLE}]),
])
def test_indices_are_checked_at_both_edges(field, first, past):
    """The first frame (or slice) is inside the recording; one past the last is not."""
    data = _study().to_json(0)
    data[field] = first
    _restored(data)
    data[field] = past
    with pytest.raises(ValueError, match="outside"):
        _restored(data)


@pytest.mark.parametrize("where", ["frame", "slice"])
def test_a_contour_one_past_the_last_frame_or_slice_does_not_fit(where):
    data = _study().to_json(0)
    data["contours"][0][where] = N_FRAMES if where == "frame" else 1
    with pytest.raises(ValueError, match="does not fit"):
        _restored(data)


@pytest.mark.parametrize("header", [{"format": "other", "version": 1}, {"version": FORMAT_VERSION + 1}])
def test_another_format_or_a_newer_version_is_refused(header):
    data = _study().to_json(0)
    data.update(header)
    with pytest.raises(ValueError, match="not a CardioTrace study file of a known version"):
        _restored(data)
