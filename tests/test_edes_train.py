"""TempReg-Net: net shapes, the clip cache round trip, a 2-step resumable training smoke test."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.tempreg import build_tempreg  # noqa: E402
from lab.training.tempreg_cycle import synthetic_cycle  # noqa: E402
from lab.training.tempreg_sample import TrainClip, load_clips, sample_batch, save_clips  # noqa: E402


def disc_clip(seed: int, size: int = 64) -> TrainClip:
    """A dark disc whose area follows a synthetic volume curve: frames (T, size, size) uint8."""
    rng = np.random.default_rng(seed)
    fps = rng.uniform(20, 60)
    cycle = synthetic_cycle(int(rng.integers(30, 70)), fps * 60 / rng.uniform(50, 100), rng)
    yy, xx = np.mgrid[0:size, 0:size]
    r2 = (yy - size / 2) ** 2 + (xx - size / 2) ** 2
    frames = np.stack([np.where(r2 < (8 + 8 * v) ** 2, 40, 200) for v in cycle.volume]).astype(np.uint8)
    return TrainClip.from_cycle(frames, cycle, f"disc:{seed}", "echo", fps)


def test_net_maps_a_clip_to_one_value_per_frame():
    net = build_tempreg().eval()
    with torch.no_grad():
        out = net(torch.rand(2, 17, 1, 64, 64))
    assert out.shape == (2, 17)
    with pytest.raises(ValueError, match="expected"):
        net(torch.rand(2, 17, 64, 64))


def test_clip_cache_round_trip(tmp_path):
    clips = [disc_clip(s) for s in range(3)]
    save_clips(tmp_path / "train_x.npz", clips)
    back = load_clips(tmp_path / "train_x.npz")
    for a, b in zip(clips, back, strict=False):
        assert np.array_equal(a.frames, b.frames) and np.array_equal(a.events, b.events)
        assert (a.ed_frames, a.es_frames, a.frame_rate_hz) == (b.ed_frames, b.es_frames, b.frame_rate_hz)
    x, y = sample_batch(back, [c.target() for c in back], 4, np.random.default_rng(0), max_len=24)
    assert x.shape[:2] == y.shape and x.shape[2:] == (64, 64) and x.max() <= 1.0


def test_two_training_steps_checkpoint_and_resume(tmp_path):
    from lab.training.tempreg_train import TrainOptions, train

    save_clips(tmp_path / "data" / "train_disc.npz", [disc_clip(s) for s in range(4)])
    save_clips(tmp_path / "data" / "val_disc.npz", [disc_clip(100)])
    opts = TrainOptions(steps=2, batch_size=2, max_len=24, eval_every=2, threads=1, save_best=False,
                        data_dir=tmp_path / "data", ckpt_dir=tmp_path / "ckpt")
    progress = list(train(opts))
    assert progress[-1].step == 2 and np.isfinite(progress[-1].loss)
    assert progress[-1].val_afd is not None
    assert (tmp_path / "ckpt" / "last.pt").is_file()
    more = TrainOptions(**{**opts.__dict__, "steps": 3})
    assert [p.step for p in train(more)] == [3]  # resumed from step 2


def test_hflip_mirrors_some_windows_and_keeps_the_targets():
    clips = [disc_clip(7)]
    clips[0] = TrainClip(clips[0].frames.copy(), clips[0].events, clips[0].ed_frames, clips[0].es_frames,
                         clips[0].source, clips[0].modality, clips[0].frame_rate_hz)
    clips[0].frames[:, :, :8] = 0  # a dark left edge tells the sides apart
    targets = [c.target() for c in clips]
    flipped = 0
    for seed in range(8):
        x, y = sample_batch(clips, targets, 2, np.random.default_rng(seed), max_len=24, hflip=True)
        plain, _ = sample_batch(clips, targets, 2, np.random.default_rng(seed), max_len=24)
        assert y.shape == x.shape[:2] and y.min() >= 0.0 and y.max() <= 1.0
        flipped += int((x[:, :, :, -8:] == 0).all(axis=(1, 2, 3)).sum())
        assert (plain[:, :, :, :8] == 0).all()
    assert 0 < flipped < 16


def test_a_fresh_run_can_start_from_the_published_weights(tmp_path, monkeypatch):
    from lab.training import tempreg_train
    from lab.training.tempreg_train import TrainOptions, train

    start = build_tempreg()
    for p in start.parameters():
        torch.nn.init.constant_(p, 0.01)
    monkeypatch.setattr(tempreg_train, "_published_model", lambda device: start)
    save_clips(tmp_path / "data" / "train_disc.npz", [disc_clip(s) for s in range(2)])
    opts = TrainOptions(steps=1, batch_size=1, max_len=16, eval_every=10, threads=1, save_best=False, lr=1e-12,
                        data_dir=tmp_path / "data", ckpt_dir=tmp_path / "ckpt", init_from_published=True)
    list(train(opts))
    state = torch.load(tmp_path / "ckpt" / "last.pt", weights_only=False)["model"]
    head = state["head.weight"]
    assert torch.allclose(head, torch.full_like(head, 0.01), atol=1e-6)
