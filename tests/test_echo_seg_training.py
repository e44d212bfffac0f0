"""Training smoke tests on tiny synthetic CAMUS-like data (a few steps only), resume, CLI registry."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lab.model_notes import read_metadata  # noqa: E402
from lab.training import echo_seg  # noqa: E402
from lab.training.augment import augment  # noqa: E402


def _fake_camus(root, n=4, shape=(60, 50)):
    rng = np.random.default_rng(0)
    (root / "train").mkdir(parents=True)
    for i in range(n):
        imgs, labs = [], []
        for shrink in (0, 3):
            lab = np.zeros(shape, np.uint8)
            lab[10 + shrink : 30, 15 + shrink : 35 - shrink] = 1
            lab[30:34, 15:35] = 2
            lab[34:50, 18:32] = 3
            img = (rng.random(shape) * 60 + 120 * (lab == 2) + 40 * (lab == 0)).astype(np.uint8)
            imgs.append(img)
            labs.append(lab)
        np.savez(root / "train" / f"patient{i:04d}_4CH.npz", ed=imgs[0], es=imgs[1], ed_gt=labs[0], es_gt=labs[1],
                 spacing_mm=np.array([0.6, 0.6], np.float32))
    return root


def _args(tmp_path, data, arch, steps):
    return ["--arch", arch, "--data", str(data), "--size", "32", "--channels", "4,8,8", "--lstm-levels", "1,2",
            "--steps", str(steps), "--batch", "2", "--seq-len", "3", "--holdout", "1", "--val-every", "2",
            "--checkpoint-root", str(tmp_path / "ckpt"), "--models-root", str(tmp_path / "models"),
            "--phantom-clips", "0", "--threads", "1"]


@pytest.mark.parametrize("arch", ["base", "temporal", "aggregation"])
def test_two_steps_train_checkpoint_publish_and_resume(tmp_path, arch):
    data = _fake_camus(tmp_path / "camus")
    assert echo_seg.main(_args(tmp_path, data, arch, 2)) == 0
    ckpt = tmp_path / "ckpt" / f"echo_seg_{arch}" / "last.pt"
    assert ckpt.is_file()
    meta = read_metadata(f"echo_seg_{arch}", tmp_path / "models")
    assert (
        meta["architecture"]
        == {"base": "unet", "temporal": "convlstm_unet", "aggregation": "recurrent_aggregation"}[arch]
    )
    assert meta["lstm_levels"] == ([] if arch == "base" else [1, 2])
    assert meta["trained_steps"] == 2 and "command" in meta and "training_data" in meta
    assert ("view cross-entropy" in meta["loss"]) == (arch == "aggregation")
    assert ("temporal loss" in meta["loss"]) == (arch != "base")
    assert torch.load(ckpt, weights_only=False)["step"] == 2
    assert echo_seg.main(_args(tmp_path, data, arch, 3)) == 0  # resumes at step 2, runs one more
    assert torch.load(ckpt, weights_only=False)["step"] == 3


def test_training_step_reduces_loss_on_one_batch(tmp_path):
    data = _fake_camus(tmp_path / "camus")
    args = echo_seg.build_parser().parse_args(_args(tmp_path, data, "base", 30) + ["--lr", "3e-3", "--no-bf16"])
    trainer = echo_seg.Trainer(args, [])
    first = [trainer.train_step() for _ in range(3)]
    for _ in range(20):
        last = trainer.train_step()
    assert last < np.mean(first)


def test_augment_keeps_shapes_and_range():
    rng = np.random.default_rng(1)
    frames = rng.random((4, 32, 32)).astype(np.float32)
    labels = np.zeros((4, 32, 32), np.uint8)
    labels[:, 5:20, 10:20] = 1
    for _ in range(10):
        f, lb = augment(frames, labels, rng, p=1.0)
        assert f.shape == frames.shape and lb.shape == labels.shape and f.dtype == np.float32
        assert 0.0 <= f.min() and f.max() <= 1.0 and set(np.unique(lb)) <= {0, 1}


def test_cli_registry_dispatch(capsys):
    from app.cli import main

    assert main(["train", "no-such-target"]) == 2
    assert "unknown training target" in capsys.readouterr().err
    assert main(["evaluate", "no-such-target"]) == 2
    assert main(["train", "list"]) == 0
    assert set(capsys.readouterr().out.split()) == {"echo-seg", "echo-clip-ef", "ed-es", "motion", "mri-seg",
                                                    "mri-seg-acdc", "mri-seg-cycles", "mri-seg-ensemble", "view"}
    assert main(["evaluate", "list"]) == 0
    assert {"echo-seg", "echo-clips", "mri-seg", "volumes"} <= set(capsys.readouterr().out.split())
    assert main(["train", "echo-seg", "--arch", "bogus"]) == 2


def test_temporal_fine_tune_from_published_model(tmp_path):
    data = _fake_camus(tmp_path / "camus")
    assert echo_seg.main(_args(tmp_path, data, "temporal", 2)) == 0
    models = tmp_path / "models"
    first = read_metadata("echo_seg_temporal", models)
    args = echo_seg.build_parser().parse_args(
        _args(tmp_path, data, "temporal", 2) + ["--run", "fine", "--init-from", "echo_seg_temporal"])
    trainer = echo_seg.Trainer(args, [])
    published = torch.load(models / "echo_seg_temporal" / "model.pt", weights_only=True)
    own = trainer.model.state_dict()
    assert all(torch.equal(own[k], v.float()) for k, v in published.items())  # every tensor, not just the base's
    assert trainer.best == trainer.history[0]["dice_mean"] and trainer.history[0]["step"] == 0  # the score to beat
    assert trainer.commands[: len(first["command_history"])] == first["command_history"]
    trainer.best = -1.0  # force a publish to check the bookkeeping
    trainer.run()
    meta = read_metadata("echo_seg_temporal", models)
    assert meta["trained_steps"] == first["trained_steps"] + 2
    assert meta["initialised_from"].startswith("echo_seg_temporal (all")


def test_a_staging_models_root_starts_from_the_published_model_of_that_name(tmp_path, monkeypatch):
    data = _fake_camus(tmp_path / "camus")
    published = tmp_path / "published"
    base = _args(tmp_path, data, "base", 2)
    base[base.index("--models-root") + 1] = str(published)
    assert echo_seg.main(base) == 0  # a published 4,8,8 U-Net in another models folder
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(published))
    args = echo_seg.build_parser().parse_args(_args(tmp_path, data, "temporal", 2) + ["--init-from", "echo_seg_base"])
    trainer = echo_seg.Trainer(args, [])  # --models-root tmp/models holds no echo_seg_base
    assert trainer.meta["initialised_from"].startswith("echo_seg_base (")


def test_a_published_u_net_fine_tunes_at_another_input_size(tmp_path):
    """The same tensors seen at a larger input (a fully convolutional network at a new scale) start the run; the
    record says at which size they were trained."""
    data = _fake_camus(tmp_path / "camus")
    assert echo_seg.main(_args(tmp_path, data, "base", 2)) == 0  # published at 32 px
    argv = _args(tmp_path, data, "base", 2)
    argv[argv.index("--size") + 1] = "48"
    args = echo_seg.build_parser().parse_args(argv + ["--run", "larger", "--init-from", "echo_seg_base"])
    trainer = echo_seg.Trainer(args, [])
    published = torch.load(tmp_path / "models" / "echo_seg_base" / "model.pt", weights_only=True)
    own = trainer.model.state_dict()
    assert all(torch.equal(own[k], v.float()) for k, v in published.items())
    assert "trained at 32 px, now 48 px" in trainer.meta["initialised_from"]


@pytest.mark.parametrize("arch", ["base", "temporal"])
def test_clinical_augmentation_and_boundary_loss_train(tmp_path, arch):
    """Two steps with the issue-30 options: the loss is finite and the metadata names them."""
    data = _fake_camus(tmp_path / "camus")
    argv = _args(tmp_path, data, arch, 2) + ["--clinical-augment", "1.0", "--boundary-weight", "0.05"]
    argv += ["--area-weight", "0.5"] if arch == "base" else []
    assert echo_seg.main(argv) == 0
    meta = read_metadata(f"echo_seg_{arch}", tmp_path / "models")
    assert "boundary loss" in meta["loss"] and "clinical exports" in meta["training_data"]
    assert ("relative LV area loss" in meta["loss"]) == (arch == "base")
    args = echo_seg.build_parser().parse_args(argv + ["--run", "again", "--no-bf16"])
    trainer = echo_seg.Trainer(args, [])
    assert np.isfinite(trainer.train_step())
