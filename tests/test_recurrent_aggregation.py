"""The recurrent aggregation network (app/ml/nets/recurrent_aggregation.py): a U-Net at the start, streaming
equal to whole sequences, the view branch, its losses, ONNX Runtime, inference and the phantom clips' views."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml import inference  # noqa: E402
from app.ml.nets.recurrent_aggregation import VIEWS, RecurrentAggregationNet  # noqa: E402
from app.ml.nets.registry import build, is_recurrent  # noqa: E402
from app.ml.nets.unet import UNet  # noqa: E402
from app.ml.weights import save_model  # noqa: E402
from lab.training.echo_seg import view_loss  # noqa: E402
from lab.training.losses import bce_loss  # noqa: E402
from lab.training.phantom_sequences import PhantomBank  # noqa: E402
from tests.test_echo_seg_inference import _recording  # noqa: E402

CHANNELS = (4, 8, 8, 8)


def _clip(t=4, size=32, seed=0):
    x = torch.from_numpy(np.random.default_rng(seed).random((1, t, 2, size, size), dtype=np.float32))
    x[:, :, 1] = 0.0
    return x


def test_a_net_fresh_from_unet_weights_computes_that_unet():
    torch.manual_seed(0)
    unet = UNet(CHANNELS).eval()
    net = RecurrentAggregationNet(CHANNELS, (1, 2, 3)).eval()
    copied = net.load_base_weights(unet.state_dict())
    assert len(copied) == len(unet.state_dict())
    x = _clip()
    with torch.no_grad():
        logits, views, state = net.forward_with_view(x)
        expected = unet(x[0])
    assert torch.allclose(logits[0], expected, atol=1e-6)
    assert views.shape == (1, 4, len(VIEWS))
    assert [h.shape[1:] for h, _ in state] == [(8, 4, 4), (8, 8, 8), (8, 16, 16)]  # coarsest first


def test_streaming_one_frame_at_a_time_equals_the_whole_sequence():
    torch.manual_seed(1)
    net = RecurrentAggregationNet(CHANNELS, (2, 3)).eval()
    for p in net.parameters():  # leave the identity start: every part contributes
        p.data.add_(0.05 * torch.randn_like(p))
    x = _clip(t=5)
    with torch.no_grad():
        whole, _ = net(x)
        state, frames = None, []
        for t in range(5):
            out, state = net.step(x[:, t], state)
            frames.append(out)
    assert torch.allclose(torch.stack(frames, 1), whole, atol=1e-5)
    assert not torch.allclose(whole[:, 0], whole[:, -1])  # the memory changes the output over time


def test_levels_outside_the_encoder_are_refused():
    with pytest.raises(ValueError):
        RecurrentAggregationNet(CHANNELS, (0, 2))
    with pytest.raises(ValueError):
        RecurrentAggregationNet(CHANNELS, (4,))


def test_built_from_the_registry_and_recurrent():
    net = build("RecurrentAggregationNet", {"channels": list(CHANNELS), "levels": [2, 3]})
    assert isinstance(net, RecurrentAggregationNet) and net.lstm_levels == (3, 2)
    assert is_recurrent("RecurrentAggregationNet") and is_recurrent("ConvLSTMUNet")
    assert not is_recurrent("UNet")


def test_bce_loss_is_small_for_right_and_large_for_wrong_probabilities():
    labels = torch.zeros(2, 8, 8, dtype=torch.long)
    labels[:, 2:6, 2:6] = 1
    right = torch.nn.functional.one_hot(labels, 4).permute(0, 3, 1, 2).float()
    wrong = torch.roll(right, 1, dims=1)
    assert float(bce_loss(right, labels)) < 1e-4
    assert float(bce_loss(wrong, labels)) > 5.0
    mask = torch.tensor([False, False])
    assert float(bce_loss(wrong, labels, mask)) == 0.0  # no labelled frame, no loss


def test_the_view_branch_learns_the_view():
    torch.manual_seed(0)
    net = RecurrentAggregationNet(CHANNELS, (2, 3))
    opt = torch.optim.Adam(net.view_head.parameters(), lr=1e-2)
    x = torch.cat([_clip(t=2, seed=0), _clip(t=2, seed=1) * 0.3])
    views = ["a4c", "a2c"]
    losses = []
    for _ in range(80):
        _, view_logits, _ = net.forward_with_view(x)
        loss = view_loss(view_logits, views)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.2 * losses[0]


def test_streams_the_same_in_onnxruntime_and_torch():
    pytest.importorskip("onnxruntime")
    from app.ml.onnx_step import OnnxFrameNet

    torch.manual_seed(2)
    net = RecurrentAggregationNet(CHANNELS, (2, 3)).eval()
    for p in net.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    onnx = OnnxFrameNet(net, 32, threads=1)
    state_t, state_o = None, None
    for x in _clip(t=3)[0]:
        with torch.no_grad():
            logits, state_t = net.step(x[None], state_t)
        probs, state_o = onnx.step(x[None].numpy(), state_o)
        assert np.allclose(probs, torch.softmax(logits, 1).numpy(), atol=1e-4)


def test_segment_recording_runs_an_installed_aggregation_model(tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path))
    inference.clear_model_cache()
    from tests.model_cards import card

    meta = card("RecurrentAggregationNet", {"channels": list(CHANNELS), "levels": [2, 3]}, input_size_px=32)
    torch.manual_seed(0)
    save_model(RecurrentAggregationNet(CHANNELS, (2, 3)), "echo_seg_aggregation", meta, root=tmp_path)
    try:
        from lab.evaluation.offline_segmentation import segment_offline

        result = inference.run_to_result(segment_offline(_recording(), "aggregation", bidirectional_average=True))
        assert result.labels.shape == (5, 50, 70) and result.model == "aggregation"
        assert inference.EchoSegmenter("aggregation").temporal  # stateful, streamed frame by frame
    finally:
        inference.clear_model_cache()


def test_phantom_clips_keep_their_views_through_the_cache(tmp_path):
    bank = PhantomBank.build(2, 32, tmp_path, seed=3, views=("a4c", "a2c"))
    again = PhantomBank.build(2, 32, tmp_path, seed=3, views=("a4c", "a2c"))
    assert set(bank.views) <= {"a4c", "a2c"} and len(bank.views) == 2
    assert again.views == bank.views
    frames, labels, labelled, views = bank.batch(3, 2, np.random.default_rng(0), with_views=True)
    assert frames.shape[:2] == (3, 2) and labelled.all() and set(views) <= set(bank.views)
    assert len(bank.batch(3, 2, np.random.default_rng(0))) == 3  # the old contract without views


def test_a_one_view_bank_from_an_older_cache_is_all_a4c():
    bank = PhantomBank([np.zeros((3, 8, 8), np.float32)], [np.zeros((3, 8, 8), np.uint8)])
    assert bank.view_of(0) == "a4c"
