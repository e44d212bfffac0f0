"""Echo segmentation networks: shapes, streaming == sequence forward, base weight transfer."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.convlstm import ConvLSTMCell  # noqa: E402
from app.ml.nets.convlstm_unet import ConvLSTMUNet  # noqa: E402
from app.ml.nets.unet import UNet  # noqa: E402

SMALL = (4, 8, 8)


def test_unet_shapes_and_size():
    net = UNet(SMALL)
    out = net(torch.rand(3, 2, 32, 48))
    assert out.shape == (3, 4, 32, 48)
    default = UNet()
    n_params = sum(p.numel() for p in default.parameters())
    assert 0.5e6 < n_params < 3e6


def test_convlstm_cell_sequence_matches_steps():
    torch.manual_seed(0)
    cell = ConvLSTMCell(3, 5)
    x = torch.rand(2, 4, 3, 8, 8)
    out, (h, c) = cell(x)
    assert out.shape == (2, 4, 5, 8, 8) and h.shape == c.shape == (2, 5, 8, 8)
    state = None
    for t in range(4):
        state = cell.step(x[:, t], state)
        assert torch.allclose(state[0], out[:, t], atol=1e-6)


def test_temporal_streaming_equals_sequence_forward():
    torch.manual_seed(0)
    net = ConvLSTMUNet(SMALL, lstm_levels=(0, 1, 2)).eval()
    x = torch.rand(1, 5, 2, 16, 16)
    with torch.no_grad():
        full, _ = net(x)
        state, steps = None, []
        for t in range(5):
            logits, state = net.step(x[:, t], state)
            steps.append(logits)
        # chunks carrying the state also match
        first, st = net(x[:, :2])
        second, _ = net(x[:, 2:], st)
    assert full.shape == (1, 5, 4, 16, 16)
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)
    assert torch.allclose(torch.cat([first, second], 1), full, atol=1e-5)


def test_temporal_output_depends_on_history():
    torch.manual_seed(0)
    net = ConvLSTMUNet(SMALL, lstm_levels=(1,)).eval()
    frame = torch.rand(1, 2, 16, 16)
    with torch.no_grad():
        a, _ = net.step(frame, None)
        _, st = net(torch.rand(1, 3, 2, 16, 16))
        b, _ = net.step(frame, st)
    assert not torch.allclose(a, b)


def test_base_weights_transfer_to_temporal():
    base = UNet(SMALL)
    temporal = ConvLSTMUNet(SMALL, lstm_levels=(1, 2))
    copied = temporal.load_base_weights(base.state_dict())
    assert any(k.startswith("decoder.") for k in copied)
    assert "encoder.0.conv1.0.weight" in copied  # level 0 keeps its plain conv
    assert not any(k.startswith("encoder.1.conv1") for k in copied)  # replaced by the ConvLSTM
    assert torch.equal(temporal.state_dict()["decoder.head.weight"], base.state_dict()["decoder.head.weight"])
