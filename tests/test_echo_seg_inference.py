"""Inference: streaming EchoSegmenter and segment_recording on small arrays (tiny random models)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.data.recording import Recording, uniform_frame_times  # noqa: E402
from app.ml import frame_flags, inference, temporal_smoothing  # noqa: E402
from app.ml.nets.convlstm_unet import ConvLSTMUNet  # noqa: E402
from app.ml.nets.unet import UNet  # noqa: E402
from app.ml.weights import save_model  # noqa: E402
from lab.evaluation.offline_segmentation import segment_offline  # noqa: E402
from tests.model_cards import card  # noqa: E402


@pytest.fixture()
def tiny_models(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path))
    inference.clear_model_cache()
    torch.manual_seed(0)
    base = card("UNet", {"channels": [4, 8, 8]}, input_size_px=32, channels=2)
    temporal = card("ConvLSTMUNet", {"channels": [4, 8, 8], "lstm_levels": [1, 2]}, input_size_px=32, channels=2)
    save_model(UNet((4, 8, 8)), "echo_seg_base", base, root=tmp_path)
    save_model(ConvLSTMUNet((4, 8, 8), (1, 2)), "echo_seg_temporal", temporal, root=tmp_path)
    yield tmp_path
    inference.clear_model_cache()


def _recording(n=5, shape=(50, 70), sector=True):
    rng = np.random.default_rng(0)
    frames = (rng.random((n, *shape)) * 255).astype(np.uint8)
    mask = None
    if sector:
        mask = np.zeros(shape, bool)
        mask[5:45, 10:60] = True
    return Recording(frames=frames, spacing_mm=(0.5, 0.5), frame_times_s=uniform_frame_times(n, 30.0),
                     modality="echo", view="a4c", sector_mask=mask)


@pytest.mark.parametrize("model", ["base", "temporal"])
def test_segment_recording_in_recording_grid(tiny_models, model):
    rec = _recording()
    items = list(inference.segment_recording(rec, model, keep_probabilities=True, device=torch.device("cpu")))
    progress = [i for i in items if isinstance(i, inference.Progress)]
    result = items[-1]
    assert isinstance(result, inference.EchoSegmentation)
    assert progress[-1].fraction == 1.0 and len(progress) >= rec.n_frames
    assert result.labels.shape == (5, 50, 70) and result.labels.dtype == np.uint8
    assert result.probabilities.shape == (5, 4, 50, 70)
    assert np.allclose(result.probabilities.astype(np.float32).sum(1), 1.0, atol=1e-2)
    assert result.confidence.shape == (5,) and np.all((result.confidence >= 0) & (result.confidence <= 1))
    assert np.all(result.labels[:, ~rec.sector_mask] == 0)  # outside the sector is background
    assert len(result.flagged_frames) == len(result.flag_reasons)


def test_the_network_input_is_made_frame_by_frame_as_the_network_asks(tiny_models, monkeypatch):
    rec = _recording(n=6)
    eager, box = inference.network_frames(rec, 32)
    lazy = inference.NetworkInput(rec, 32)
    assert lazy.box == box == (5, 45, 10, 60) and len(lazy) == 6
    assert np.array_equal(np.stack(list(lazy)), eager) and np.array_equal(np.stack(lazy[2:5]), eager[2:5])
    with pytest.raises(IndexError):
        lazy[6]
    made = []
    frames_unit = Recording.frames_unit
    monkeypatch.setattr(Recording, "frames_unit", lambda self, *a, **k: made.append(1) or frames_unit(self, *a, **k))
    _, small, _ = inference.start_segmentation(rec, "base", device=torch.device("cpu"))
    assert made == [] and len(small) == 6  # no frame prepared before the network asks: the analysis starts at once
    items = list(inference.segment_recording(rec, "base", device=torch.device("cpu")))
    assert len(made) == 6 and isinstance(items[-1], inference.EchoSegmentation)


def test_cancel_stops_without_result(tiny_models):
    event = threading.Event()
    items = []
    for item in inference.segment_recording(_recording(n=8), "temporal", cancel=event, device=torch.device("cpu")):
        items.append(item)
        if len(items) == 2:
            event.set()
    assert len(items) == 2 and not any(isinstance(i, inference.EchoSegmentation) for i in items)


def test_streaming_step_matches_batch(tiny_models):
    rec = _recording(sector=False)
    seg = inference.EchoSegmenter("temporal", device=torch.device("cpu"), bf16=False)
    frames = rec.frames_unit()
    probs = [seg.step(f) for f in frames]
    assert probs[0].shape == (4, 50, 70)
    seg.reset()
    again = seg.step(frames[0])
    assert np.allclose(again, probs[0], atol=1e-5)
    result = inference.run_to_result(inference.segment_recording(rec, "temporal", device=torch.device("cpu")))
    # the batch API uses bf16 on CPU, so compare labels loosely
    agree = np.mean(result.labels == np.stack(probs).argmax(1))
    assert agree > 0.95


def test_wma_smooths_base_probabilities(tiny_models):
    rec = _recording(sector=False)
    plain = inference.EchoSegmenter("base", device=torch.device("cpu"), bf16=False)
    smooth = inference.EchoSegmenter("base", device=torch.device("cpu"), bf16=False, wma_window=6)
    frames = rec.frames_unit()
    p = np.stack([plain.step(f) for f in frames])
    s = np.stack([smooth.step(f) for f in frames])
    assert np.allclose(p[0], s[0], atol=1e-5)
    assert np.abs(np.diff(s, axis=0)).mean() < np.abs(np.diff(p, axis=0)).mean()
    w = temporal_smoothing.wma_weights(6)
    assert w.sum() == pytest.approx(1.0) and np.all(np.diff(w) < 0)


def test_flag_frames_reasons():
    labels = np.zeros((5, 10, 10), np.uint8)
    labels[:, 2:8, 2:8] = 1
    labels[2] = 0
    labels[2, 2:4, 2:4] = 1
    labels[4] = 0
    frames, reasons = frame_flags.flag_frames(labels, np.array([0.9, 0.9, 0.9, 0.5, 0.9]))
    assert frames == (3, 4)  # the small LV of frame 2 is an area jump, flagged when measuring (edes_curve)
    assert "low confidence" in reasons[0] and "no LV" in reasons[1]


def test_long_axis_flag_is_off_unless_the_model_was_trained_with_it(tiny_models):
    rec = _recording()
    a3c = Recording(rec.frames, rec.spacing_mm, rec.frame_times_s, "echo", "a3c", sector_mask=rec.sector_mask)
    assert inference.EchoSegmenter("base", long_axis=True).flag == 0.0
    a4c_labels = inference.run_to_result(inference.segment_recording(rec, "base")).labels
    a3c_labels = inference.run_to_result(inference.segment_recording(a3c, "base")).labels
    assert np.array_equal(a4c_labels, a3c_labels)


def test_shipped_base_model_segments_a_phantom_a3c_clip():
    from app.data.phantom import EchoPhantomParams, make_echo
    from app.ml.weights import model_available

    if not model_available("echo_seg_base"):
        pytest.skip("models/echo_seg_base is not installed")
    inference.clear_model_cache()
    case = make_echo(EchoPhantomParams(view="a3c", beats=1, frame_rate_hz=25.0, image_shape_px=(160, 160)), seed=3)
    labels = inference.run_to_result(inference.segment_recording(case.recording, "base")).labels
    lv_px = (labels == 1).sum(axis=(1, 2))
    truth_px = (case.truth.labels == 1).sum(axis=(1, 2))
    assert (lv_px > 0.6 * truth_px).all()  # a set long-axis flag used to erase the LV in every A3C frame


def test_centred_average_has_no_lag_and_keeps_probabilities_normalised():
    t = np.arange(9, dtype=np.float32)
    probs = np.zeros((9, 2, 1, 1), np.float32)
    probs[:, 1, 0, 0] = 0.1 * t  # a ramp: a centred average leaves it unchanged (no lag), ends included
    probs[:, 0, 0, 0] = 1 - probs[:, 1, 0, 0]
    out = temporal_smoothing.centred_average(probs, 3)
    assert np.allclose(out[1:-1, 1, 0, 0], probs[1:-1, 1, 0, 0], atol=1e-6)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-6)
    spike = np.zeros((5, 2, 1, 1), np.float32)
    spike[:, 0] = 1.0
    spike[2] = [[[0.0]], [[1.0]]]  # one flickering frame
    assert temporal_smoothing.centred_average(spike, 3)[2, 1, 0, 0] == pytest.approx(0.5)
    assert temporal_smoothing.centred_average(spike, 1) is spike


def test_offline_centred_window_runs(tiny_models):
    rec = _recording()
    out = inference.run_to_result(segment_offline(rec, "base", centred_window=3))
    assert out.labels.shape == rec.frames.shape and np.isfinite(out.confidence).all()


@pytest.mark.parametrize("model", ["base", "temporal"])
def test_offline_backward_check_scales_the_confidence_of_a_recurrent_model(tiny_models, model, monkeypatch):
    rec = _recording()
    cpu = torch.device("cpu")
    plain = inference.run_to_result(inference.segment_recording(rec, model, device=cpu))
    checked = inference.run_to_result(segment_offline(rec, model, bidirectional_check=True, device=cpu))
    assert np.array_equal(checked.labels, plain.labels)
    assert np.all(checked.confidence <= plain.confidence + 1e-6)
    if model == "base":  # no state: nothing to check, nothing changes
        assert np.array_equal(checked.confidence, plain.confidence)
    # each frame's confidence is multiplied by the LV agreement of the two passes (here made 0.5 everywhere)
    monkeypatch.setattr("lab.evaluation.offline_segmentation.lv_dice", lambda a, b: 0.5)
    halved = inference.run_to_result(segment_offline(rec, model, bidirectional_check=True, device=cpu))
    factor = 1.0 if model == "base" else 0.5
    assert np.allclose(halved.confidence, factor * plain.confidence)


def test_offline_without_options_is_the_products_segmentation(tiny_models):
    rec = _recording()
    cpu = torch.device("cpu")
    for model in ("base", "temporal"):
        a = inference.run_to_result(inference.segment_recording(rec, model, device=cpu))
        b = inference.run_to_result(segment_offline(rec, model, device=cpu))
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.grid_labels, b.grid_labels)
        assert np.allclose(a.confidence, b.confidence)


def test_bidirectional_average_is_the_mean_of_both_passes(tiny_models):
    rec = _recording(n=6, sector=False)
    cpu = torch.device("cpu")
    two_way = inference.run_to_result(segment_offline(
        rec, "temporal", keep_probabilities=True, bidirectional_average=True, device=cpu))
    forward = inference.run_to_result(inference.segment_recording(rec, "temporal", keep_probabilities=True, device=cpu))
    backward_rec = Recording(frames=rec.frames[::-1].copy(), spacing_mm=rec.spacing_mm,
                             frame_times_s=rec.frame_times_s, modality="echo", view="a4c")
    backward = inference.run_to_result(inference.segment_recording(backward_rec, "temporal", keep_probabilities=True,
                                                                   device=cpu))
    expected = 0.5 * (forward.probabilities.astype(np.float32) + backward.probabilities[::-1].astype(np.float32))
    assert np.allclose(two_way.probabilities.astype(np.float32), expected, atol=2e-3)
    # the per-frame network has no state: the option changes nothing there
    base = inference.run_to_result(segment_offline(rec, "base", bidirectional_average=True, device=cpu))
    plain = inference.run_to_result(inference.segment_recording(rec, "base", device=cpu))
    assert np.array_equal(base.labels, plain.labels)


def test_hysteresis_margin_holds_labels_where_the_classes_are_close(tiny_models):
    rec = _recording(n=6)
    cpu = torch.device("cpu")

    def labels(margin):
        return inference.run_to_result(inference.segment_recording(
            rec, "base", keep_probabilities=True, hysteresis_margin=margin, device=cpu))

    plain, held_all = labels(0.0), labels(1.0)
    assert np.array_equal(plain.labels, plain.probabilities.astype(np.float32).argmax(1))
    assert np.array_equal(held_all.labels, np.repeat(plain.labels[:1], 6, axis=0))  # margin 1: nothing can switch
    half = labels(0.05).labels
    changed = (half[1:] != half[:-1]).sum()
    assert changed <= (plain.labels[1:] != plain.labels[:-1]).sum()


def test_the_result_says_how_the_network_ran(tiny_models, monkeypatch):
    """torch float32 on the CPU, or ONNX Runtime (float32: these weights have no int8 graph); the analysis puts it
    after the segmenter's name, where the viewer's and the report's words read it."""
    from app.ml.device import onnxruntime_available
    from app.report.plain_words import contour_model, contour_source

    monkeypatch.setenv("CARDIOTRACE_BF16", "0")
    paths = [("torch", "float32 on the CPU")] + ([("onnxruntime", "float32 on ONNX Runtime")]
                                                  if onnxruntime_available() else [])
    for backend, words in paths:
        monkeypatch.setenv("CARDIOTRACE_BACKEND", backend)
        inference.clear_model_cache()
        result = list(inference.segment_recording(_recording(), "base", device=torch.device("cpu")))[-1]
        assert result.inference == words
    assert contour_model("echo_seg_base + int8 on ONNX Runtime") == "shipped echo U-Net, int8 on ONNX Runtime"
    assert contour_source("echo_seg_base + int8 on ONNX Runtime").endswith("(U-Net), int8 on ONNX Runtime")
