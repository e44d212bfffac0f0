"""The four-class short-axis model: ACDC data, whole-slice preprocessing, stack clean-up, inference, metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.data.recording import Recording
from app.ml.mri_preprocess import GRID_MM, pad_to_multiple, prepare_slice, probabilities_to_recording, resample
from app.ml.mri_stack_cleanup import clean_phase_stack
from app.ml.nets.mri_ensemble import MriEnsemble
from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
from app.ml.nets.registry import build
from lab.data import acdc
from lab.evaluation.seg_metrics import hausdorff_3d_mm


def test_acdc_labels_are_remapped_to_ours():
    acdc_map = np.array([[0, 1, 2, 3]], np.uint8)  # bg, RV, myo, LV in ACDC's convention
    assert acdc.to_ours(acdc_map).tolist() == [[0, 3, 2, 1]]  # bg, RV=3, myo=2, LV=1 in ours


def test_folds_hold_out_whole_patients_with_every_group_in_equal_shares():
    groups = {f"patient{i:03d}": acdc.GROUPS[(i - 1) // 16] for i in range(1, 81)}
    folds = acdc.stratified_folds(groups, 5)
    assert sorted(p for f in folds for p in f) == sorted(groups)  # each patient in exactly one fold
    for fold in folds:
        per_group = [sum(groups[p] == g for p in fold) for g in acdc.GROUPS]
        assert len(fold) == 16 and min(per_group) >= 3 and max(per_group) <= 4
    assert acdc.stratified_folds(groups, 5) == folds  # deterministic


def test_a_real_acdc_patient_loads_with_its_reference_volumes(shared_data):
    root = shared_data / "acdc"
    patient = acdc.load_patient(root, "patient001")
    voxel_ml = patient.voxel_volume_mm3 / 1000.0
    assert patient.images.shape == patient.labels.shape and patient.images.shape[0] == 2
    assert abs((patient.labels[0] == 1).sum() * voxel_ml - patient.reference.lv_edv_ml) < 0.01
    assert abs((patient.labels[1] == 3).sum() * voxel_ml - patient.reference.rv_esv_ml) < 0.01
    assert abs((patient.labels[0] == 2).sum() * voxel_ml - patient.reference.myo_mass_g_ed) < 0.01


def test_whole_slice_preprocessing_keeps_geometry_and_maps_back():
    phases = np.zeros((2, 90, 70), np.float32)
    phases[:, 30:60, 20:40] = 100.0
    net_input, grid_hw = prepare_slice(phases, (1.5, 1.5))
    assert grid_hw == (round(90 * 1.5 / GRID_MM), round(70 * 1.5 / GRID_MM))
    assert net_input.shape[-2] % 8 == 0 and net_input.shape[-1] % 8 == 0
    assert 0.0 <= net_input.min() and net_input.max() <= 1.0
    probs = np.stack([1 - net_input, net_input], axis=1)  # (T, 2, H', W'): "class 1" where bright
    back = probabilities_to_recording(probs, grid_hw, (90, 70)).argmax(axis=1)
    assert back.shape == (2, 90, 70)
    assert (back[0] == (phases[0] > 0)).mean() > 0.99
    padded, hw = pad_to_multiple(np.ones((3, 5)), 4)
    assert padded.shape == (4, 8) and hw == (3, 5) and padded.sum() == 15


def test_label_resampling_is_centre_aligned():
    labels = np.zeros((40, 40), np.uint8)
    labels[10:30, 10:30] = 1
    grid = resample(labels, (1.0, 1.0), nearest=True)  # 1 mm pixels -> the 1.25 mm grid
    rows, cols = np.nonzero(grid == 1)
    centre_mm = (19.5 + 0.5) * 1.0  # the square's centre, from the image edge
    assert grid.shape == (32, 32)
    assert abs((rows.mean() + 0.5) * GRID_MM - centre_mm) < 0.3 and abs((cols.mean() + 0.5) * GRID_MM - centre_mm) < 0.3


def test_stack_cleanup_keeps_one_ventricle_each_and_the_wall_around_the_lv():
    labels = np.zeros((3, 40, 40), np.uint8)
    labels[:, 8:24, 8:24] = 2  # myocardium
    labels[:, 11:21, 11:21] = 1  # LV pool...
    labels[1, 15, 15] = 2  # ...with a papillary muscle labelled myocardium inside
    labels[:, 10:22, 26:34] = 3  # RV pool
    labels[0, 35:38, 2:5] = 1  # a stray LV island far away
    labels[2, 34:38, 34:38] = 2  # stray myocardium not touching the LV
    out = clean_phase_stack(labels)
    assert (out[0, 35:38, 2:5] == 0).all()
    assert (out[2, 34:38, 34:38] == 0).all()
    assert out[1, 15, 15] == 1  # the hole in the pool is pool
    assert (out == 3).sum() == (labels == 3).sum()
    assert (out[:, 8:24, 8:24] == 2).sum() > 0


def test_3d_hausdorff_of_a_shifted_box_is_the_shift_in_mm():
    a = np.zeros((6, 30, 30), np.uint8)
    a[1:5, 10:20, 10:20] = 1
    b = np.roll(a, 3, axis=2)  # 3 columns
    assert hausdorff_3d_mm(a, b, 1, (10.0, 1.5, 2.0)) == pytest.approx(6.0)
    assert hausdorff_3d_mm(a, a, 1, (10.0, 1.5, 2.0)) == 0.0
    assert hausdorff_3d_mm(a, np.zeros_like(a), 1, (10.0, 1.5, 2.0)) == float("inf")


def test_four_class_network_and_ensemble_build_from_the_registry():
    member = {"base_channels": 4, "temporal": "none", "n_classes": 4, "context_blocks": 2}
    net = build("MriEnsemble", {"members": 2, "member": member})
    assert isinstance(net, MriEnsemble)
    with torch.no_grad():
        out = net(torch.rand(1, 2, 1, 24, 32))
    assert out.shape == (1, 2, 4, 24, 32)
    single = MultiLevelConvLSTMNet(4, "none", n_classes=4, context_blocks=2)
    assert sum(1 for m in single.modules() if isinstance(m, torch.nn.Conv2d) and m.dilation == (4, 4)) == 1


def test_whole_slice_segmentation_of_a_stack_is_cancellable_and_labels_every_slice():
    from app.ml.mri_inference import MriSegmentation, Progress, segment_stack

    torch.manual_seed(0)
    net = MultiLevelConvLSTMNet(4, "none", n_classes=4).eval()
    rng = np.random.default_rng(0)
    frames = rng.uniform(0, 200, (3, 2, 50, 60)).astype(np.float32)
    rec = Recording(frames=frames, spacing_mm=(1.6, 1.6), frame_times_s=np.array([0.0, 0.3]), modality="mri",
                    view="sax", slice_spacing_mm=10.0)
    items = list(segment_stack(rec, net=net, tta_views=2))
    assert isinstance(items[0], Progress) and isinstance(items[-1], MriSegmentation)
    seg = items[-1]
    assert seg.labels.shape == frames.shape and seg.labels.max() <= 3 and seg.confidence.shape == (3, 2)
    stop = list(segment_stack(rec, net=net, cancel=lambda: True))
    assert not any(isinstance(i, MriSegmentation) for i in stop)


class _FakeNet(torch.nn.Module):
    """A fixed rule standing in for a network: one unused parameter gives the inference its device."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))


class _NeighbourNet(_FakeNet):
    """A 3-channel 'network' that calls a pixel LV pool where the slice before is bright and RV pool where the
    slice after is: it shows which neighbour reached which channel."""

    in_channels = 3

    def forward(self, x):  # (B, T, 3, H, W) -> (B, T, 4, H, W)
        zero = torch.zeros_like(x[:, :, 0])
        return torch.stack([zero, 20 * (x[:, :, 0] - 0.5), zero - 10, 20 * (x[:, :, 2] - 0.5)], 2)


def test_a_slice_context_network_sees_the_neighbours_in_stack_order_and_nothing_past_the_ends():
    from app.ml.mri_inference import stack_probabilities
    from app.ml.mri_preprocess import neighbour_channels

    frames = np.zeros((3, 2, 40, 40), np.float32)  # a bright square per slice, each at its own place
    for s, (r, c) in enumerate([(4, 4), (16, 16), (28, 28)]):
        frames[s, :, r:r + 8, c:c + 8] = 100.0
    probs = list(stack_probabilities(_NeighbourNet(), frames, (1.25, 1.25), (40, 40), tta_views=1))
    labels = [p.argmax(axis=1)[0] for p in probs]
    assert labels[1][6, 6] == 1 and labels[1][30, 30] == 3 and labels[1][18, 18] == 0
    assert (labels[0] != 1).all() and labels[0][18, 18] == 3  # the first slice has nothing before it
    assert (labels[2] != 3).all() and labels[2][18, 18] == 1
    one = neighbour_channels(None, frames[0], None, 1)
    assert one.shape == (2, 1, 40, 40)
    with pytest.raises(ValueError):
        neighbour_channels(None, frames[0], None, 2)


def test_a_widened_first_layer_starts_as_the_one_channel_network():
    from lab.training.mri_acdc import widen_stem

    torch.manual_seed(0)
    narrow = MultiLevelConvLSTMNet(4, "none", n_classes=4, context_blocks=1).eval()
    wide = MultiLevelConvLSTMNet(4, "none", n_classes=4, context_blocks=1, in_channels=3).eval()
    wide.load_state_dict(widen_stem(narrow.state_dict(), 3))
    x = torch.rand(1, 2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(narrow(x[:, :, 1:2]), wide(x))
    with pytest.raises(ValueError):
        widen_stem(wide.state_dict(), 5)


def test_training_crops_carry_the_slice_and_its_neighbours():
    from lab.training.mri_acdc_data import AcdcSlices, draw_crop

    images = np.stack([np.full((2, 40, 40), 0.1 * (s + 1), np.float16) for s in range(4)])
    patient = AcdcSlices("p", "NOR", images, np.zeros((4, 2, 40, 40), np.uint8), (20.0, 20.0))
    rng = np.random.default_rng(0)
    seen_orders = set()
    for _ in range(40):
        image, labels = draw_crop(patient, rng, 16, 0, channels=3)
        assert image.shape == (3, 16, 16) and labels.shape == (1, 16, 16)
        before, this, after = (float(image[k, 8, 8]) for k in range(3))
        s = round(this / 0.1) - 1
        neighbours = {round(v / 0.1) - 1 for v in (before, after) if v > 0}
        assert neighbours == {k for k in (s - 1, s + 1) if 0 <= k < 4}
        if before > 0 and after > 0:
            seen_orders.add(before < after)
    assert seen_orders == {True, False}  # stack order and reversed


def test_cleanup_keeps_the_ventricles_along_the_wall_not_the_largest_blobs():
    """End-systole of a small hypertrophic heart: the true cavities are smaller than bright blobs below the
    apex that the network calls LV or RV (ACDC cross-validation lost 9 ventricles this way)."""
    labels = np.zeros((4, 60, 60), np.uint8)
    labels[:2, 10:24, 10:24] = 2  # thick myocardium...
    labels[:2, 15:19, 15:19] = 1  # ...around a small LV pool
    labels[:2, 12:22, 25:29] = 3  # a small RV along the septum
    labels[2:, 40:55, 5:20] = 1  # larger "LV" blob in other slices, far from the wall
    labels[2:, 40:58, 35:58] = 3  # larger "RV" blob, far from the wall
    out = clean_phase_stack(labels)
    assert (out[:2, 15:19, 15:19] == 1).all() and (out[2:] == 1).sum() == 0
    assert (out[:2, 12:22, 25:29] == 3).all() and (out[2:] == 3).sum() == 0


def _fake_acdc(folder, n_per_group: int = 1) -> None:
    """A tiny dataset in ACDC's file format: a bright LV disc in a myocardial ring beside an RV crescent."""
    import json

    rng = np.random.default_rng(0)
    rows = ["patient,group"]
    for g, group in enumerate(acdc.GROUPS):
        for i in range(n_per_group):
            pid = f"patient{1 + g * n_per_group + i:03d}"
            labels, images = [], []
            for radius in (9, 6):  # ED, ES
                yy, xx = np.mgrid[:48, :40]
                lab = np.zeros((3, 48, 40), np.uint8)
                d_lv = np.hypot(yy - 24, xx - 22)
                lab[:, d_lv < radius + 4] = 2
                lab[:, d_lv < radius] = 3  # ACDC: 3 = LV
                lab[:, (np.hypot(yy - 24, xx - 8) < radius) & (d_lv >= radius + 4)] = 1  # ACDC: 1 = RV
                img = np.choose(lab, [40, 200, 90, 220]).astype(float) + rng.normal(0, 5, lab.shape)
                labels.append(lab)
                images.append(np.clip(img, 0, 255).astype(np.uint8))
            meta = {"group": group, "spacing_mm_estimated": 1.5, "slice_spacing_mm_estimated": 10.0,
                    "voxel_volume_mm3": 22.5, "lv_edv_ml": 1.0, "lv_esv_ml": 1.0, "rv_edv_ml": 1.0, "rv_esv_ml": 1.0,
                    "lv_ef_pct": 0.0, "rv_ef_pct": 0.0, "myo_mass_g_ed": 1.0}
            np.savez(folder / f"{pid}.npz", ed_image=images[0], es_image=images[1], ed_label=labels[0],
                     es_label=labels[1], meta=json.dumps(meta))
            rows.append(f"{pid},{group}")
    (folder / "index.csv").write_text("\n".join(rows) + "\n")


def test_train_evaluate_publish_and_segment_with_the_acdc_recipe(tmp_path, monkeypatch, capsys):
    """The whole chain on a tiny dataset in ACDC's format: five folds trained a few steps (resumable
    checkpoints), the cross-validation table, the published ensemble, and the app segmenting with it."""
    from app.ml.mri_inference import MriSegmentation, load_mri_model, segment_stack
    from lab.evaluation import mri_acdc as evaluation_mri_acdc
    from lab.training import mri_acdc, mri_acdc_folds, mri_acdc_publish

    data, ckpt, models = tmp_path / "acdc", tmp_path / "ckpt", tmp_path / "models"
    data.mkdir()
    _fake_acdc(data)
    for module in (mri_acdc, mri_acdc_folds, evaluation_mri_acdc, mri_acdc_publish):
        monkeypatch.setattr(module, "CHECKPOINTS_DIR", ckpt)
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(models))
    small = ["--steps", "2", "--batch", "2", "--crop", "32", "--jitter", "4", "--base-channels", "4",
             "--context-blocks", "1", "--in-channels", "3", "--data", str(data), "--tag", "t",
             "--boundary-weight", "0.05"]
    assert mri_acdc.main(["--publish"] + small) == 2  # no finished folds yet
    for fold in range(5):
        assert mri_acdc.main(["--fold", str(fold)] + small) == 0
    assert mri_acdc.main(["--fold", "0"] + small) == 0  # resumes: already at its last step
    assert "fold 0: step 2 of 2" in capsys.readouterr().out
    evaluate = ["--tag", "t", "--tta-views", "1", "--no-sunnybrook", "--data", str(data)]
    assert evaluation_mri_acdc.main(evaluate + ["--folds", "0"]) == 0  # a screen of one fold: its own file
    assert (ckpt / "mri_acdc_cv_t" / "summary_folds0.json").is_file()
    assert not (ckpt / "mri_acdc_cv_t" / "summary.json").exists()
    assert evaluation_mri_acdc.main(evaluate) == 0
    out = capsys.readouterr().out
    assert "clean: 3D Dice ED/ES" in out and "lv_ef_pct" in out
    assert evaluation_mri_acdc.main(evaluate + ["--degrade", "ge,canon", "--json", str(tmp_path / "v.json")]) == 0
    table = capsys.readouterr().out.split("per profile")[1].splitlines()
    assert [line.split()[0] for line in table[2:]] == ["clean", "ge", "canon"]  # clean first, then each profile
    assert "(" in table[3] and (tmp_path / "v_canon.json").is_file()
    assert (ckpt / "mri_acdc_cv_t" / "summary_ge.json").is_file()
    assert evaluation_mri_acdc.main(evaluate + ["--degrade", "ge,blurry"]) == 2
    summary = ckpt / "mri_acdc_cv_t" / "summary.json"
    whole = summary.read_text()
    summary.write_text(whole.replace('"folds": "0,1,2,3,4"', '"folds": "0"'))  # as an older screen left it
    assert mri_acdc.main(["--publish"] + small) == 2
    assert "not all 5" in capsys.readouterr().err
    summary.write_text(whole)
    assert mri_acdc.main(["--publish"] + small) == 0
    net = load_mri_model()
    assert len(net.members) == 5 and net.members[0].in_channels == 3  # each slice with its neighbours
    from lab.model_notes import read_metadata, update_metadata

    record = read_metadata("mri_seg", models)
    assert "0.05 x the scale-balanced boundary loss" in record["loss"]
    assert record["command_history"] == [record["command"]]
    update_metadata("mri_seg", {"tried_not_kept": {"a variant": "its figures"}}, models)
    assert mri_acdc.main(["--publish"] + small) == 0  # published again: the record keeps what was tried
    assert read_metadata("mri_seg", models)["tried_not_kept"] == {"a variant": "its figures"}
    tuned = [a if a != "t" else "t2" for a in small] + ["--init-from-shipped"]  # each member fine-tuned further
    for fold in range(5):
        assert mri_acdc.main(["--fold", str(fold)] + tuned) == 0
    assert mri_acdc.main(["--publish"] + tuned) == 0
    history = read_metadata("mri_seg", models)["command_history"]
    assert len(history) == 2 and "--tag t " in history[0] and "--tag t2 " in history[1]
    patient = acdc.load_patient(data, "patient001")
    rec = Recording(frames=np.moveaxis(patient.images, 0, 1).astype(np.float32), spacing_mm=(1.5, 1.5),
                    frame_times_s=np.array([0.0, 0.3]), modality="mri", view="sax", slice_spacing_mm=10.0)
    seg = list(segment_stack(rec, net=net))[-1]  # the shipped metadata says: whole slices, 4 views
    assert isinstance(seg, MriSegmentation) and seg.labels.shape == rec.frames.shape


def test_the_boundary_term_weighs_a_small_cavity_drawn_too_wide_like_a_large_one():
    """segmentation_loss with --boundary-weight: zero for a perfect prediction; a one-pixel rim added to a small
    and to a large LV pool costs about the same boundary term (it is counted per unit of border)."""
    from lab.training.mri_acdc import segmentation_loss

    def case(half_px: int):
        target = torch.zeros(1, 96, 96, dtype=torch.long)
        target[0, 48 - half_px - 3:48 + half_px + 3, 48 - half_px - 3:48 + half_px + 3] = 2
        target[0, 48 - half_px:48 + half_px, 48 - half_px:48 + half_px] = 1
        target[0, 2:14, 80:94] = 3  # the RV, clear of both hearts
        wide = target.clone()
        wide[0, 48 - half_px - 1:48 + half_px + 1, 48 - half_px - 1:48 + half_px + 1] = 1  # the pool 1 px wider

        def logits(lab):
            return torch.nn.functional.one_hot(lab, 4).permute(0, 3, 1, 2).float() * 30

        return target, logits(wide), logits(target)

    for half_px in (5, 25):
        target, wide, exact = case(half_px)
        assert float(segmentation_loss(exact, target, boundary_weight=1.0)) < 1e-4
    terms = []
    for half_px in (5, 25):
        target, wide, _ = case(half_px)
        terms.append(float(segmentation_loss(wide, target, boundary_weight=1.0))
                     - float(segmentation_loss(wide, target)))
    assert terms[0] > 0 and terms[1] > 0 and 0.5 < terms[0] / terms[1] < 2.0


class _ReferenceNet(_FakeNet):
    """A 2-channel 'network' calling a pixel RV pool where the phase is darker than the reference (end-diastolic)
    phase and LV pool where it is bright: it shows which phase reached the reference channel."""

    in_channels = 2

    def forward(self, x):  # (B, T, 2, H, W) -> (B, T, 4, H, W)
        zero = torch.zeros_like(x[:, :, 0])
        return torch.stack([zero, 20 * (x[:, :, 0] - 0.5), zero - 10, 40 * (x[:, :, 1] - x[:, :, 0] - 0.2)], 2)


def _two_phase_stack(ed_first: bool) -> np.ndarray:
    """(2 slices, 2 phases, 40, 40): a bright 'LV pool' of 16 px square at ED and 8 px at ES."""
    frames = np.zeros((2, 2, 40, 40), np.float32)
    ed, es = (0, 1) if ed_first else (1, 0)
    frames[:, ed, 12:28, 12:28] = 100.0
    frames[:, es, 16:24, 16:24] = 100.0
    return frames


@pytest.mark.parametrize("ed_first", [True, False])
def test_a_phase_reference_network_sees_each_phase_beside_end_diastole_whichever_is_stored_first(ed_first):
    """ED given first: one pass with phase 0 as reference. ES stored first: the first pass finds the larger LV
    at phase 1, and the stack is segmented again with phase 1 as the reference, so the result is the same."""
    from app.ml.mri_inference import Progress, stack_labels
    from app.tasks import run_task

    frames = _two_phase_stack(ed_first)
    messages = []
    labels, confidence = run_task(stack_labels(_ReferenceNet(), frames, (1.25, 1.25), tta_views=1),
                                  lambda p: messages.append(p.message))
    ed, es = (0, 1) if ed_first else (1, 0)
    assert labels.shape == frames.shape and confidence.shape == (2, 2)
    assert (labels[:, ed] != 3).all()  # ED against itself: nothing darker than the reference
    assert (labels[:, es, 13, 13] == 3).all()  # ES: the pool that emptied since ED
    assert (labels[:, es, 20, 20] == 1).all() and (labels[:, ed, 13, 13] == 1).all()
    assert any("again with phase 2" in m for m in messages) == (not ed_first)
    assert all(isinstance(p, Progress) for p in stack_labels(_ReferenceNet(), frames, (1.25, 1.25), 1,
                                                             cancel=lambda: True))


def test_reference_channels_and_a_two_channel_stem():
    from app.ml.mri_preprocess import reference_channels
    from lab.training.mri_acdc import widen_stem

    cine = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    pair = reference_channels(cine, 2)
    assert pair.shape == (5, 2, 8, 8)
    assert np.array_equal(pair[:, 0], cine) and all(np.array_equal(pair[t, 1], cine[2]) for t in range(5))
    torch.manual_seed(0)
    narrow = MultiLevelConvLSTMNet(4, "none", n_classes=4, context_blocks=1).eval()
    wide = MultiLevelConvLSTMNet(4, "none", n_classes=4, context_blocks=1, in_channels=2).eval()
    wide.load_state_dict(widen_stem(narrow.state_dict(), 2))
    x = torch.rand(1, 2, 2, 16, 16)
    with torch.no_grad():
        assert torch.equal(narrow(x[:, :, 0:1]), wide(x))  # the reference starts unseen


def test_training_crops_with_the_ed_reference():
    from lab.training.mri_acdc_data import AcdcSlices, draw_crop

    images = np.stack([np.stack([np.full((40, 40), 0.2 + s, np.float16), np.full((40, 40), 0.6 + s, np.float16)])
                       for s in range(3)])
    patient = AcdcSlices("p", "NOR", images, np.zeros((3, 2, 40, 40), np.uint8), (20.0, 20.0))
    rng = np.random.default_rng(0)
    for _ in range(20):
        image, _ = draw_crop(patient, rng, 16, 0, channels=2)
        slice_ed = float(image[1, 8, 8])
        assert image.shape == (2, 16, 16) and slice_ed % 1 == pytest.approx(0.2, abs=1e-2)  # channel 1: ED
        assert float(image[0, 8, 8]) - slice_ed in (pytest.approx(0.0, abs=1e-2), pytest.approx(0.4, abs=1e-2))


def test_a_run_slimmed_to_travel_resumes_at_its_step_with_its_weights(tmp_path, monkeypatch, capsys):
    """`mri_acdc_pack resume`: the GPU machine cannot take the ACDC pack and five full checkpoints, so each fold
    travels as float16 weights without the optimiser; the trainer goes on from that step, not from the start."""
    from lab.training import mri_acdc, mri_acdc_folds, mri_acdc_pack

    data, ckpt, pack = tmp_path / "acdc", tmp_path / "ckpt", tmp_path / "pack"
    data.mkdir()
    _fake_acdc(data)
    for module in (mri_acdc, mri_acdc_folds, mri_acdc_pack):
        monkeypatch.setattr(module, "CHECKPOINTS_DIR", ckpt, raising=False)
    small = ["--batch", "2", "--crop", "32", "--jitter", "4", "--base-channels", "4", "--context-blocks", "1",
             "--data", str(data), "--tag", "g", "--fold", "0"]
    assert mri_acdc.main(small + ["--steps", "2"]) == 0
    full = torch.load(ckpt / "mri_acdc_0_g" / "last.pt", weights_only=False)
    [(slim, step)] = mri_acdc_pack.slim_checkpoints(pack, ckpt, "g")
    assert step == 2
    state = torch.load(slim, weights_only=False)
    assert "optimizer" not in state and state["step"] == 2
    assert all(v.dtype == torch.float16 for v in state["model"].values() if v.is_floating_point())
    assert slim.stat().st_size < (ckpt / "mri_acdc_0_g" / "last.pt").stat().st_size / 2
    (ckpt / "mri_acdc_0_g" / "last.pt").unlink()  # on the other machine: only the slim one
    (ckpt / "mri_acdc_0_g" / "last.pt").write_bytes(slim.read_bytes())
    trainer = mri_acdc.Trainer(mri_acdc.build_parser().parse_args(small + ["--steps", "3"]), [])
    assert trainer.step == 2
    key = next(k for k, v in full["model"].items() if v.is_floating_point())
    assert torch.allclose(trainer.net.state_dict()[key], full["model"][key], atol=1e-2)
    assert mri_acdc.main(small + ["--steps", "3"]) == 0
    assert "fold 0: step 3 of 3" in capsys.readouterr().out


def test_the_rv_ef_from_the_experts_slices_leaves_out_a_basal_slice_they_did_not_draw():
    from lab.evaluation.mri_acdc import expert_slices_rv_ef

    expert = np.zeros((2, 3, 20, 20), np.uint8)
    expert[0, 1:, 5:15, 5:15] = 3  # ED: RV on slices 1-2 (100 px each)
    expert[1, 1:, 5:10, 5:15] = 3  # ES: half of it
    ours = expert.copy()
    ours[1, 0, 5:15, 5:15] = 3  # we call the basal slice RV at ES: our whole-stack EF falls to 0
    ef_ours, ef_expert = expert_slices_rv_ef(ours, expert)
    assert ef_expert == pytest.approx(50.0) and ef_ours == pytest.approx(50.0)
    ours[1, 1, 5:15, 5:15] = 3  # a wider ES contour on a slice the expert drew is still counted
    assert expert_slices_rv_ef(ours, expert)[0] == pytest.approx(25.0)


def test_the_cycle_curve_measures_its_jitter_and_where_its_extremes_are():
    from lab.evaluation.mri_sunnybrook import curve_jitter_pct, phase_offset, volume_curve

    phases = np.arange(20)
    smooth = 150.0 + 50.0 * np.cos(2 * np.pi * (phases - 19) / 20)  # ED at phase 19, ES at 9
    assert curve_jitter_pct(smooth) == pytest.approx(1.04, abs=0.02)  # the sinusoid's own curvature
    flicker = smooth + np.where(phases % 2 == 0, 5.0, -5.0)  # +-5 ml from phase to phase: 10 % of the stroke
    assert curve_jitter_pct(flicker) > 3 * curve_jitter_pct(smooth)
    assert np.isnan(curve_jitter_pct(np.full(20, 100.0)))
    assert phase_offset(19, 0, 20) == 1 and phase_offset(int(np.argmin(smooth)), 9, 20) == 0
    labels = np.zeros((2, 3, 4, 4), np.uint8)  # (S, T, H, W)
    labels[:, 1, :2, :2] = 1
    np.testing.assert_allclose(volume_curve(labels, 0.5), [0.0, 4.0, 0.0])
