"""TempReg-Net: net shapes, the clip cache round trip, a 2-step resumable training smoke test."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.tempreg import build_tempreg  # noqa: E402
from app.ml.training.tempreg_cycle import synthetic_cycle  # noqa: E402
from app.ml.training.tempreg_sample import TrainClip, load_clips, sample_batch, save_clips  # noqa: E402


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
    for a, b in zip(clips, back):
        assert np.array_equal(a.frames, b.frames) and np.array_equal(a.events, b.events)
        assert (a.ed_frames, a.es_frames, a.frame_rate_hz) == (b.ed_frames, b.es_frames, b.frame_rate_hz)
    x, y = sample_batch(back, [c.target() for c in back], 4, np.random.default_rng(0), max_len=24)
    assert x.shape[:2] == y.shape and x.shape[2:] == (64, 64) and x.max() <= 1.0


def test_two_training_steps_checkpoint_and_resume(tmp_path):
    from app.ml.training.tempreg_train import TrainOptions, train

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
