"""View classifier: network shapes, input crop, a training smoke run, and the published model's accuracy."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.registry import build  # noqa: E402
from app.ml.nets.view_classifier import CLASSES, MASKED_LOGIT, ViewNet  # noqa: E402
from app.ml.view import frame_to_input, pick_frames  # noqa: E402
from app.ml.weights import MODELS_DIR, model_available  # noqa: E402

PUBLISHED = model_available("view", MODELS_DIR)
needs_model = pytest.mark.skipif(not PUBLISHED, reason="models/view is not trained in this checkout")


def test_net_shapes_and_masked_classes():
    net = ViewNet().eval()
    x = torch.rand(3, 1, 96, 96)
    assert net.features(x).shape == (3, 64, 3, 3)
    logits = net(x)
    assert logits.shape == (3, len(CLASSES))
    for name in ("plax", "psax"):
        assert torch.all(logits[:, CLASSES.index(name)] == MASKED_LOGIT)
        assert torch.softmax(logits, 1)[:, CLASSES.index(name)].max() < 1e-6
    assert net.trained_classes == ("a4c", "a2c", "a3c", "other")
    assert ViewNet()(torch.rand(1, 1, 128, 128)).shape == (1, 6)
    rebuilt = build("ViewNet", {"trained": ["a4c", "other"]})
    assert rebuilt.trained_classes == ("a4c", "other")
    with pytest.raises(ValueError):
        ViewNet(trained=("a4c", "bogus"))


def test_frame_to_input_crops_the_sector():
    frame = np.zeros((200, 300), np.float32)
    sector = np.zeros((200, 300), bool)
    sector[20:180, 100:200] = True
    frame[sector] = 0.5
    frame[0:5, 0:5] = 1.0  # burnt-in text outside the sector is cropped away
    x = frame_to_input(frame, sector, 96)
    assert x.shape == (96, 96) and x.dtype == np.float32
    assert np.allclose(x, 0.5)
    assert frame_to_input(frame[20:180, 100:200], None, 64).shape == (64, 64)
    assert pick_frames(40, 8) == (0, 6, 11, 17, 22, 28, 33, 39)
    assert pick_frames(3, 8) == (0, 1, 2)


def test_training_smoke_resumes_and_publishes(tmp_path, capsys):
    from lab.training.view_train import main

    common = ["--clips", "1", "--frames-per-clip", "2", "--other", "2", "--limit", "2", "--val-clips", "1",
              "--checkpoint-root", str(tmp_path / "ck"), "--models-root", str(tmp_path / "models"), "--batch", "4"]
    assert main(["--steps", "3", "--max-minutes", "0", *common]) == 0  # stops after one step
    assert (tmp_path / "ck" / "view" / "last.pt").is_file()
    assert main(["--steps", "3", "--publish", *common]) == 0
    out = capsys.readouterr().out
    assert "time limit reached at step 1" in out and "resumed at step 1" in out and "training data from" in out
    with pytest.raises(SystemExit, match="--steps 3"):
        main(["--steps", "5", *common])
    from lab.model_notes import read_metadata

    meta = read_metadata("view", tmp_path / "models")
    assert meta["data_by_view"] == {"a4c": "real", "a2c": "phantom only", "a3c": "phantom only",
                                    "plax": "none", "psax": "none", "other": "phantom only"}
    assert meta["build"]["steps"] == 3 and "train view" in meta["build"]["command"]
    assert set(meta["metrics"]["phantom_heldout"]) == {"a4c", "a2c", "a3c"}
    assert set(meta["metrics"]["phantom_heldout_export"]) == {"a4c", "a2c", "a3c"}
    from lab.evaluation.view import CLINICAL_CLIPS

    if any(CLINICAL_CLIPS.glob("*.avi")):  # the clinical A4C clips, as many as --limit
        clinical = meta["metrics"]["clinical_a4c_clips"]
        assert clinical["clips"] == 2 and sum(clinical["predicted_counts"].values()) == 2
        assert 0.0 <= clinical["a4c_confident"] <= clinical["called_a4c"] <= 1.0
    assert "plax" not in meta["architecture"]["trained_classes"]


@needs_model
def test_published_model_is_small_and_documented():
    folder = MODELS_DIR / "view"
    assert (folder / "model.pt").stat().st_size < 3_000_000
    from lab.model_notes import read_metadata

    meta = read_metadata("view")
    assert meta["data_by_view"]["plax"] == "none" and meta["data_by_view"]["a2c"] == "phantom only"
    assert "command" in meta["build"] and "camus_valid_a4c_accuracy" in meta["metrics"]


@needs_model
@pytest.mark.parametrize("view", ["a4c", "a2c"])
def test_published_model_names_heldout_phantom_clips(view, monkeypatch):
    from app.data.phantom import EchoPhantomParams, make_echo
    from app.ml.view import classify_view

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(MODELS_DIR))
    params = EchoPhantomParams(view=view, beats=1, frame_rate_hz=25, image_shape_px=(192, 192), tilt_deg=-6.0)
    rec = make_echo(params, seed=777001).recording  # a seed never used in training
    pred = classify_view(rec)
    assert pred.view == view, pred.probabilities
    assert len(pred.frames_used) == 8 and abs(sum(pred.probabilities.values()) - 1) < 1e-3
    assert pred.probabilities["plax"] < 1e-4 and pred.trusted_views == ("a4c",)


@needs_model
def test_published_model_calls_real_camus_valid_frames_a4c(shared_data, monkeypatch):
    from app.ml.view import _load, predict_inputs
    from lab.training.view_data import camus_inputs

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(MODELS_DIR))
    net, card = _load("cpu")
    inputs = camus_inputs("valid", int(card.preprocessing.input_size_px), shared_data / "camus_a4c", limit=20)
    pred = predict_inputs(net, inputs, torch.device("cpu")).argmax(1)
    assert np.mean(pred == CLASSES.index("a4c")) >= 0.8
