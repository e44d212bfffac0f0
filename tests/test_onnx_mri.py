"""ONNX Runtime inference of the short-axis MRI members (app/ml/onnx_mri.py): the same probabilities as torch
image by image, any stack and box size, chosen only where it applies, rebuilt when the weights change."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from app.ml import device, mri_inference, onnx_mri  # noqa: E402
from app.ml.nets.mri_ensemble import MriEnsemble  # noqa: E402
from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet  # noqa: E402


def _member(temporal="none", in_channels=1, seed=0):
    torch.manual_seed(seed)
    net = MultiLevelConvLSTMNet(4, temporal, n_classes=4, context_blocks=2, in_channels=in_channels)
    with torch.no_grad():  # BatchNorm statistics away from the identity, as a trained member has
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def _torch_probs(net, images):
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy(images)[None])[0], 1).numpy()


@pytest.fixture
def onnx_backend(monkeypatch):
    monkeypatch.setenv(device.BACKEND_ENV, "onnxruntime")
    monkeypatch.setenv(device.BF16_ENV, "0")


@pytest.mark.parametrize("shape", [(5, 1, 48, 72), (2, 1, 64, 64), (3, 3, 40, 56)])
def test_member_gives_torchs_probabilities_for_any_stack_and_box(shape):
    net = _member(in_channels=shape[1])
    images = np.random.default_rng(1).random(shape, dtype=np.float32)
    got = onnx_mri.OnnxImageNet(net, threads=1).probabilities(images)
    assert got.shape == (shape[0], 4, *shape[2:])
    assert np.allclose(got, _torch_probs(net, images), atol=1e-5)


def test_chosen_only_for_per_image_float32_members_on_the_onnx_backend(monkeypatch, onnx_backend):
    per_image = _member()
    assert onnx_mri.onnx_member(per_image) is onnx_mri.onnx_member(per_image)  # one session, kept
    assert onnx_mri.onnx_member(_member("multi")) is None  # a cycle runs in torch
    assert onnx_mri.onnx_member(MriEnsemble([_member(), _member(seed=1)])) is None  # members are run one by one
    assert onnx_mri.onnx_member(_member().to(torch.bfloat16)) is None
    monkeypatch.setenv(device.BACKEND_ENV, "torch")
    assert onnx_mri.onnx_member(per_image) is None


def test_session_follows_the_weights(onnx_backend):
    net = _member()
    images = np.random.default_rng(2).random((2, 1, 32, 32), dtype=np.float32)
    first = onnx_mri.onnx_member(net)
    before = first.probabilities(images)
    with torch.no_grad():
        net.head[-1].bias.add_(torch.tensor([2.0, 0.0, 0.0, -2.0]))  # a training step, a load_state_dict
    again = onnx_mri.onnx_member(net)
    assert again is not first
    after = again.probabilities(images)
    assert not np.allclose(before, after, atol=1e-3) and np.allclose(after, _torch_probs(net, images), atol=1e-5)


def test_graph_cached_by_the_members_weights(tmp_path, monkeypatch):
    from app.ml import onnx_step

    monkeypatch.setenv(onnx_step.CACHE_ENV, str(tmp_path))
    exports = []
    real_export = onnx_mri.export_bytes
    monkeypatch.setattr(onnx_mri, "export_bytes", lambda n: exports.append(1) or real_export(n))
    net = _member()
    onnx_mri.OnnxImageNet(net, threads=1)
    onnx_mri.OnnxImageNet(net, threads=1)
    assert len(exports) == 1 and len(list(tmp_path.glob("MultiLevelConvLSTMNet-images-*.onnx"))) == 1
    onnx_mri.OnnxImageNet(_member(seed=3), threads=1)  # other weights: their own graph
    assert len(exports) == 2


def test_ensemble_views_on_onnx_runtime_equal_torch(monkeypatch, onnx_backend):
    """predict_cycle_probs (the app's test-time views shared among the members) gives the same probabilities
    on both backends, with the members' training flags untouched."""
    ensemble = MriEnsemble([_member(), _member(seed=1)])
    crop = np.random.default_rng(3).random((4, 40, 40), dtype=np.float32)
    onnx = mri_inference.predict_cycle_probs(ensemble, crop, tta_views=4)
    monkeypatch.setenv(device.BACKEND_ENV, "torch")
    reference = mri_inference.predict_cycle_probs(ensemble, crop, tta_views=4)
    assert np.allclose(onnx, reference, atol=1e-5)
    ensemble.train()
    monkeypatch.setenv(device.BACKEND_ENV, "onnxruntime")
    mri_inference.predict_cycle_probs(ensemble, crop, tta_views=1)
    assert all(m.training for m in ensemble.members)
