"""The scale-balanced boundary loss and the clinical-export augmentation of `train echo-seg` (issue 30)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lab.training.augment import augment, clinical  # noqa: E402
from lab.training.losses import boundary_distances, boundary_loss, dice_loss  # noqa: E402


def _disc(radius: float, size: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) <= radius ** 2).astype(np.int64)


def _loss(truth: np.ndarray, pred: np.ndarray, fn=boundary_loss) -> float:
    """Loss of a hard two-class prediction (background / class 1) against the truth."""
    probs = torch.from_numpy(np.stack([1 - pred, pred])[None].astype(np.float32))
    y = torch.from_numpy(truth[None])
    if fn is dice_loss:
        return float(dice_loss(probs, y))
    dist, perimeter = boundary_distances(truth[None], (1,))
    return float(boundary_loss(probs, y, torch.from_numpy(dist), torch.from_numpy(perimeter), (1,)))


def test_zero_for_the_truth_and_growing_with_the_displacement():
    truth = _disc(20)
    assert _loss(truth, truth) == 0.0
    costs = [_loss(truth, _disc(20 + d)) for d in (1, 2, 4)]
    assert 0 < costs[0] < costs[1] < costs[2]
    assert _loss(truth, _disc(16)) == pytest.approx(_loss(truth, _disc(24)), rel=0.35)  # in and out alike


@pytest.mark.parametrize("d", [1, 2, 3])
def test_a_small_cavity_drawn_d_pixels_too_large_costs_as_much_as_a_large_one(d):
    """Scale balance: the same boundary displacement costs about the same at ES (r 12 px) and ED (r 36 px)
    (within 20 %: an outer ring is longer than the contour it grows from, more so on a small disc), where a
    pixel-summed error (the area drawn too much) is three times smaller for the small cavity."""
    small, large = _disc(12), _disc(36)
    cost_small, cost_large = _loss(small, _disc(12 + d)), _loss(large, _disc(36 + d))
    assert 0.95 < cost_small / cost_large < 1.2
    extra_small, extra_large = (_disc(12 + d) - small).sum(), (_disc(36 + d) - large).sum()
    assert extra_small / extra_large < 0.4


def test_soft_probabilities_have_a_gradient_and_absent_classes_cost_nothing():
    truth = _disc(15)[None]
    logits = torch.zeros((1, 2, 128, 128), requires_grad=True)
    dist, perimeter = boundary_distances(truth, (1,))
    loss = boundary_loss(torch.softmax(logits, 1), torch.from_numpy(truth), torch.from_numpy(dist),
                         torch.from_numpy(perimeter), (1,))
    loss.backward()
    assert loss.item() > 0 and logits.grad.abs().sum() > 0
    empty = np.zeros((1, 128, 128), np.int64)
    dist, perimeter = boundary_distances(empty, (1,))
    assert (
        perimeter[0, 0] == 0
        and float(
            boundary_loss(
                torch.softmax(logits.detach(), 1),
                torch.from_numpy(empty),
                torch.from_numpy(dist),
                torch.from_numpy(perimeter),
                (1,),
            )
        )
        == 0.0
    )


def test_clinical_augmentation_keeps_shape_range_and_the_labels_geometry():
    rng = np.random.default_rng(0)
    labels = np.repeat(_disc(20, 64)[None].astype(np.uint8), 3, axis=0)
    frames = np.where(labels == 1, 0.1, 0.6).astype(np.float32) + rng.normal(0, 0.05, labels.shape).astype(np.float32)
    frames = np.clip(frames, 0, 1)
    for _ in range(6):
        f, lb = clinical(frames, labels, rng)
        assert f.shape == frames.shape and lb.shape == labels.shape and f.dtype == np.float32
        assert 0.0 <= f.min() and f.max() <= 1.0 and set(np.unique(lb)) <= {0, 1}
        # the image still shows the cavity where the labels put it (dark inside, bright around)
        assert f[lb == 1].mean() < f[(lb == 0) & (f > 0)].mean()
    a, b = (augment(frames, labels, np.random.default_rng(5), clinical_p=1.0) for _ in range(2))
    np.testing.assert_array_equal(a[0], b[0])  # deterministic for a seed


def test_relative_area_loss_weighs_a_small_cavity_as_a_large_one():
    """A 2-px margin around a systolic-sized cavity costs more than around a diastolic one (as its volume error
    does); an in-and-out boundary shift of equal area costs nothing; an absent class is left out."""
    from lab.training.losses import relative_area_loss

    def loss(truth, pred):
        probs = torch.from_numpy(np.stack([1 - pred, pred])[None].astype(np.float32))
        return float(relative_area_loss(probs, torch.from_numpy(truth[None]), (1,)))

    small, large = _disc(10), _disc(30)
    assert loss(small, small) == pytest.approx(0.0) and loss(large, large) == pytest.approx(0.0)
    assert loss(small, _disc(12)) == pytest.approx(0.44, abs=0.05)  # area (12/10)^2 - 1
    assert loss(small, _disc(12)) > 2 * loss(large, _disc(32))
    shifted = np.roll(large, 3, axis=1)  # same area, moved: Dice drops, the volume does not
    assert loss(large, shifted) == pytest.approx(0.0, abs=1e-6)
    assert loss(np.zeros_like(small), small) == 0.0
