"""Segmentation losses: Dice loss and the sign of the temporal consistency loss."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lab.training.losses import dice_loss, masked_cross_entropy, temporal_loss  # noqa: E402


def _onehot(labels, k=4):
    return torch.nn.functional.one_hot(labels, k).permute(0, 3, 1, 2).float()


def test_dice_loss_perfect_and_wrong():
    labels = torch.zeros(2, 16, 16, dtype=torch.long)
    labels[:, 4:10, 4:10] = 1
    labels[:, 10:12, 4:10] = 2
    labels[:, 12:15, 4:10] = 3
    assert float(dice_loss(_onehot(labels), labels)) < 1e-3
    wrong = torch.roll(labels, 8, dims=2)
    assert float(dice_loss(_onehot(wrong), labels)) > 0.5


def test_dice_loss_only_where_labelled():
    labels = torch.zeros(2, 8, 8, dtype=torch.long)
    labels[:, 2:6, 2:6] = 1
    probs = _onehot(labels)
    probs[1] = _onehot(torch.zeros(1, 8, 8, dtype=torch.long))[0]  # frame 1 wrong but unlabelled
    mask = torch.tensor([True, False])
    assert float(dice_loss(probs, labels, mask)) < 1e-3
    assert float(dice_loss(probs, labels, torch.tensor([False, False]))) == 0.0
    assert float(masked_cross_entropy(torch.log(probs + 1e-4), labels, mask)) < 0.01


def test_temporal_loss_rewards_consistency():
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[:, 4:12, 4:12] = 1
    steady = _onehot(labels).repeat(6, 1, 1, 1)[None]  # (1, T, K, H, W)
    flicker = steady.clone()
    flicker[0, 1::2] = _onehot(torch.roll(labels, 5, dims=2))[0]
    consistent, jumpy = float(temporal_loss(steady)), float(temporal_loss(flicker))
    assert consistent == pytest.approx(0.0, abs=1e-6)
    assert jumpy > 0.2
    # changes smaller than c are free: one pixel of 64 changes Dice by < 1 %
    tiny = steady.clone()
    tiny[0, 3, :, 4, 4] = torch.tensor([1.0, 0, 0, 0])
    assert float(temporal_loss(tiny, c=0.05)) == pytest.approx(0.0, abs=1e-6)


def test_temporal_loss_gradient_pulls_frames_together():
    logits = torch.randn(1, 4, 4, 8, 8, requires_grad=True)
    loss = temporal_loss(torch.softmax(logits, 2))
    loss.backward()
    with torch.no_grad():
        stepped = logits - 50.0 * logits.grad
    assert float(temporal_loss(torch.softmax(stepped, 2))) < float(loss.detach())


def test_motion_aware_margin_allows_the_true_motion_but_not_flicker():
    import torch
    import torch.nn.functional as F

    from lab.training.losses import temporal_loss

    labels = torch.zeros(1, 3, 16, 16, dtype=torch.long)
    labels[0, 0, 4:12, 4:12] = 1  # a cavity shrinking by a ring each frame: real motion
    labels[0, 1, 5:11, 5:11] = 1
    labels[0, 2, 6:10, 6:10] = 1
    exact = F.one_hot(labels, 4).permute(0, 1, 4, 2, 3).float()
    labelled = torch.ones(1, 3, dtype=torch.bool)
    assert float(temporal_loss(exact)) > 0.05  # the paper's fixed margin punishes the motion itself
    assert float(temporal_loss(exact, labels=labels, labelled=labelled)) < 1e-6
    flicker = exact.clone()
    flicker[0, 1] = F.one_hot(torch.zeros(16, 16, dtype=torch.long), 4).permute(2, 0, 1).float()  # LV vanishes
    assert float(temporal_loss(flicker, labels=labels, labelled=labelled)) > 0.1
    unlabelled = torch.zeros(1, 3, dtype=torch.bool)  # no labels: the fixed margin applies
    assert float(temporal_loss(exact, labels=labels, labelled=unlabelled)) == float(temporal_loss(exact))
