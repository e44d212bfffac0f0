"""Clinical clips' EF as weak supervision (issue 53): the EF loss, the clip folds, the clip data and the trainer."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lab.training import echo_clip_ef, ef_loss  # noqa: E402
from lab.training.echo_clip_data import clip_beats, clip_folds, load_clip_beats  # noqa: E402
from tests.analysis_synth import half_ellipse_lv  # noqa: E402
from tests.test_echo_seg_training import _fake_camus  # noqa: E402

CLIPS = ("0X108B163EEADDDABC.avi", "0X1154F8CD483D5CD5.avi")


def test_soft_volumes_have_the_hard_value_and_grow_with_the_soft_area():
    probs = torch.full((2, 8, 8), 0.5, requires_grad=True)
    hard = torch.tensor([100.0, 40.0])
    v = ef_loss.soft_volumes(probs, hard)
    assert torch.allclose(v, hard)
    v.sum().backward()
    assert (probs.grad > 0).all()


def test_ef_loss_pulls_a_too_large_systolic_cavity_smaller():
    """Our EF 100 * (1 - 60/100) = 40 % against the expert's 60 %: the loss falls when the ES cavity shrinks."""
    probs = torch.full((2, 8, 8), 0.5, requires_grad=True)
    loss = ef_loss.ef_loss(probs, torch.tensor([100.0, 60.0]), torch.tensor([60.0]))
    assert float(loss.detach()) == pytest.approx(0.2 - 0.5 * ef_loss.EF_HUBER_PTS / 100, abs=1e-4)
    loss.backward()
    assert (probs.grad[1] > 0).all() and (probs.grad[0] < 0).all()  # descent: ES area down, ED area up
    same = ef_loss.ef_loss(probs.detach(), torch.tensor([100.0, 40.0]), torch.tensor([60.0]))
    assert float(same) == pytest.approx(0.0, abs=1e-6)


def test_only_beats_of_a_trustable_ef_reach_the_ef_loss():
    from lab.training.ef_loss import plausible_beats

    # ED, ES of 4 beats: normal, ED collapsed to a few pixels, ES at the ED volume, near-vanished ES (EF 99 %)
    hard = np.array([120.0, 50.0, 0.4, 60.0, 80.0, 80.0, 100.0, 1.0])
    np.testing.assert_array_equal(plausible_beats(hard), [True, False, False, False])
    assert not plausible_beats(np.array([0.0, 0.0])).any()


def test_disk_volumes_are_the_pipelines_and_nan_without_an_lv():
    big = half_ellipse_lv((128, 128), 60.0, 20.0, base_row=100, cx=64, wall_px=5)
    small = half_ellipse_lv((128, 128), 50.0, 14.0, base_row=100, cx=64, wall_px=5)
    v = ef_loss.disk_volumes(np.stack([big, small, np.zeros_like(big)]), np.ones((3, 2)))
    truth = 2 / 3 * np.pi * np.array([60.0 * 20.0 ** 2, 50.0 * 14.0 ** 2]) / 1000.0  # px^3 / 1000, as "ml"
    assert v[:2] == pytest.approx(truth, rel=0.08) and np.isnan(v[2])
    anisotropic = ef_loss.disk_volumes(big[None], np.array([[2.0, 1.0]]))
    assert anisotropic[0] > 1.5 * v[0]  # rows twice as long: a longer ventricle


def test_the_clip_ef_fine_tune_refuses_to_distil_rather_than_ignore_a_teacher(tmp_path):
    for extra in (["--distill-from", "echo_seg_base"], ["--distill-clips", str(tmp_path / "beats.npz")]):
        args = echo_clip_ef.parser().parse_args(["--events", str(tmp_path / "e.json"), *extra])
        with pytest.raises(SystemExit, match="does not distil"):
            echo_clip_ef.ClipEfTrainer(args, [])


def test_clip_folds_split_every_clip_once_and_the_same_way_each_time():
    names = [f"clip{i:02d}.avi" for i in range(11)]
    folds = clip_folds(names, 3)
    assert sorted(n for f in folds for n in f) == sorted(names)
    assert [len(f) for f in folds] == [4, 4, 3]
    assert folds == clip_folds(list(reversed(names)), 3)
    assert folds != clip_folds(names, 3, seed=1)


@pytest.fixture(scope="module")
def events(tmp_path_factory, shared_data):
    """Two real clinical clips with their (ED, ES) frames, as `evaluate echo-clips --json` lists them."""
    root = shared_data / "echonet_clips"
    if not (root / CLIPS[0]).is_file():
        pytest.skip(f"{root} has no EchoNet clips")
    from dataclasses import asdict

    from lab.evaluation.echo_clips import ClipScore

    path = tmp_path_factory.mktemp("events") / "events.json"
    scores = [(CLIPS[0], 54.7, ((12, 30), (52, 70))), (CLIPS[1], 55.7, ((5, 22),)), ("no_beats.avi", 60.0, ())]
    clips = [asdict(ClipScore(name, ef, 50.0, "tempreg", "", len(beats), len(beats), (), (), "a4c", 0.9,
                              trusted_beats=beats)) for name, ef, beats in scores]
    path.write_text(json.dumps({"summary": {}, "clips": clips}))
    return root, path


@pytest.mark.shared
def test_clip_beats_are_the_networks_input_of_the_beats_frames(events, tmp_path):
    from app.data.readers import load_recording
    from app.ml.inference import network_frames

    root, path = events
    cache = tmp_path / "beats.npz"
    clips = load_clip_beats(root, path, 64, cache)
    assert [c.name for c in clips] == list(CLIPS) and cache.is_file()
    assert clips[0].frames.shape == (2, 2, 64, 64) and clips[0].frames.dtype == np.uint8
    small, box = network_frames(load_recording(root / CLIPS[0], echo=True), 64, frames=[52, 70])
    assert np.abs(clips[0].frames[1].astype(float) / 255 - small).max() <= 0.5 / 255 + 1e-6
    assert clips[0].pixel_hw == ((box[1] - box[0]) / 64, (box[3] - box[2]) / 64)
    again = load_clip_beats(root, path, 64, cache)  # from the cache
    assert [c.name for c in again] == list(CLIPS) and np.array_equal(again[1].frames, clips[1].frames)
    assert clip_beats(root / CLIPS[0], CLIPS[0], 50.0, [], 64) is None


@pytest.mark.shared
def test_trainer_fine_tunes_on_a_fold_and_publishes_its_last_step(events, tmp_path, monkeypatch):
    root, path = events
    data = _fake_camus(tmp_path / "camus")
    csv = tmp_path / "clips" / "FileList.csv"
    csv.parent.mkdir()
    csv.write_text("FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames\n"
                   + "".join(f"{n},55,40,90,112,112,50,100\n" for n in CLIPS))
    for n in CLIPS:
        (csv.parent / n).symlink_to(root / n)
    argv = ["--data", str(data), "--size", "32", "--channels", "4,8,8", "--steps", "2", "--batch", "2",
            "--holdout", "1", "--checkpoint-root", str(tmp_path / "ckpt"), "--models-root", str(tmp_path / "models"),
            "--phantom-clips", "0", "--threads", "1", "--no-bf16", "--clips", str(csv.parent), "--events", str(path),
            "--clips-per-step", "2", "--fold", "0/2"]
    assert echo_clip_ef.main(argv) == 0
    held = (tmp_path / "models" / echo_clip_ef.HELDOUT_FILE).read_text().split()
    assert held == clip_folds(CLIPS, 2)[0]
    from lab.model_notes import read_metadata

    meta = read_metadata("echo_seg_base", tmp_path / "models")
    assert meta["trained_steps"] == 2 and "echocardiographer's EF" in meta["loss"]
    assert meta["command"].startswith("python -m app train echo-clip-ef ")
    assert "1 EchoNet-Dynamic clinical A4C clips" in meta["training_data"] and "fold 0 of 2" in meta["training_data"]
    with pytest.raises(SystemExit, match="K/N"):
        echo_clip_ef.main(argv[:-1] + ["0-2"])
    # the published fine-tune saw the clips outside fold 0: no fold may start from it, all clips may
    again = [a if a != str(tmp_path / "ckpt") else str(tmp_path / "ckpt2") for a in argv[:-2]]
    again += ["--init-from", "echo_seg_base", "--steps", "3"]
    with pytest.raises(SystemExit, match="already fine-tuned on the clinical clips"):
        echo_clip_ef.main(again + ["--fold", "1/2"])
    assert echo_clip_ef.main(again) == 0


@pytest.mark.shared
def test_camus_pairs_join_the_ef_loss_against_their_expert_masks_ef(events, tmp_path):
    """The clips are all normal EF; --camus-ef-pairs adds CAMUS training pairs, whose EF the expert masks give, to
    the beats of the EF loss, so that the EF supervision is not all normal."""
    root, path = events
    data = _fake_camus(tmp_path / "camus")
    argv = ["--data", str(data), "--size", "32", "--channels", "4,8,8", "--steps", "2", "--batch", "2",
            "--holdout", "1", "--checkpoint-root", str(tmp_path / "ckpt"), "--models-root", str(tmp_path / "models"),
            "--phantom-clips", "0", "--threads", "1", "--no-bf16", "--clips", str(root), "--events", str(path),
            "--clips-per-step", "1", "--camus-ef-pairs", "2"]
    trainer = echo_clip_ef.ClipEfTrainer(echo_clip_ef.parser().parse_args(argv), argv)
    labels = trainer.train.labels
    volumes = ef_loss.disk_volumes(labels.reshape(-1, 32, 32), np.ones((2 * len(labels), 2)))
    expected = 100.0 * (1.0 - volumes[1::2] / volumes[0::2])
    assert np.all(np.isfinite(trainer.camus_ef)) and np.allclose(trainer.camus_ef, expected)
    assert np.all((expected > 5) & (expected < 90))  # the fake ES cavity is smaller than its ED
    frames, pixel_hw, ef = trainer.ef_batch()
    assert frames.shape == (2 + 4, 32, 32) and pixel_hw.shape == (6, 2) and ef.shape == (3,)
    assert set(np.round(ef[1:], 4)) <= set(np.round(trainer.camus_ef.astype(np.float32), 4))
    assert np.all(pixel_hw[2:] == 1.0)
    assert echo_clip_ef.main(argv) == 0
    from lab.model_notes import read_metadata

    assert "2 CAMUS training ED/ES pairs per step" in read_metadata("echo_seg_base", tmp_path / "models")["loss"]


@pytest.mark.shared
def test_pseudo_labels_come_from_the_training_clips_and_the_teacher_resumes_with_the_run(events, tmp_path):
    """--pseudo-weight: the mean teacher labels frames of the clips the fold trains on; its average is kept in the
    checkpoint and resumed; the CAMUS batches are drawn as without it."""
    root, path = events
    data = _fake_camus(tmp_path / "camus")
    argv = ["--data", str(data), "--size", "32", "--channels", "4,8,8", "--steps", "2", "--batch", "2",
            "--holdout", "1", "--checkpoint-root", str(tmp_path / "ckpt"), "--models-root", str(tmp_path / "models"),
            "--phantom-clips", "0", "--threads", "1", "--no-bf16", "--clips", str(root), "--events", str(path),
            "--clips-per-step", "1"]
    plain = echo_clip_ef.ClipEfTrainer(echo_clip_ef.parser().parse_args(argv), argv)
    with_pl = argv + ["--pseudo-weight", "0.5", "--pseudo-frames", "3", "--ema-decay", "0.5"]
    trainer = echo_clip_ef.ClipEfTrainer(echo_clip_ef.parser().parse_args(with_pl), with_pl)
    assert plain.mean_teacher is None and len(plain.pseudo_batch()[0]) == 0
    pool = np.concatenate([c.frames.reshape(-1, 32, 32) for c in trainer.clips])
    assert np.array_equal(trainer.mean_teacher.pool, pool) and len(pool) == 6  # 3 beats' ED and ES
    frames, labels = trainer.pseudo_batch()
    assert frames.shape == (3, 32, 32) and labels.shape == (3, 32, 32) and labels.dtype == np.int64
    for a, b in zip(plain.base_frames(), trainer.base_frames(), strict=True):
        assert np.array_equal(a, b)
    trainer.run()
    assert trainer.pseudo_terms and np.all(np.isfinite(trainer.pseudo_terms))
    saved = {k: v.clone() for k, v in trainer.mean_teacher.state_dict().items()}
    student = trainer.model.state_dict()
    assert any(not torch.equal(saved[k], student[k]) for k in saved)  # an average, not the student
    more = with_pl[:with_pl.index("--steps") + 1] + ["3"] + with_pl[with_pl.index("--steps") + 2:]
    resumed = echo_clip_ef.ClipEfTrainer(echo_clip_ef.parser().parse_args(more), more)
    assert resumed.step == 2
    assert all(torch.equal(saved[k], v) for k, v in resumed.mean_teacher.state_dict().items())
    from lab.model_notes import read_metadata

    assert "mean teacher" in read_metadata("echo_seg_base", tmp_path / "models")["loss"]
