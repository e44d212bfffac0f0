"""Structured pruning (lab/training/prune.py): a narrower net initialised from a wider trained one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.convlstm_unet import ConvLSTMUNet  # noqa: E402
from app.ml.nets.unet import UNet  # noqa: E402
from lab.model_notes import read_metadata  # noqa: E402
from lab.training import echo_seg  # noqa: E402
from lab.training.prune import prune_state, top_channels  # noqa: E402
from tests.test_echo_seg_training import _args, _fake_camus  # noqa: E402

WIDE, NARROW, LEVELS = (8, 12, 16), (4, 6, 8), (1, 2)


def _silence_dropped_channels(net, narrow):
    """Zero the BN gamma/beta of every channel beyond `narrow` at random positions, and for ConvLSTM units
    the weights that read them, so the wide net computes exactly what the pruned net should."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=gen)
                module.bias.uniform_(-0.2, 0.2, generator=gen)
                module.running_mean.uniform_(-0.1, 0.1, generator=gen)
                module.running_var.uniform_(0.5, 1.5, generator=gen)
                n = module.num_features
                dropped = torch.randperm(n, generator=gen)[: n - _narrow_for(n, narrow)]
                module.weight[dropped] = 0.0
                module.bias[dropped] = 0.0
        for level in getattr(net, "lstm_levels", ()):
            block = net.encoder[level]
            c, keep = block.lstm.c_out, narrow[level]
            dropped = torch.randperm(c, generator=gen)[: c - keep]
            block.conv2[0].weight[:, dropped] = 0.0  # nothing downstream reads them
            c_in = block.lstm.gates.weight.shape[1] - c
            block.lstm.gates.weight[:, c_in + dropped] = 0.0  # nor does the cell itself


def _narrow_for(n, narrow):
    return dict(zip(WIDE, narrow, strict=False))[n]


@pytest.mark.parametrize("temporal", [False, True])
def test_pruned_net_computes_what_the_wide_net_computed_with_its_silent_channels(temporal):
    torch.manual_seed(0)
    wide = ConvLSTMUNet(WIDE, LEVELS) if temporal else UNet(WIDE)
    _silence_dropped_channels(wide, NARROW)
    wide.eval()
    narrow = ConvLSTMUNet(NARROW, LEVELS) if temporal else UNet(NARROW)
    narrow.load_state_dict(prune_state(wide.state_dict(), WIDE, NARROW, LEVELS if temporal else ()))
    narrow.eval()
    x = torch.rand(2, 3, 2, 32, 32)
    with torch.no_grad():
        if temporal:
            expected, got = wide(x)[0], narrow(x)[0]
        else:
            expected, got = wide(x.flatten(0, 1)), narrow(x.flatten(0, 1))
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5)


def test_top_channels_keeps_the_largest_in_index_order():
    assert top_channels(torch.tensor([0.1, -3.0, 2.0, 0.5]).abs(), 2).tolist() == [1, 2]


def test_cannot_prune_to_wider_or_other_depth():
    state = UNet(WIDE).state_dict()
    with pytest.raises(ValueError):
        prune_state(state, WIDE, (4, 6, 32))
    with pytest.raises(ValueError):
        prune_state(state, WIDE, (4, 6))


def test_training_a_narrower_temporal_net_starts_from_the_pruned_published_one(tmp_path):
    data = _fake_camus(tmp_path / "camus")
    wide_args = _args(tmp_path, data, "temporal", 2)
    assert echo_seg.main(wide_args) == 0
    narrow_args = [a if a != "4,8,8" else "2,4,8" for a in wide_args]
    args = echo_seg.build_parser().parse_args(
        narrow_args + ["--run", "narrow", "--init-from", "echo_seg_temporal", "--model-name", "echo_seg_fast"])
    trainer = echo_seg.Trainer(args, [])
    published = torch.load(tmp_path / "models" / "echo_seg_temporal" / "model.pt", weights_only=True)
    expected = prune_state({k: v.float() for k, v in published.items()}, (4, 8, 8), (2, 4, 8), (1, 2))
    own = trainer.model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in expected.items())
    trainer.run()
    meta = read_metadata("echo_seg_fast", tmp_path / "models")
    assert meta["channels"] == [2, 4, 8] and "pruned from channels [4, 8, 8]" in meta["initialised_from"]


def test_distillation_from_the_wide_model_trains_the_narrow_one(tmp_path):
    data = _fake_camus(tmp_path / "camus")
    wide_args = _args(tmp_path, data, "temporal", 2)
    assert echo_seg.main(wide_args) == 0
    narrow_args = [a if a != "4,8,8" else "2,4,8" for a in _args(tmp_path, data, "temporal", 4)]
    args = echo_seg.build_parser().parse_args(
        narrow_args + ["--run", "narrow", "--init-from", "echo_seg_temporal", "--model-name", "echo_seg_fast",
                       "--distill-from", "echo_seg_temporal", "--no-bf16"])
    trainer = echo_seg.Trainer(args, [])
    assert trainer.teacher is not None and not any(p.requires_grad for p in trainer.teacher.parameters())
    teacher_before = {k: v.clone() for k, v in trainer.teacher.state_dict().items()}
    losses = [trainer.train_step() for _ in range(2)]
    assert all(np.isfinite(losses))
    assert all(torch.equal(v, trainer.teacher.state_dict()[k]) for k, v in teacher_before.items())  # frozen
    trainer.run()
    meta = read_metadata("echo_seg_fast", tmp_path / "models")
    assert meta["distilled_from"] == "echo_seg_temporal"


def test_distillation_loss_is_zero_only_for_the_teachers_own_distribution():
    from lab.training.losses import distillation_loss

    teacher = torch.randn(2, 4, 8, 8)
    assert float(distillation_loss(teacher, teacher)) == pytest.approx(0.0, abs=1e-6)
    assert float(distillation_loss(torch.zeros_like(teacher), teacher)) > 0.05


def test_every_class_keeps_a_channel_the_head_reads_in_its_favour():
    """The last decoder conv keeps each class's strongest positive reader even when its |gamma| is small:
    with ReLU features, a class read only negatively can win nowhere but where all features are ~0."""
    torch.manual_seed(0)
    wide = UNet(WIDE)
    with torch.no_grad():
        last_bn = wide.decoder.blocks[-1].conv2[1]
        last_bn.weight.copy_(torch.linspace(1.0, 2.0, WIDE[0]))  # the top-|gamma| half: channels 4..7
        head = wide.decoder.head.weight  # (4 classes, 8 channels, 1, 1)
        head.copy_(-head.abs())
        head[3, 1] = 0.9  # class 3 (LA) is raised only by channel 1, which |gamma| alone would drop
    state = prune_state(wide.state_dict(), WIDE, NARROW)
    assert (state["decoder.head.weight"].flatten(1)[3] > 0).any()
    assert torch.equal(state["decoder.blocks.1.conv2.1.weight"][0], last_bn.weight[1])


def _clip_cache(path, size, n_frames=6):
    """An echo_clip_data cache of one clip with n_frames // 2 beats (ED, ES) of noise frames."""
    frames = np.random.default_rng(3).integers(0, 256, (n_frames // 2, 2, size, size), dtype=np.uint8)
    np.savez_compressed(path, names=np.array(["clip.avi"]), ef=np.array([60.0]), pixel_hw=np.array([[1.0, 1.0]]),
                        counts=np.array([len(frames)]), frames=frames)
    return path


def test_a_narrow_per_frame_net_learns_the_teachers_probabilities_on_unlabelled_clinical_frames_too(
        tmp_path, monkeypatch):
    from lab.training import losses

    data = _fake_camus(tmp_path / "camus")
    wide_args = [a if a != "temporal" else "base" for a in _args(tmp_path, data, "temporal", 2)]
    assert echo_seg.main(wide_args) == 0
    cache = _clip_cache(tmp_path / "beats.npz", 32)
    narrow_args = [a if a != "4,8,8" else "2,4,8" for a in wide_args]
    args = echo_seg.build_parser().parse_args(
        narrow_args + ["--run", "narrow", "--init-from", "echo_seg_base", "--model-name", "echo_seg_fast",
                       "--distill-from", "echo_seg_base", "--distill-clips", str(cache), "--distill-clip-frames", "3",
                       "--no-bf16"])
    trainer = echo_seg.Trainer(args, [])
    assert trainer.teacher is not None and trainer.clip_frames.shape == (6, 32, 32)
    seen = []
    real = losses.distillation_loss
    monkeypatch.setattr(losses, "distillation_loss", lambda s, t: seen.append((s.shape, t.shape)) or real(s, t))
    assert np.isfinite(trainer.train_step())
    assert seen == [((2 + 3, 4, 32, 32), (2 + 3, 4, 32, 32))]  # the labelled batch and 3 clinical frames
    batch = trainer.clip_distill_batch()
    assert batch.shape == (3, 32, 32) and batch.dtype == np.float32 and 0.0 <= batch.min() and batch.max() <= 1.0
    trainer.run()
    meta = read_metadata("echo_seg_fast", tmp_path / "models")
    assert meta["distilled_from"] == "echo_seg_base" and "distillation from echo_seg_base" in meta["loss"]
    assert "6 ED/ES frames of clinical clips" in meta["training_data"]


def test_clinical_frames_for_distillation_need_a_teacher(tmp_path):
    data = _fake_camus(tmp_path / "camus")
    args = [a if a != "temporal" else "base" for a in _args(tmp_path, data, "temporal", 2)]
    cache = _clip_cache(tmp_path / "beats.npz", 32)
    with pytest.raises(SystemExit, match="--distill-from"):
        echo_seg.Trainer(echo_seg.build_parser().parse_args(args + ["--distill-clips", str(cache)]), [])
