"""app.workflow.json_pieces and the autosave's document: the same JSON as json.dumps, encoded parts spliced in."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.workflow.json_pieces import EncodedList, Lazy, json_pieces, plain


def _text(value) -> str:
    return "".join(json_pieces(value))


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, None], "b": {"c": [[0.125, 3], []], "d": "é\"x"}, "e": [], "f": True, "g": {}},
    [{"x": 1}, [2, [3]], "s"],
    "text",
    1.5,
    None,
    {"nan": float("nan"), "list": [float("inf")]},
])
def test_plain_values_give_what_json_dumps_gives(value):
    assert _text(value) == json.dumps(value, separators=(",", ":"))


def _text_of(text: str) -> Lazy:
    return Lazy(lambda: text)


def test_encoded_parts_are_spliced_as_they_are():
    inner = {"points": [[1.25, 2.0], [3.0, 4.5]], "closed": False}
    doc = {"head": 1, "items": EncodedList((_text_of(json.dumps(inner)), {"k": _text_of("[1,2]"), "m": 3}, 7)),
           "one": _text_of('{"z":null}'), "tail": [1, {"y": _text_of("true")}]}
    expected = {"head": 1, "items": [inner, {"k": [1, 2], "m": 3}, 7], "one": {"z": None},
                "tail": [1, {"y": True}]}
    assert json.loads(_text(doc)) == expected
    assert plain(doc) == expected
    assert _text(doc) == json.dumps(expected, separators=(",", ":")).replace(
        json.dumps(inner, separators=(",", ":")), json.dumps(inner))  # the encoded text verbatim


def test_contours_keep_the_json_text_of_what_they_hold():
    from app.analysis.contours import LvContours
    from app.workflow.splines import ControlContour

    c = ControlContour(np.array([[1.0, 2.0], [3.1234567, 4.0], [5.0, 6.0], [7.0, 8.0]]))
    assert json.loads(c.json_text) == c.to_json()
    moved = c.moved(1, (9.0, 9.0))
    assert json.loads(moved.json_text)["points_px"][1] == [9.0, 9.0]  # an edit is a new contour, with its own text
    lv = LvContours.from_endo(np.array([[0.0, 10.0], [5.0, 0.0], [10.0, 10.0]]))
    assert json.loads(lv.json_text) == lv.to_json_dict()


@pytest.fixture
def analysed(tmp_path, monkeypatch):
    """A phantom read from a DICOM file (so it is autosaved, into tmp_path), analysed as the viewer does."""
    from app.data import phantom
    from app.data.readers import load_recording
    from app.data.writers.dicom_us import write_us_dicom
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from app.workflow.study_analysis import ViewerAnalysis, editable_controls

    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "data"))
    case = phantom.make_echo(phantom.EchoPhantomParams(view="a4c", beats=1, frame_rate_hz=30.0,
                                                       image_shape_px=(128, 128)), seed=2)
    rec = load_recording(write_us_dicom(case.recording, tmp_path / "phantom.dcm")).with_view("a4c")
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: case.truth.labels))
    return ViewerAnalysis(analysis, editable_controls(analysis))


def test_the_autosave_document_is_the_state_and_its_writer_thread_makes_the_text(analysed):
    """StudyState.document (made on the GUI thread) is to_json's state, its contours Lazy: neither the analysis'
    worker nor the document encodes them; the autosave's writer thread does, once."""
    import threading

    from app.workflow import autosave
    from app.workflow.autosave_thread import BackgroundSaver
    from app.workflow.study import StudyState

    analysis, controls = analysed.analysis, analysed.controls
    lvs = [lv for lv in analysis.contours.frames if lv is not None]
    study = StudyState()
    study.set_analysis(study.add_recording(analysis.recording), analysed)
    document = study.document(0)
    assert not any("json_text" in c.__dict__ for d in controls.values() for c in d.values())
    assert not any("json_text" in lv.__dict__ for lv in lvs)
    writers = []

    def save(doc, key):
        writers.append(threading.current_thread())
        return autosave.save(doc, key)

    saver = BackgroundSaver(save)
    saver.submit(study.save_key(0), document)
    assert saver.wait() == {}
    assert writers and writers[0] is not threading.current_thread()
    assert all("json_text" in c.__dict__ for d in controls.values() for c in d.values())
    assert all("json_text" in lv.__dict__ for lv in lvs)
    data = study.to_json(0)
    assert json.loads(_text(study.document(0))) == data
    assert data["contours"] and data["analysis_contours"]
    first = data["analysis_contours"][0]
    assert first["lv"] == json.loads(json.dumps(analysis.contours.frames[first["frame"]].to_json_dict()))


def test_a_reopened_state_saves_what_was_saved(analysed):
    """Reopening restores the contours (their text left to the next save's writer) and saves them as they were."""
    from app.workflow import autosave
    from app.workflow.reopen import reopen
    from app.workflow.study import StudyState

    study = StudyState()
    study.set_analysis(study.add_recording(analysed.analysis.recording), analysed)
    autosave.save(study.document(0), study.save_key(0))
    again = reopen(analysed.analysis.recording, study.measure_fn)
    assert again.extras is not None and again.problem is None
    st = again.state
    assert st.contours and st.made
    restored = StudyState()
    restored.add_restored(st, again.extras)
    assert restored.to_json(0)["analysis_contours"] == study.to_json(0)["analysis_contours"]
