"""The precision inference runs in is chosen with the device (app/ml/device.py): bf16 autocast only on a CPU
that computes bf16 natively. On an AVX2-only CPU, emulated bf16 made the MRI network 6.6x slower than
float32 and a 4-slice stack took 212 s in the viewer instead of 36 s."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from app.ml import device, engines  # noqa: E402


@pytest.fixture
def cpu_bf16(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) native bf16; the env override unset."""
    monkeypatch.delenv(device.BF16_ENV, raising=False)

    def set_native(native: bool) -> None:
        device.cpu_has_native_bf16.cache_clear()
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)

    yield set_native
    device.cpu_has_native_bf16.cache_clear()


@pytest.mark.parametrize("native", [True, False])
def test_bf16_follows_the_cpu(cpu_bf16, native):
    cpu_bf16(native)
    assert device.use_bf16(torch.device("cpu")) is native
    assert device.precision_label(torch.device("cpu")).startswith("bf16" if native else "float32")


def test_the_environment_overrides_the_cpu(cpu_bf16, monkeypatch):
    cpu_bf16(False)
    monkeypatch.setenv(device.BF16_ENV, "1")
    assert device.use_bf16(torch.device("cpu"))
    cpu_bf16(True)
    monkeypatch.setenv(device.BF16_ENV, "off")
    assert not device.use_bf16(torch.device("cpu"))


def test_cuda_runs_float32(cpu_bf16):
    cpu_bf16(True)
    assert not device.use_bf16(torch.device("cuda"))
    assert device.precision_label(torch.device("cuda")) == "float32"


def test_echo_segmenter_takes_the_devices_precision(cpu_bf16):
    from app.ml import inference
    from app.ml.weights import model_available

    if not model_available("echo_seg_temporal"):
        pytest.skip("models/echo_seg_temporal is not installed")
    cpu_bf16(False)
    assert not inference.EchoSegmenter("temporal", device=torch.device("cpu")).bf16
    cpu_bf16(True)
    assert inference.EchoSegmenter("temporal", device=torch.device("cpu")).bf16
    assert not inference.EchoSegmenter("temporal", device=torch.device("cpu"), bf16=False).bf16
    # the shipped U-Net's int8 graph is its default: ONNX Runtime on this CPU too (tests/test_onnx_int8.py)
    assert inference.EchoSegmenter("base", device=torch.device("cpu")).bf16 is not device.onnxruntime_available()


@pytest.mark.parametrize("native, threads, int8, expected", [
    (False, 1, "", "CPU, 1 thread (echo: int8, ONNX Runtime; MRI: float32, ONNX Runtime)"),
    (True, 2, "", "CPU, 2 threads (echo: int8, ONNX Runtime; MRI: bf16, torch)"),
    (True, 2, "0", "CPU, 2 threads (echo: bf16, torch; MRI: bf16, torch)"),
    (False, 2, "0", "CPU, 2 threads (echo: float32, ONNX Runtime; MRI: float32, ONNX Runtime)"),
])
def test_the_status_bar_names_each_networks_engine(cpu_bf16, monkeypatch, native, threads, int8, expected):
    """On a CPU with native bf16 the echo U-Net runs its int8 graph on ONNX Runtime while the MRI networks run in
    torch's bf16: the status bar said "bf16" for both."""
    from app.ml.weights import model_available

    if not model_available("echo_seg_base"):
        pytest.skip("models/echo_seg_base is not installed")
    cpu_bf16(native)
    monkeypatch.delenv(device.BACKEND_ENV, raising=False)
    monkeypatch.setenv(device.INT8_ENV, int8)
    monkeypatch.setattr(engines, "choose_device", lambda: torch.device("cpu"))
    monkeypatch.setattr(device, "onnxruntime_available", lambda: True)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    assert engines.device_label() == expected


def test_the_status_bar_says_when_the_echo_model_is_missing(cpu_bf16, monkeypatch, tmp_path):
    cpu_bf16(False)
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(engines, "choose_device", lambda: torch.device("cpu"))
    assert "echo: not installed" in engines.device_label()
