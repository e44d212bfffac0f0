"""View check wiring (Qt-free pipeline, analyze --json, measurements panel): advice, never an override."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.workflow.view_step import CONFIDENT_PROBABILITY, view_json, view_note, view_warning

DATA = {"a4c": "real", "a2c": "phantom only", "a3c": "phantom only", "plax": "none", "psax": "none",
        "other": "phantom only"}


def test_warning_only_when_confident_and_different():
    assert view_warning("a4c", "a4c", 0.99, DATA) is None
    assert view_warning("a4c", "a2c", CONFIDENT_PROBABILITY - 0.01, DATA) is None
    text = view_warning("a4c", "a2c", 0.93, DATA)
    assert "looks like A2C (p 0.93)" in text and "not A4C as labelled" in text
    assert "phantom-trained guess" in text and "keeps A4C" in text and "\n" not in text
    real = view_warning("a2c", "a4c", 0.9, DATA)
    assert "phantom-trained" not in real and "keeps A2C" in real
    unseen = view_warning("psax", "a4c", 0.95, DATA)
    assert "never saw PSAX" in unseen
    assert "View not set" in view_warning("unknown", "a4c", 0.9, DATA)


def test_a_clip_of_no_echo_view_reads_as_a_sentence():
    """Noise or a blank clip: the "other" class says what it is, not "looks like not an ... view"."""
    unset = view_warning("unknown", "other", 0.99, DATA)
    assert unset.startswith("View not set; the clip does not look like an apical or parasternal echo view (p 0.99)")
    assert "Check the recording" in unset and "Set the view to use it" not in unset
    assert "looks like not" not in unset and "no real views of that kind" in unset
    labelled = view_warning("a4c", "other", 0.9, DATA)
    assert "does not look like an apical or parasternal echo view (p 0.90), not A4C as labelled" in labelled


def test_json_fields_from_the_check():
    from types import SimpleNamespace

    from app.workflow.view_step import ViewCheck

    assert view_json(None) == {"view_predicted": None, "view_warning": None}
    check = ViewCheck(view="a2c", probability=0.91, data="phantom only", warning="View check: x")
    out = view_json(check)
    assert out["view_predicted"] == {"view": "a2c", "probability": 0.91, "training_data": "phantom only"}
    assert out["view_warning"] == "View check: x"
    assert "view_check_error" in view_json(ViewCheck(error="WeightsError: bad"))
    assert view_note(SimpleNamespace(view_check=check)) == "View check: x"
    assert view_note(SimpleNamespace(view_check=None)) == "" and view_note(None) == ""


def _synthetic_clip(view: str):
    from tests.analysis_synth import phantom_echo

    return phantom_echo(view)


def test_pipeline_keeps_the_users_view_and_attaches_the_check(monkeypatch):
    import app.ml.view as view_module
    from app.ml.view import ViewPrediction
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording

    case = _synthetic_clip("a4c")
    fake = ViewPrediction("a2c", 0.95, {"a4c": 0.05, "a2c": 0.95, "a3c": 0.0, "plax": 0.0, "psax": 0.0, "other": 0.0},
                          (0, 1), ("a4c",), DATA)
    monkeypatch.setattr(view_module, "model_installed", lambda root=None: True)
    monkeypatch.setattr(view_module, "classify_view", lambda rec: fake)
    labels = case.truth.labels
    analysis = run_task(analyze_recording(case.recording, segmenter=lambda rec: labels))
    assert analysis.recording.view == "a4c"  # never overridden
    out = analysis.to_json_dict()
    assert out["view"] == "a4c" and out["view_predicted"]["view"] == "a2c"
    assert "phantom-trained guess" in out["view_warning"]

    from app.workflow.strain_step import strain_step
    strained = run_task(strain_step(analysis))
    if strained.strain is not None:
        assert "labelled view A4C" in strained.to_json_dict()["strain_view_warning"]


def test_mri_and_missing_model_give_no_prediction(monkeypatch):
    import app.ml.view as view_module
    from app.workflow.view_step import view_check

    monkeypatch.setattr(view_module, "model_installed", lambda root=None: False)
    assert view_check(_synthetic_clip("a2c").recording) is None


def test_analyze_json_has_view_keys(tmp_path, capsys):
    sitk = pytest.importorskip("SimpleITK")
    from app.cli import main
    from app.ml.weights import MODELS_DIR, model_available

    case = _synthetic_clip("a4c")
    rec = case.recording
    path = tmp_path / "phantom_a4c_sequence.mhd"
    image = sitk.GetImageFromArray(rec.frames)
    image.SetSpacing((rec.spacing_mm[1], rec.spacing_mm[0], 1.0 / rec.frame_rate_hz))
    sitk.WriteImage(image, str(path))
    truth = tmp_path / "truth.npz"
    np.savez_compressed(truth, labels=case.truth.labels)
    code = main(["analyze", str(path), "--labels", str(truth), "--view", "a2c", "--no-strain", "--json", "-"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert "view_predicted" in result and "view_warning" in result
    assert result["view"] == "a2c"  # the user's view is kept
    if model_available("view", MODELS_DIR) and result["view_predicted"]:
        pred = result["view_predicted"]
        if pred["view"] == "a4c" and pred["probability"] >= CONFIDENT_PROBABILITY:
            assert "not A2C as labelled" in result["view_warning"]


def test_measurements_panel_shows_the_view_warning(qtbot):
    from app.ui.measurements_panel import MeasurementsPanel

    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(None, view_note="View check: the clip looks like A2C (p 0.93), not A4C as labelled")
    assert "looks like A2C" in panel.method.text()
    panel.show_measurements(None)
    assert "View check" not in panel.method.text()
