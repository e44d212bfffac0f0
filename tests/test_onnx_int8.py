"""The echo U-Net's int8 graph (issue 56): made by lab.training.quantize_echo, recorded in the model card, run by
the ONNX Runtime path only for the weights it was made from, and only where the card (or CARDIOTRACE_INT8) says."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from app.ml import device, inference  # noqa: E402
from app.ml.model_card import ModelCard, ModelCardError, load_card, write_card  # noqa: E402
from app.ml.onnx_step import export_bytes, int8_graph  # noqa: E402
from app.ml.weights import METADATA_FILE, load_model, model_dir, read_card  # noqa: E402
from lab.training.quantize_echo import INT8_FILE, quantize  # noqa: E402
from tests.test_echo_seg_inference import _recording, tiny_models  # noqa: E402,F401


def _install_int8(root, default=False, from_sha=None):
    """Quantise the tiny base model of `root` on random frames and record the graph in its card."""
    folder = model_dir("echo_seg_base", root)
    card = read_card("echo_seg_base", root)
    frames = np.random.default_rng(0).random((8, 32, 32), dtype=np.float32)
    graph = quantize(export_bytes(load_model("echo_seg_base", "cpu", root=root), 32), frames)
    (folder / INT8_FILE).write_bytes(graph)
    entry = {"file": INT8_FILE, "sha256": hashlib.sha256(graph).hexdigest(),
             "from_weights_sha256": from_sha or card.provenance.sha256, "calibration": "random frames",
             "command": "pytest", "date": "2026-11-28", "default": default}
    write_card(ModelCard.from_dict(card.to_dict() | {"int8": entry}), folder / METADATA_FILE)
    inference.clear_model_cache()
    return folder


@pytest.fixture
def onnx_path(monkeypatch):
    monkeypatch.setenv(device.BACKEND_ENV, "onnxruntime")
    monkeypatch.delenv(device.BF16_ENV, raising=False)
    monkeypatch.delenv(device.INT8_ENV, raising=False)
    return monkeypatch


def _precision(root=None):
    seg = inference.EchoSegmenter("base", device=torch.device("cpu"), models_root=root)
    return seg.onnx.precision


def test_the_card_says_whether_int8_runs_and_the_environment_overrides(tiny_models, onnx_path):  # noqa: F811
    assert _precision() == "float32"  # no int8 graph
    _install_int8(tiny_models, default=False)
    assert _precision() == "float32"
    onnx_path.setenv(device.INT8_ENV, "1")
    assert _precision() == "int8"
    _install_int8(tiny_models, default=True)
    onnx_path.setenv(device.INT8_ENV, "0")
    assert _precision() == "float32"
    onnx_path.delenv(device.INT8_ENV)
    assert _precision() == "int8"


def test_on_a_native_bf16_cpu_the_int8_graph_runs_where_it_is_the_default(tiny_models, monkeypatch):  # noqa: F811
    """Torch's bf16 on such a CPU, except for a network whose int8 graph is its default and was made from its
    weights: ONNX Runtime's int8 there too (faster, and the same labels as on a laptop without bf16)."""
    for name in (device.BACKEND_ENV, device.BF16_ENV, device.INT8_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(device, "use_bf16", lambda dev: True)

    def engine(model="base"):
        return inference.EchoSegmenter(model, device=torch.device("cpu")).inference

    assert engine() == "bf16 on the CPU"  # no int8 graph
    _install_int8(tiny_models, default=False)
    assert engine() == "bf16 on the CPU"
    _install_int8(tiny_models, default=True)
    assert engine() == "int8 on ONNX Runtime" and engine("temporal") == "bf16 on the CPU"
    monkeypatch.setenv(device.INT8_ENV, "0")
    assert engine() == "bf16 on the CPU"
    monkeypatch.delenv(device.INT8_ENV)
    _install_int8(tiny_models, default=True, from_sha="0" * 64)  # made from other weights: never run
    assert engine() == "bf16 on the CPU"


def test_int8_labels_agree_with_float32(tiny_models, onnx_path):  # noqa: F811
    _install_int8(tiny_models, default=True)
    rec = _recording(n=4)
    out = {}
    for flag in ("0", "1"):
        onnx_path.setenv(device.INT8_ENV, flag)
        inference.clear_model_cache()
        out[flag] = inference.run_to_result(inference.segment_recording(rec, "base", keep_probabilities=True,
                                                                        device=torch.device("cpu")))
    diff = np.abs(out["0"].probabilities.astype(np.float32) - out["1"].probabilities.astype(np.float32))
    assert diff.mean() < 0.02 and 0 < diff.max()  # quantised, not the float graph again
    assert (out["0"].labels == out["1"].labels).mean() > 0.95


def test_never_for_other_weights_nor_a_changed_file(tiny_models, onnx_path):  # noqa: F811
    onnx_path.setenv(device.INT8_ENV, "1")
    folder = _install_int8(tiny_models, default=True, from_sha="0" * 64)  # e.g. the weights were retrained
    assert int8_graph(read_card("echo_seg_base", tiny_models), folder) is None and _precision() == "float32"
    folder = _install_int8(tiny_models, default=True)
    assert int8_graph(read_card("echo_seg_base", tiny_models), folder) is not None
    (folder / INT8_FILE).write_bytes((folder / INT8_FILE).read_bytes() + b"\0")
    inference.clear_model_cache()
    assert _precision() == "float32"
    (folder / INT8_FILE).unlink()
    inference.clear_model_cache()
    assert _precision() == "float32"


def test_an_int8_entry_off_the_schema_is_refused(tiny_models):  # noqa: F811
    data = json.loads((_install_int8(tiny_models) / METADATA_FILE).read_text())
    assert ModelCard.from_dict(data).int8.file == INT8_FILE
    data["int8"]["ranges"] = [0, 1]
    with pytest.raises(ModelCardError, match="unknown keys"):
        ModelCard.from_dict(data)
    del data["int8"]["ranges"], data["int8"]["sha256"]
    with pytest.raises(ModelCardError, match="missing keys"):
        ModelCard.from_dict(data)


def test_the_shipped_int8_graph_belongs_to_the_shipped_weights():
    folder = model_dir("echo_seg_base")
    card = load_card(folder / METADATA_FILE)
    assert card.int8 is not None and int8_graph(card, folder) is not None


@pytest.mark.shared
def test_the_shipped_int8_graph_segments_camus_valid_as_the_float_one(shared_data):
    """CAMUS valid (never calibrated on): per structure, the int8 Dice against the experts' masks within 0.005 of
    float32's, and the two label maps agreeing on 99 % of each structure."""
    from app.ml.onnx_step import OnnxFrameNet
    from lab.training.camus_data import load_split

    valid = load_split("valid", 128, root=shared_data / "camus_a4c", limit=25)
    folder, card = model_dir("echo_seg_base"), read_card("echo_seg_base")
    net = load_model("echo_seg_base", "cpu")
    runs = {"float32": OnnxFrameNet(net, 128, 1), "int8": OnnxFrameNet(net, 128, 1, graph=int8_graph(card, folder))}
    frames, truth = valid.images.reshape(-1, 128, 128), valid.labels.reshape(-1, 128, 128)
    labels = {k: np.stack([r.step(np.stack([f, np.zeros_like(f)])[None])[0][0].argmax(0) for f in frames])
              for k, r in runs.items()}

    def dice(a, b, k):
        return float(np.mean(2 * ((a == k) & (b == k)).sum((1, 2)) / np.maximum((a == k).sum((1, 2))
                                                                               + (b == k).sum((1, 2)), 1)))

    for k in (1, 2, 3):
        assert abs(dice(labels["int8"], truth, k) - dice(labels["float32"], truth, k)) < 0.005
        assert dice(labels["int8"], labels["float32"], k) > 0.99
