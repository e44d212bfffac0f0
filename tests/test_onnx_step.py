"""ONNX Runtime inference of the echo networks (app/ml/onnx_step.py) and where it is chosen
(app/ml/device.inference_backend): the same probabilities as torch, state carried frame to frame."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from app.ml import device, inference  # noqa: E402
from app.ml.nets.convlstm_unet import ConvLSTMUNet  # noqa: E402
from app.ml.nets.unet import UNet  # noqa: E402
from app.ml.onnx_step import OnnxFrameNet, state_shapes  # noqa: E402
from tests.test_echo_seg_inference import _recording, tiny_models  # noqa: E402,F401


def _frames(n=4, size=32):
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 2, size, size), dtype=np.float32)
    x[:, :, 1] = 0.0
    return x


def test_temporal_net_streams_the_same_in_onnxruntime_and_torch():
    torch.manual_seed(0)
    net = ConvLSTMUNet((4, 8, 8), (1, 2)).eval()
    onnx = OnnxFrameNet(net, 32, threads=1)
    assert [s[1:] for s in state_shapes(net, 32)] == [(8, 16, 16)] * 2 + [(8, 8, 8)] * 2
    state_t, state_o = None, None
    for x in _frames():
        with torch.no_grad():
            logits, state_t = net.step(torch.from_numpy(x), state_t)
        probs, state_o = onnx.step(x, state_o)
        assert np.allclose(probs, torch.softmax(logits, 1).numpy(), atol=1e-5)
    assert np.allclose(state_o[0], state_t[0][0].numpy(), atol=1e-5)  # the memory really is carried


def test_per_frame_net_in_onnxruntime():
    torch.manual_seed(0)
    net = UNet((4, 8, 8)).eval()
    onnx = OnnxFrameNet(net, 32, threads=1)
    x = _frames(1)[0]
    probs, state = onnx.step(x)
    with torch.no_grad():
        assert np.allclose(probs, torch.softmax(net(torch.from_numpy(x)), 1).numpy(), atol=1e-5)
    assert state is None


@pytest.fixture
def backend(monkeypatch):
    monkeypatch.delenv(device.BACKEND_ENV, raising=False)
    monkeypatch.delenv(device.BF16_ENV, raising=False)
    return monkeypatch


def test_backend_choice(backend):
    cpu = torch.device("cpu")
    backend.setattr(device, "use_bf16", lambda dev: False)
    assert device.inference_backend(cpu) == "onnxruntime"
    assert device.inference_backend(torch.device("cuda")) == "torch"
    backend.setenv(device.BACKEND_ENV, "torch")
    assert device.inference_backend(cpu) == "torch"
    backend.delenv(device.BACKEND_ENV)
    backend.setattr(device, "use_bf16", lambda dev: True)  # native bf16: torch's bf16 autocast is faster there
    assert device.inference_backend(cpu) == "torch"
    assert device.inference_backend(cpu, int8=True) == "onnxruntime"  # a network whose int8 graph runs
    assert device.inference_backend(torch.device("cuda"), int8=True) == "torch"
    backend.setenv(device.BACKEND_ENV, "onnxruntime")
    assert device.inference_backend(cpu) == "onnxruntime"
    backend.setenv(device.BACKEND_ENV, "torch")
    assert device.inference_backend(cpu, int8=True) == "torch"


@pytest.mark.parametrize("model", ["base", "temporal"])
def test_segment_recording_gives_the_same_labels_with_either_backend(tiny_models, backend, model):  # noqa: F811
    rec = _recording(n=6)
    results = {}
    for name in ("torch", "onnxruntime"):
        backend.setenv(device.BACKEND_ENV, name)
        seg = inference.EchoSegmenter(model, device=torch.device("cpu"), bf16=False)
        assert (seg.onnx is not None) == (name == "onnxruntime")
        results[name] = inference.run_to_result(
            inference.segment_recording(rec, model, keep_probabilities=True, device=torch.device("cpu")))
    a, b = results["torch"], results["onnxruntime"]
    assert np.allclose(a.probabilities.astype(np.float32), b.probabilities.astype(np.float32), atol=2e-3)
    assert (a.labels == b.labels).mean() > 0.999


def test_the_backend_override_runs_onnxruntime_on_a_native_bf16_cpu_too(tiny_models, backend):  # noqa: F811
    """CARDIOTRACE_BACKEND=onnxruntime means ONNX Runtime (float32) even where the device would pick torch bf16,
    as the status bar then says; unset, such a CPU runs torch in bf16."""
    backend.setattr(device, "use_bf16", lambda dev: True)
    backend.setattr(device, "onnxruntime_available", lambda: True)
    seg = inference.EchoSegmenter("temporal", device=torch.device("cpu"))
    assert seg.onnx is None and seg.bf16
    backend.setenv(device.BACKEND_ENV, "onnxruntime")
    seg = inference.EchoSegmenter("temporal", device=torch.device("cpu"))
    assert seg.onnx is not None and not seg.bf16


def test_exported_graph_is_cached_by_the_weights_sha256_and_checked(tmp_path, monkeypatch):
    from app.ml import onnx_step

    torch.manual_seed(0)
    net = UNet((4, 8, 8)).eval()
    exports = []
    real_export = onnx_step.export_bytes
    monkeypatch.setattr(onnx_step, "export_bytes", lambda n, s: exports.append(s) or real_export(n, s))
    monkeypatch.setenv(onnx_step.CACHE_ENV, str(tmp_path))
    x = _frames(1)[0]
    first = OnnxFrameNet(net, 32, threads=1, weights_sha256="ab" * 32).step(x)[0]
    assert exports == [32] and len(list(tmp_path.glob("UNet-*-32px-*.onnx"))) == 1
    again = OnnxFrameNet(net, 32, threads=1, weights_sha256="ab" * 32).step(x)[0]
    assert exports == [32] and np.array_equal(first, again)  # read back, not exported again
    OnnxFrameNet(net, 32, threads=1, weights_sha256="cd" * 32)  # other weights: their own graph
    assert exports == [32, 32]
    graph = next(tmp_path.glob("UNet-abab*.onnx"))
    graph.write_bytes(graph.read_bytes()[:-10] + b"x" * 10)  # a damaged file does not match its digest
    damaged = OnnxFrameNet(net, 32, threads=1, weights_sha256="ab" * 32).step(x)[0]
    assert exports == [32, 32, 32] and np.array_equal(first, damaged)
    monkeypatch.setenv(onnx_step.CACHE_ENV, "off")
    OnnxFrameNet(net, 32, threads=1, weights_sha256="ab" * 32)
    assert exports == [32, 32, 32, 32]


def test_an_unwritable_cache_folder_costs_only_the_export(tmp_path, monkeypatch):
    from app.ml import onnx_step

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(onnx_step.CACHE_ENV, str(blocker / "onnx"))
    torch.manual_seed(0)
    net = UNet((4, 8, 8)).eval()
    probs, _ = OnnxFrameNet(net, 32, threads=1, weights_sha256="ab" * 32).step(_frames(1)[0])
    with torch.no_grad():
        assert np.allclose(probs, torch.softmax(net(torch.from_numpy(_frames(1)[0])), 1).numpy(), atol=1e-5)


def test_the_allocator_is_tuned_once_and_never_against_the_users_own_settings(monkeypatch):
    import platform

    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert device.tune_allocator() is False  # the user's malloc settings win
    if platform.libc_ver()[0] == "glibc":  # a Dask worker: its nanny's MALLOC_TRIM_THRESHOLD_=65536 is overridden
        assert device.tune_allocator(over_environment=True) is True
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    for key in [k for k in __import__("os").environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(key)
    if platform.libc_ver()[0] == "glibc":
        assert device.tune_allocator() is True


def test_the_session_runs_without_the_graphs_softmax_and_numpy_applies_it(tmp_path):
    """ONNX Runtime's Softmax over the classes cost a tenth of the echo U-Net's time: the session runs the graph
    without it (logits_graph) and numpy applies it (softmax_classes), to the same probabilities."""
    import onnx

    from app.ml.onnx_step import cpu_session, export_bytes, logits_graph, softmax_classes

    torch.manual_seed(0)
    net = UNet((4, 8, 8)).eval()
    graph = export_bytes(net, 32)
    logits = logits_graph(graph, root=tmp_path)
    assert logits is not None
    ops = [n.op_type for n in onnx.load_from_string(logits).graph.node]
    assert "Softmax" in [n.op_type for n in onnx.load_from_string(graph).graph.node] and "Softmax" not in ops
    assert logits_graph(logits, root=tmp_path) is None  # no softmax left to take off: the caller keeps the graph
    assert logits_graph(graph, root=tmp_path) == logits  # read back from the cache
    x = _frames(1)[0]
    with_softmax = cpu_session(graph, 1).run(None, {"x": x})[0]
    assert np.allclose(softmax_classes(cpu_session(logits, 1).run(None, {"x": x})[0]), with_softmax, atol=1e-6)
    assert OnnxFrameNet(net, 32, threads=1).softmax
