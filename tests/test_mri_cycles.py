"""The temporal part of the four-class short-axis network: cyclic ConvLSTMs trained on phantom cycles over a
frozen ACDC fold CNN (lab/training/mri_cycles.py), run only over real cycles (min_cycle_phases)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet


def _temporal_net(min_cycle_phases: int) -> MultiLevelConvLSTMNet:
    torch.manual_seed(0)
    net = MultiLevelConvLSTMNet(4, "multi", n_classes=4, min_cycle_phases=min_cycle_phases).eval()
    for name, param in net.named_parameters():  # ConvLSTMs that do something
        if name.startswith("lstm_"):
            param.data.normal_(0.0, 0.3)
    return net


def test_the_convlstms_run_over_cycles_only_and_a_pair_of_phases_gets_the_cnn_alone():
    net = _temporal_net(min_cycle_phases=10)
    pair, cine = torch.rand(1, 2, 1, 32, 32), torch.rand(1, 12, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(pair), net(pair, cycle=False))  # an ED/ES pair is no cycle
        assert not torch.allclose(net(cine), net(cine, cycle=False))  # a 12-phase cine runs the ConvLSTMs
        assert torch.equal(net(cine[:, :9]), net(cine[:, :9], cycle=False))
    always = _temporal_net(min_cycle_phases=0)  # the default, as the earlier Sunnybrook network ran
    with torch.no_grad():
        assert not torch.allclose(always(pair), always(pair, cycle=False))


def test_cycle_loss_scores_background_and_the_unlabelled_rv_together():
    from lab.training.mri_cycle_data import BG_OR_RV
    from lab.training.mri_losses import cycle_loss

    target = torch.full((1, 1, 4, 4), BG_OR_RV, dtype=torch.long)
    target[..., :2, :2] = 1
    target[..., 2:, 2:] = 2

    def logits_for(outside_class: int) -> torch.Tensor:
        out = torch.full((1, 1, 4, 4, 4), -20.0)
        out[:, :, outside_class] = 20.0
        out[:, :, 1, :2, :2] = 40.0
        out[:, :, 2, 2:, 2:] = 40.0
        return out

    as_background, as_rv, as_lv = (cycle_loss(logits_for(k), target) for k in (0, 3, 1))
    assert float(as_background) == pytest.approx(float(as_rv), abs=1e-6) and float(as_background) < 0.01
    assert float(as_lv) > 1.0  # the LV drawn outside the epicardium costs
    anchor = torch.softmax(logits_for(0), dim=2)  # the CNN alone said background
    anchored = [float(cycle_loss(logits_for(k), target, anchor, 1.0)) for k in (0, 3)]
    assert anchored[1] > anchored[0] + 1.0  # ...so calling it RV now costs


def test_phantom_cycles_on_the_grid_label_outside_the_lv_as_background_or_rv():
    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml.mri_preprocess import PAD_MULTIPLE
    from lab.training.mri_cycle_data import BG_OR_RV, case_cycles, draw_cycle

    case = make_mri(MriPhantomParams(n_phases=12, n_slices=4, image_px=128, pixel_mm=1.5), seed=3)
    cycles = case_cycles(case.recording.frames, case.truth.labels, case.recording.spacing_mm, "p")
    assert cycles and all(c.image.shape == c.target.shape for c in cycles)
    c = cycles[len(cycles) // 2]
    assert c.image.shape[0] == 12 and c.image.shape[1] % PAD_MULTIPLE == 0
    assert set(np.unique(c.target)) <= {0, 1, 2, BG_OR_RV} and {1, 2, BG_OR_RV} <= set(np.unique(c.target))
    grid = round(128 * 1.5 / 1.25)  # 154 x 154 on the 1.25 mm grid, padded to 160 x 160 with 0
    assert c.image.shape[1:] == (160, 160) and (c.target[:, :grid, :grid] != 0).all()
    assert (c.target[:, grid:] == 0).all() and (c.target[:, :, grid:] == 0).all()
    image, target = draw_cycle(c, np.random.default_rng(0), 64, 0)
    assert image.shape == target.shape == (12, 64, 64) and (target == 1).any()


def test_train_cycles_over_a_finished_fold_and_evaluate_it_as_a_fold(tmp_path, monkeypatch, capsys):
    """A tiny fold CNN (ACDC's recipe on data in ACDC's format), its ConvLSTMs trained two steps on real phantom
    cycles: the run is resumable, loads as that fold's network with its ConvLSTMs, and on an ED/ES pair it is
    the CNN it started from."""
    from test_mri_acdc import _fake_acdc

    from lab.training import checkpoint, mri_acdc, mri_acdc_folds, mri_cycles

    data, ckpt = tmp_path / "acdc", tmp_path / "ckpt"
    data.mkdir()
    _fake_acdc(data)
    for module in (mri_acdc, mri_acdc_folds, mri_cycles, checkpoint):
        monkeypatch.setattr(module, "CHECKPOINTS_DIR", ckpt)
    small = ["--steps", "2", "--batch", "2", "--crop", "32", "--jitter", "4", "--base-channels", "4",
             "--context-blocks", "1", "--data", str(data), "--tag", "t"]
    assert mri_acdc.main(["--fold", "0"] + small) == 0
    cycles = ["--fold", "0", "--from", "t", "--steps", "2", "--batch", "1", "--crop", "48", "--jitter", "4",
              "--phantom", "1", "--valid-phantom", "1", "--val-every", "2", "--tag", "c"]
    assert mri_cycles.main(cycles[:3] + ["nothing"] + cycles[4:]) == 2
    assert "no finished run" in capsys.readouterr().err
    assert mri_cycles.main(cycles) == 0
    out = capsys.readouterr().out
    assert '"cnn_dice_lv"' in out and "fold 0: step 2 of 2" in out
    assert mri_cycles.main(cycles) == 0  # resumes at its last step
    assert mri_cycles.main(cycles + ["--score-phantom"]) == 0
    assert '"step": 2' in capsys.readouterr().out
    assert mri_cycles.main(cycles[:-1] + ["never-trained", "--score-phantom"]) == 2
    cnn, net = mri_acdc_folds.load_fold_net(0, "t"), mri_acdc_folds.load_fold_net(0, "c")
    assert net.temporal == "multi" and net.min_cycle_phases == mri_cycles.MIN_CYCLE_PHASES
    pair, cine = torch.rand(1, 2, 1, 32, 32), torch.rand(1, 12, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(net(pair), cnn(pair))
        assert torch.allclose(net(cine, cycle=False), cnn(cine))
        assert not torch.allclose(net(cine), cnn(cine))


def test_a_temporal_ensemble_is_published_and_segments_a_cine_with_its_convlstms(tmp_path, monkeypatch, capsys):
    """Five tiny fold CNNs, their ConvLSTMs trained on phantom cycles, scored and published as the ensemble:
    the card and the lab record say how the temporal part learnt, and the app segments a cine with it."""
    import json

    from test_mri_acdc import _fake_acdc

    from app.data.phantom import MriPhantomParams, make_mri
    from app.ml.mri_inference import MriSegmentation, load_mri_model, segment_stack
    from app.ml.nets.mri_ensemble import members_of
    from lab.evaluation import mri_acdc as evaluation
    from lab.training import checkpoint, mri_acdc, mri_acdc_folds, mri_acdc_publish, mri_cycles

    data, ckpt, models = tmp_path / "acdc", tmp_path / "ckpt", tmp_path / "models"
    data.mkdir()
    _fake_acdc(data)
    for module in (mri_acdc, mri_acdc_folds, mri_cycles, checkpoint, evaluation, mri_acdc_publish):
        monkeypatch.setattr(module, "CHECKPOINTS_DIR", ckpt)
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(models))
    tiny = ["--base-channels", "4", "--context-blocks", "1", "--data", str(data)]
    for fold in map(str, range(5)):
        assert mri_acdc.main(["--fold", fold, "--steps", "2", "--batch", "2", "--crop", "32", "--tag", "t"] + tiny) == 0
        assert mri_cycles.main(["--fold", fold, "--from", "t", "--steps", "2", "--batch", "1", "--crop", "48",
                                "--phantom", "1", "--val-every", "0", "--tag", "c"]) == 0
    assert evaluation.main(["--tag", "c", "--only-sunnybrook", "--cases", "SC-X", "--data", str(data)]) == 2
    assert "--cases must name Sunnybrook cases" in capsys.readouterr().err
    assert evaluation.main(["--tag", "c", "--tta-views", "1", "--no-sunnybrook", "--data", str(data)]) == 0
    assert mri_acdc.main(["--publish", "--tag", "c"] + tiny) == 0
    capsys.readouterr()
    net = load_mri_model()
    assert all(m.temporal == "multi" and m.min_cycle_phases == mri_cycles.MIN_CYCLE_PHASES for m in members_of(net))
    record = json.loads((tmp_path / "lab" / "notes" / "mri_seg.json").read_text())
    assert record["build"]["min_cycle_phases"] == mri_cycles.MIN_CYCLE_PHASES
    assert "phantom cine cycles" in record["temporal"] and "train mri-seg-cycles" in record["command"]
    first, last = record["command_history"]  # the CNN folds' training, then the ConvLSTMs'
    assert "train mri-seg-acdc --fold $k --steps 2" in first and "--tag t " in first and last == record["command"]
    case = make_mri(MriPhantomParams(n_phases=12, n_slices=3, image_px=128, pixel_mm=1.5), seed=5)
    seg = list(segment_stack(case.recording, net=net))[-1]
    assert isinstance(seg, MriSegmentation) and seg.labels.shape == case.recording.frames.shape


def test_sunnybrook_cycles_are_real_cines_labelled_at_ed_and_es_with_the_rest_left_open(shared_data):
    from app.ml.mri_preprocess import PAD_MULTIPLE
    from lab.training.mri_cycle_data import BG_OR_RV, NOT_POOL_ANY, UNLABELLED, draw_cycle, sunnybrook_cycles
    from lab.training.mri_losses import cycle_loss

    cycles = sunnybrook_cycles(shared_data / "sunnybrook", ("SC-HF-I-5",))
    assert len(cycles) >= 6 and {c.case for c in cycles} == {"SC-HF-I-5"}
    for c in cycles:
        labelled = np.flatnonzero((c.target != UNLABELLED).any(axis=(1, 2)))
        assert c.image.shape[0] == 20 and len(labelled) == 2  # the expert's ED and ES
        assert c.image.shape[1] % PAD_MULTIPLE == 0 and (c.target[labelled] == 1).any()
        assert set(np.unique(c.target[labelled])) <= {0, 1, 2, BG_OR_RV, NOT_POOL_ANY}
        assert c.target[labelled[0], round(c.centre_rc[0]), round(c.centre_rc[1])] == 1  # the LV pool's centre
    image, target = draw_cycle(cycles[0], np.random.default_rng(1), 128, 8)
    assert (target == UNLABELLED).all(axis=(1, 2)).sum() == 18
    logits = torch.zeros(1, 20, 4, 128, 128, requires_grad=True)
    anchor = torch.tensor([0.7, 0.1, 0.1, 0.1])[None, None, :, None, None].expand(1, 20, 4, 128, 128)
    cycle_loss(logits, torch.from_numpy(target.astype(np.int64))[None], anchor, 1.0).backward()
    grad = logits.grad.abs().sum(dim=(0, 2, 3, 4))
    assert (grad > 0).all()  # labelled phases by their labels, the others by the anchor
