"""Short-axis label decision: nested probability thresholds, tuned on held-out predictions only."""

from __future__ import annotations

import numpy as np

from lab.training.mri_data import NOT_POOL, expert_labels, grid_size, points_to_grid, to_grid
from lab.training.mri_decision import ARGMAX, Decision, decide, tune


def rings(size=96):
    """Truth (H, W): pool r < 20, myocardium 20-26, background beyond; and under-confident probabilities:
    the outer pool rim (17-20) and the outer wall (23-26) lean to the next class out, as a net does on a
    patient it has not seen."""
    rr, cc = np.ogrid[:size, :size]
    r = np.hypot(rr - size / 2, cc - size / 2)
    truth = np.where(r < 20, 1, np.where(r < 26, 2, 0)).astype(np.uint8)
    probs = np.zeros((3, size, size), np.float32)
    for (lo, hi), p in {(0, 17): (0.02, 0.9, 0.08), (17, 20): (0.1, 0.35, 0.55), (20, 23): (0.2, 0.05, 0.75),
                        (23, 26): (0.55, 0.0, 0.45), (26, 99): (0.9, 0.0, 0.1)}.items():
        probs[:, (r >= lo) & (r < hi)] = np.array(p, np.float32)[:, None]
    return truth[None], probs[None]


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_argmax_under_segments_and_thresholds_recover_the_truth():
    truth, probs = rings()
    plain = decide(probs, ARGMAX)
    assert (plain == 1).sum() < 0.8 * (truth == 1).sum()
    fixed = decide(probs, Decision(0.3, 0.4))
    assert dice(fixed[0] == 1, truth[0] == 1) > 0.97
    assert dice(fixed[0] == 2, truth[0] == 2) > 0.95


def test_tune_finds_thresholds_inside_the_ambiguous_band():
    truth, probs = rings()
    best = tune([(probs, truth)])
    assert 0.0 < best.pool_probability < 0.35
    assert 0.1 < best.heart_probability < 0.45
    assert dice(decide(probs, best)[0] == 2, truth[0] == 2) > 0.95


def test_not_pool_phases_score_the_pool_only():
    truth, probs = rings()
    endo_only = np.where(truth == 1, 1, NOT_POOL).astype(np.uint8)
    best = tune([(probs, endo_only)])
    assert best.pool_probability < 0.35  # the pool still drives it; the wall threshold is free


def test_expert_polygon_is_filled_on_the_grid_with_its_own_area():
    from types import SimpleNamespace

    theta = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    endo = np.stack([100 + 20 * np.cos(theta), 90 + 20 * np.sin(theta)], axis=1)  # (x, y) source px
    epi = np.stack([100 + 26 * np.cos(theta), 90 + 26 * np.sin(theta)], axis=1)
    im = SimpleNamespace(image=np.zeros((200, 220), np.float32), endo_px=endo, epi_px=epi)
    spacing = (1.37, 1.37)
    hw = grid_size(im.image.shape, spacing)
    labels = expert_labels(im, hw)
    area = 0.5 * np.abs(np.sum(endo[:, 0] * np.roll(endo[:, 1], 1) - endo[:, 1] * np.roll(endo[:, 0], 1)))
    assert abs((labels == 1).sum() - area * 1.37**2) < 0.01 * area * 1.37**2
    rows, cols = np.nonzero(labels == 1)
    centre = points_to_grid(np.array([[100.0, 90.0]]), im.image.shape, hw)[0]
    assert abs(cols.mean() - centre[0]) < 0.1 and abs(rows.mean() - centre[1]) < 0.1


def test_label_resampling_keeps_pixel_centres_aligned_with_the_image():
    src = np.zeros((100, 100), np.uint8)
    src[40:60, 30:50] = 1  # centre (row 49.5, col 39.5) in source pixels
    labels = to_grid(src, (1.37, 1.37), nearest=True)
    rows, cols = np.nonzero(labels == 1)
    centre = points_to_grid(np.array([[39.5, 49.5]]), src.shape, labels.shape)[0]  # as the image resampling
    assert abs(cols.mean() - centre[0]) < 0.3 and abs(rows.mean() - centre[1]) < 0.3
