"""Short-axis MRI segmentation: network shapes, cyclic state, partial-label loss, localisation, inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.analysis.lv_localise import crop_around, localise_lv, localise_stack
from app.data.recording import Recording, uniform_frame_times
from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
from app.tasks import Progress
from lab.training.mri_data import CROP_PX, NOT_POOL, UNLABELLED
from lab.training.mri_losses import partial_label_loss
from lab.training.mri_seg import augment


def beating_lv(n_phases=12, size=160, centre=(90, 70), spacing_mm=1.25, seed=0):
    """(T, H, W) synthetic short-axis cine: bright pool, grey myocardial ring that contracts, noisy background."""
    rng = np.random.default_rng(seed)
    rr, cc = np.ogrid[:size, :size]
    d = np.hypot(rr - centre[0], cc - centre[1]) * spacing_mm
    frames, labels = [], []
    for t in range(n_phases):
        r_pool = 25 - 8 * np.sin(np.pi * t / n_phases)
        r_epi = r_pool + 9 + 3 * np.sin(np.pi * t / n_phases)
        lab = np.where(d <= r_pool, 1, np.where(d <= r_epi, 2, 0)).astype(np.uint8)
        img = np.choose(lab, [0.25, 0.9, 0.4]) + rng.normal(0, 0.05, (size, size))
        frames.append(img)
        labels.append(lab)
    return np.stack(frames).astype(np.float32), np.stack(labels)


@pytest.mark.parametrize("mode", ["none", "single", "multi"])
def test_network_shapes(mode):
    net = MultiLevelConvLSTMNet(4, mode)
    out = net(torch.rand(2, 5, 1, 32, 32))
    assert out.shape == (2, 5, 3, 32, 32)


def test_closed_cycle_lets_the_first_phase_see_the_last():
    torch.manual_seed(0)
    x = torch.rand(1, 6, 1, 16, 16, requires_grad=True)
    for closed, expect in ((True, True), (False, False)):
        net = MultiLevelConvLSTMNet(4, "multi", closed_cycle=closed).eval()
        net(x)[0, 0].sum().backward()
        assert bool(x.grad[0, -1].abs().sum() > 0) == expect
        x.grad = None


def test_partial_loss_ignores_unlabelled_and_handles_not_pool():
    torch.manual_seed(0)
    logits = torch.randn(1, 2, 3, 8, 8, requires_grad=True)
    target = torch.full((1, 2, 8, 8), UNLABELLED, dtype=torch.long)
    target[0, 0] = NOT_POOL
    target[0, 0, 2:5, 2:5] = 1
    loss = partial_label_loss(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert logits.grad[0, 1].abs().sum() == 0  # phase 1 is unlabelled: no gradient
    # a NOT_POOL pixel is satisfied by background or myocardium alike
    confident = torch.zeros(1, 1, 3, 1, 1)
    as_bg, as_myo = confident.clone(), confident.clone()
    as_bg[0, 0, 0] = 10
    as_myo[0, 0, 2] = 10
    tgt = torch.full((1, 1, 1, 1), NOT_POOL, dtype=torch.long)
    assert partial_label_loss(as_bg, tgt, dice_weight=0) == pytest.approx(
        float(partial_label_loss(as_myo, tgt, dice_weight=0))
    )


def test_a_few_training_steps_reduce_the_loss():
    frames, labels = beating_lv(n_phases=4, size=32, centre=(16, 16), spacing_mm=3.0)
    torch.manual_seed(0)
    net = MultiLevelConvLSTMNet(4, "multi")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = torch.from_numpy(frames)[None, :, None]
    y = torch.from_numpy(labels.astype(np.int64))[None]
    losses = []
    for _ in range(5):
        loss = partial_label_loss(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_augment_keeps_labelled_phases_and_codes():
    frames, labels = beating_lv(n_phases=10, size=64, centre=(32, 32))
    target = np.full(labels.shape, UNLABELLED, np.uint8)
    target[3] = labels[3]
    rng = np.random.default_rng(1)
    for _ in range(10):
        image, tgt = augment(frames, target, rng)
        assert image.shape[1:] == (64, 64) and tgt.shape == image.shape
        assert (tgt != UNLABELLED).any(), "the labelled phase must survive phase subsampling"
        assert set(np.unique(tgt)) <= {0, 1, 2, UNLABELLED}


def test_localise_lv_finds_the_moving_bright_disc():
    frames, labels = beating_lv()
    loc = localise_lv(frames, (1.25, 1.25))
    assert np.hypot(loc.center_rc[0] - 90, loc.center_rc[1] - 70) * 1.25 < 4.0
    stack = localise_stack(np.stack([frames] * 4), (1.25, 1.25))
    assert np.hypot(stack.center_rc[0] - 90, stack.center_rc[1] - 70) * 1.25 < 4.0


def test_crop_around_pads_outside_the_image():
    image = np.arange(100, dtype=np.float32).reshape(10, 10)
    crop, offset = crop_around(image, (1, 1), 6)
    assert crop.shape == (6, 6) and offset == (-2, -2)
    assert crop[0, 0] == 0 and crop[2, 2] == image[0, 0]


def test_segment_stack_returns_labels_on_the_recording_grid():
    from app.ml.mri_inference import MriSegmentation
    from lab.training.mri_crop_inference import segment_stack

    frames, _ = beating_lv(n_phases=6, size=96, centre=(48, 50), spacing_mm=1.5)
    stack = np.stack([frames, frames])
    rec = Recording(frames=stack, spacing_mm=(1.5, 1.5), frame_times_s=uniform_frame_times(6, 20.0),
                    modality="mri", view="sax", slice_spacing_mm=10.0)
    net = MultiLevelConvLSTMNet(4, "multi")
    out = list(segment_stack(rec, net=net, whole_slice=False))
    result = out[-1]
    assert isinstance(result, MriSegmentation)
    assert result.labels.shape == stack.shape and result.confidence.shape == (2, 6)
    assert CROP_PX % 4 == 0


def test_segment_stack_takes_the_viewers_cancel_event():
    """The viewer's workers cancel with a threading.Event (it once failed here: 'Event' is not callable)."""
    import threading

    from app.ml.mri_inference import MriSegmentation, segment_stack

    frames, _ = beating_lv(n_phases=6, size=96, centre=(48, 50), spacing_mm=1.5)
    rec = Recording(frames=np.stack([frames, frames]), spacing_mm=(1.5, 1.5),
                    frame_times_s=uniform_frame_times(6, 20.0), modality="mri", view="sax", slice_spacing_mm=10.0)
    net = MultiLevelConvLSTMNet(4, "multi")
    event = threading.Event()
    result = list(segment_stack(rec, net=net, cancel=event))[-1]
    assert isinstance(result, MriSegmentation)
    # a per-cycle network runs in torch, and says it followed the cycle
    assert result.inference in (f"{engine} on the CPU, over the cardiac cycle (multi-level ConvLSTM)"
                                for engine in ("float32", "bf16"))
    event.set()
    assert list(segment_stack(rec, net=net, cancel=event)) == []
    assert list(segment_stack(rec, net=net, cancel=lambda: True)) == []


def test_segment_stack_labels_by_the_decision_thresholds(monkeypatch):
    """A low pool threshold grows the pool the app shows; the default is the shipped model's decision."""
    from lab.training import mri_crop_inference, mri_postprocess
    from lab.training.mri_decision import Decision

    # the untrained net below finds no myocardium around its pool; the surround rule has tests of its own
    monkeypatch.setattr(mri_postprocess, "MIN_MYOCARDIAL_SURROUND", 0.0)
    frames, _ = beating_lv(n_phases=4, size=96, centre=(48, 50), spacing_mm=1.5)
    rec = Recording(frames=frames[None], spacing_mm=(1.5, 1.5), frame_times_s=uniform_frame_times(4, 20.0),
                    modality="mri", view="sax", slice_spacing_mm=10.0)
    torch.manual_seed(0)
    net = MultiLevelConvLSTMNet(4, "none")
    with torch.no_grad():  # an untrained net whose pool probability is about a third everywhere
        for p in net.parameters():
            p.mul_(0.01)

    def pool_px(decision):
        return int(
            (
                list(mri_crop_inference.segment_stack(rec, net=net, decision=decision, whole_slice=False))[-1].labels
                == 1
            ).sum()
        )

    assert pool_px(Decision(0.05, 0.05)) > pool_px(Decision(0.9, 0.9))
    monkeypatch.setattr(mri_crop_inference, "shipped_decision", lambda: Decision(0.05, 0.05))
    assert pool_px(None) == pool_px(Decision(0.05, 0.05))


@pytest.mark.shared
def test_sunnybrook_samples_hold_the_whole_blood_pool(shared_data):
    from lab.training.mri_data import sunnybrook_samples

    samples = sunnybrook_samples(shared_data / "sunnybrook", "SC-HF-I-5")
    assert len(samples) >= 8
    for s in samples:
        labelled = [t for t in range(s.target.shape[0]) if (s.target[t] != UNLABELLED).any()]
        assert 1 <= len(labelled) <= 3
        for t in labelled:
            pool = s.target[t] == 1
            assert pool.sum() > 200
            # the pool is inside the crop, not cut by its border
            assert not pool[0].any() and not pool[-1].any() and not pool[:, 0].any() and not pool[:, -1].any()


class _PixelNet(torch.nn.Module):
    """Labels each pixel from its own value, and a corner flag that depends on orientation."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):  # (B, T, 1, S, S) -> (B, T, 3, S, S) logits
        a = x[:, :, 0]
        corner = torch.zeros_like(a)
        corner[..., :4, :4] = 20.0  # "myocardium" in whichever corner is top-left in the view
        return torch.stack([torch.zeros_like(a), 10 * (a - 0.5), corner - 10], 2)


def test_test_time_augmentation_maps_every_view_back():
    from app.ml.mri_inference import predict_cycle_probs

    crop = np.random.default_rng(0).random((3, 16, 16)).astype(np.float32)
    one, eight = predict_cycle_probs(_PixelNet(), crop, 1), predict_cycle_probs(_PixelNet(), crop, 8)
    pool_one, pool_eight = one[:, 1] > one[:, 0], eight[:, 1] > eight[:, 0]
    assert np.array_equal(pool_one, pool_eight)  # a pixel-wise decision is the same in every view
    assert np.allclose(eight.sum(axis=1), 1.0, atol=1e-5)
    # the orientation-bound corner shows up in all four corners with 1/8 weight each view pair
    assert one[0, 2, 0, 0] > 0.9 and eight[0, 2, 0, 0] < 0.5 and eight[0, 2, -1, -1] > 0.1


def test_resuming_a_finished_run_does_not_rewrite_its_checkpoint():
    import argparse

    from lab.training.mri_seg import Trainer

    trainer = Trainer.__new__(Trainer)  # no data needed: the checkpoint is already at its last step
    trainer.args = argparse.Namespace(steps=5, max_minutes=1.0, val_every=0, publish=False)
    trainer.step, trainer.valid, saved = 5, [], []
    trainer.save = lambda: saved.append(trainer.step)
    trainer.train_step = lambda: pytest.fail("a finished run must not train")
    trainer.bn_recalibrated = True
    assert trainer.run() == {"step": 5} and saved == []
    # a finished run from before batch-norm recalibration gets it once (and is saved), then never again
    trainer.bn_recalibrated, calls = False, []
    trainer.recalibrate = lambda: (calls.append(1), setattr(trainer, "bn_recalibrated", True))
    trainer.run()
    trainer.run()
    assert calls == [1]


def test_cnn_alone_draws_labelled_phases_into_a_batch():
    import argparse

    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
    from lab.training.mri_data import UNLABELLED, MriSample
    from lab.training.mri_seg import PHASES_PER_DRAW, Trainer

    rng = np.random.default_rng(0)
    image = rng.random((10, 32, 32)).astype(np.float32)
    target = np.full((10, 32, 32), UNLABELLED, np.uint8)
    target[3], target[7] = 0, 0
    target[3, 10:20, 10:20], target[7, 12:18, 12:18] = 1, 1
    trainer = Trainer.__new__(Trainer)
    trainer.args = argparse.Namespace(temporal="none", batch=3, phantom_fraction=0.0, lr=1e-3, steps=10)
    trainer.rng, trainer.phantom, trainer.step, trainer.draw_p = rng, [], 0, None
    trainer.train = [MriSample("x", 0, image, target, (1.0, 1.0), (0, 0))]
    for _ in range(5):  # only the labelled phases, never an unlabelled one, always the same count
        img, tgt = trainer.draw()
        assert img.shape == (PHASES_PER_DRAW, 32, 32) and not (tgt == UNLABELLED).all(axis=(1, 2)).any()
    import torch

    trainer.net = MultiLevelConvLSTMNet(4, "none")
    trainer.opt = torch.optim.AdamW(trainer.net.parameters(), lr=1e-3)
    assert np.isfinite(trainer.train_step()) and trainer.step == 1
    trainer.args.bf16 = True  # --bf16: the forward pass in bf16 autocast, the weights stay float32
    before = trainer.net.stem[0].weight.detach().clone()
    assert np.isfinite(trainer.train_step()) and trainer.step == 2
    assert trainer.net.stem[0].weight.dtype == torch.float32 and not torch.equal(before, trainer.net.stem[0].weight)
    # whole cycles for the temporal approaches
    trainer.args.temporal = "multi"
    assert trainer.draw()[0].shape[0] in (5, 10)


def test_batches_of_whole_cycles_are_refused():
    from lab.training.mri_seg import main

    assert main(["--temporal", "multi", "--batch", "2"]) == 2


def test_update_keeps_the_rows_of_approaches_not_evaluated_again():
    from lab.training.mri_seg import carry_over

    def row(approach, case, dsc):
        return {"approach": approach, "case": case, "dice_endo": dsc}

    old = {"command": "python -m app evaluate mri-seg", "rows": [row("none", "A", 0.90), row("multi", "A", 0.88)],
           "means": {"none": {"dice_endo": 0.90}, "multi": {"dice_endo": 0.88}},
           "decisions_all_folds": {"none": {"pool_probability": 0.3}, "multi": {"pool_probability": 0.4}},
           "fold_training_args": {"none/A": {"base_channels": 8}, "multi/A": {"base_channels": 8}}}
    new = {"command": "python -m app evaluate mri-seg", "rows": [row("none", "A", 0.93)],
           "means": {"none": {"dice_endo": 0.93}}, "decisions_all_folds": {"none": {"pool_probability": 0.25}},
           "fold_training_args": {"none/A": {"base_channels": 16}}}
    merged = carry_over(new, old)
    assert [(r["approach"], r["dice_endo"]) for r in merged["rows"]] == [("none", 0.93), ("multi", 0.88)]
    assert merged["means"] == {"none": {"dice_endo": 0.93}, "multi": {"dice_endo": 0.88}}
    assert merged["decisions_all_folds"]["none"] == {"pool_probability": 0.25}
    assert merged["fold_training_args"] == {"none/A": {"base_channels": 16}, "multi/A": {"base_channels": 8}}
    assert merged["carried_over"] == {"multi": "python -m app evaluate mri-seg"}
    assert carry_over(new, {}) == new
    assert "carried_over" not in carry_over(old, new)  # nothing is missing from the newer table


def test_a_published_model_keeps_the_comparison_tables():
    from lab.training.mri_seg import carried_tables

    previous = {"leave_one_out": {"rows": [{"approach": "multi", "case": "A"}]},
                "infarct_phantom_comparison": {"stacks": 4, "dsc_pool": {"published": 0.8, "multi_level_loo": 0.9}},
                "comparison_note": "2.5D input tried and not kept"}
    out = carried_tables({"rows": [{"approach": "none", "case": "A"}]}, previous)
    assert out["comparison_note"] == "2.5D input tried and not kept"
    assert [r["approach"] for r in out["leave_one_out"]["rows"]] == ["none", "multi"]
    assert out["infarct_phantom_comparison"] == {"stacks": 4, "dsc_pool": {"multi_level_loo": 0.9}}
    assert carried_tables(None, {}) == {"leave_one_out": None}


def test_a_convlstm_network_warm_started_from_the_cnn_is_that_cnn_and_trains_only_its_convlstms():
    import argparse

    import torch

    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
    from lab.training.mri_data import MriSample
    from lab.training.mri_seg import Trainer
    from lab.training.mri_warm_start import freeze_cnn, warm_start_from_cnn

    torch.manual_seed(0)
    cnn = MultiLevelConvLSTMNet(4, "none").eval()
    for module in cnn.modules():  # batch-norm statistics unlike a fresh network's
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    net = MultiLevelConvLSTMNet(4, "multi")
    warm_start_from_cnn(net, cnn.state_dict())
    x = torch.rand(1, 6, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(net.eval()(x), cnn(x))  # silenced ConvLSTMs: exactly the CNN
    with pytest.raises(ValueError, match="do not fit"):
        warm_start_from_cnn(MultiLevelConvLSTMNet(8, "multi"), cnn.state_dict())

    rng = np.random.default_rng(0)
    image = rng.random((6, 32, 32)).astype(np.float32)
    target = np.zeros((6, 32, 32), np.uint8)
    target[:, 10:20, 10:20] = 1
    trainer = Trainer.__new__(Trainer)
    trainer.args = argparse.Namespace(temporal="multi", batch=1, phantom_fraction=0.0, lr=1e-2, steps=10,
                                      freeze_cnn=True)
    trainer.rng, trainer.phantom, trainer.step, trainer.draw_p = rng, [], 0, None
    trainer.train = [MriSample("x", 0, image, target, (1.0, 1.0), (0, 0))]
    trainer.net = net
    trainer.opt = torch.optim.AdamW(freeze_cnn(net), lr=1e-2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for _ in range(2):
        assert np.isfinite(trainer.train_step())
    changed = {k for k, v in net.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("lstm_half.", "lstm_quarter.")) for k in changed)


def test_warm_start_flags_on_the_cnn_alone_or_without_its_run_are_refused(tmp_path, monkeypatch, capsys):
    from lab.training import mri_seg

    monkeypatch.setattr(mri_seg, "CHECKPOINTS_DIR", tmp_path)
    data = ["--data", str(tmp_path)]
    assert mri_seg.main(["--temporal", "none", "--freeze-cnn", *data]) == 2
    assert mri_seg.main(["--temporal", "multi", "--init-from-cnn", "x", "--holdout", "SC-HF-I-4", *data]) == 2
    assert "no CNN-alone run" in capsys.readouterr().err


def test_apical_slices_are_drawn_apical_weight_times_as_often():
    import argparse

    from lab.training.mri_data import MriSample, apical_flags
    from lab.training.mri_seg import Trainer, real_draw_probabilities

    def slice_with_pool(case, index, radius_px):
        target = np.full((4, 64, 64), UNLABELLED, np.uint8)
        yy, xx = np.mgrid[:64, :64]
        target[0] = np.where((yy - 32) ** 2 + (xx - 32) ** 2 <= radius_px ** 2, 1, 0)
        return MriSample(case, index, np.zeros((4, 64, 64), np.float32), target, (1.0, 1.0), (0, 0))

    # case a: radii 20, 18, 10 (area ratio 0.25: apical); case b: 12, 11 (its own largest sets the scale)
    samples = [slice_with_pool("a", 0, 20), slice_with_pool("a", 1, 18), slice_with_pool("a", 2, 10),
               slice_with_pool("b", 0, 12), slice_with_pool("b", 1, 11), slice_with_pool("b", 2, 6)]
    assert apical_flags(samples) == [False, False, True, False, False, True]
    trainer = Trainer.__new__(Trainer)
    trainer.train, trainer.phantom, trainer.draw_p = samples, [], real_draw_probabilities(samples, 1.0)
    trainer.rng = np.random.default_rng(0)
    trainer.args = argparse.Namespace(apical_weight=1.0)
    uniform = [trainer.draw_real().slice_index == 2 for _ in range(4000)]
    trainer.args.apical_weight, trainer.draw_p = 3.0, real_draw_probabilities(samples, 3.0)
    weighted = [trainer.draw_real().slice_index == 2 for _ in range(4000)]
    assert abs(np.mean(uniform) - 2 / 6) < 0.03 and abs(np.mean(weighted) - 6 / 10) < 0.03
    # weight 1 draws exactly as before the option existed (the shipped recipes reproduce)
    trainer.rng, trainer.draw_p = np.random.default_rng(5), real_draw_probabilities(samples, 1.0)
    expected = np.random.default_rng(5).integers(6, size=20)
    assert [samples.index(trainer.draw_real()) for _ in range(20)] == list(expected)


def test_a_single_slice_cine_keeps_how_the_networks_ran(monkeypatch):
    """The segmenting step's MRI segmenter on one slice: its labels and confidence as (T, H, W) / (T,), the engine
    named, no basal-slice findings (those need a stack)."""
    import app.ml.mri_inference as mri_inference
    from app.ml.mri_inference import MriSegmentation
    from app.workflow.segment_step import _mri_segmenter

    labels = np.zeros((1, 4, 8, 8), np.uint8)
    labels[0, :, 2:5, 2:5] = 1
    whole = MriSegmentation(labels, np.full((1, 4), 0.9), (3.0, 3.0), atrial_rv=("stand-in",),
                            inference="float32 on ONNX Runtime")
    monkeypatch.setattr(mri_inference, "segment_stack", lambda rec, cancel=None: iter([Progress(1.0), whole]))
    frames, _ = beating_lv(n_phases=4, size=8, centre=(4, 4), spacing_mm=1.5)
    rec = Recording(frames=frames, spacing_mm=(1.5, 1.5), frame_times_s=uniform_frame_times(4, 20.0),
                    modality="mri", view="sax")
    out = list(_mri_segmenter(rec))[-1]
    assert out.labels.shape == (4, 8, 8) and out.confidence.shape == (4,)
    assert out.inference == "float32 on ONNX Runtime" and out.atrial_rv == () and out.flagged_frames == ()
