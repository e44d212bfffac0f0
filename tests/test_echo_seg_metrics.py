"""Segmentation metrics: Dice, Hausdorff (mm), mFIP and large temporal errors."""

from __future__ import annotations

import numpy as np
import pytest

from lab.evaluation import seg_metrics as sm


def _square(shape, r0, r1, c0, c1, label=1):
    out = np.zeros(shape, np.uint8)
    out[r0:r1, c0:c1] = label
    return out


def test_dice_values():
    a = _square((20, 20), 0, 10, 0, 10)
    b = _square((20, 20), 0, 10, 5, 15)
    assert sm.dice(a, a, 1) == 1.0
    assert sm.dice(a, b, 1) == pytest.approx(0.5)
    assert sm.dice(a, b, 2) == 1.0  # both empty


def test_hausdorff_mm_shift_and_spacing():
    a = _square((40, 40), 10, 20, 10, 20)
    b = _square((40, 40), 10, 20, 14, 24)
    assert sm.hausdorff_mm(a, b, 1) == pytest.approx(4.0)
    assert sm.hausdorff_mm(a, b, 1, spacing_mm=(0.5, 2.0)) == pytest.approx(8.0)
    assert sm.hausdorff_mm(a, np.zeros_like(a), 1) == float("inf")
    assert sm.hausdorff_mm(np.zeros_like(a), np.zeros_like(a), 1) == 0.0


def test_mfip_counts_changed_pixels():
    seq = np.stack([_square((10, 10), 0, 5, 0, 5), _square((10, 10), 0, 5, 0, 6), _square((10, 10), 0, 5, 0, 6)])
    assert sm.mfip(seq) == pytest.approx((5 / 100 + 0) / 2)
    assert sm.mfip(seq[:1]) == 0.0


def test_label_reversals_count_blips_not_motion():
    a, b, c = (_square((10, 10), 0, 5, 0, w) for w in (5, 6, 7))
    growing = np.stack([a, b, c])  # the border moves on: every change is motion
    assert sm.mfip(growing) > 0 and sm.label_reversals(growing) == 0.0
    blip = np.stack([a, b, a])  # one column flips for one frame and back
    assert sm.label_reversals(blip) == pytest.approx(5 / 100)
    region = np.zeros((10, 10), bool)
    region[:, :6] = True
    assert sm.label_reversals(blip, region) == pytest.approx(5 / 60)
    assert sm.label_reversals(blip[:2]) == 0.0


def test_large_temporal_errors_against_nearest_annotation():
    ref = np.stack([_square((100, 100), 10, 30, 10, 30)])
    good = np.stack([ref[0], _square((100, 100), 12, 32, 10, 30)])
    jump = np.stack([ref[0], _square((100, 100), 60, 80, 60, 80)])
    assert sm.large_temporal_errors(good, ref, [0], (1.0, 1.0)) == []
    assert sm.large_temporal_errors(jump, ref, [0], (1.0, 1.0)) == [1]
    assert sm.consecutive_jumps(jump, (1.0, 1.0)) == [1]
    assert sm.consecutive_jumps(jump, (0.1, 0.1)) == []  # 57 px is only 5.7 mm here


def test_metric_classes_accumulate():
    a = _square((20, 20), 0, 10, 0, 10)
    b = _square((20, 20), 0, 10, 5, 15)
    d = sm.DiceMetric(labels=(1,))
    d(a, a)
    d(a, b)
    assert d.aggregate()[1] == pytest.approx(0.75)
    h = sm.HausdorffMetric(labels=(1,))
    h(a, b)
    assert h.aggregate()[1] == pytest.approx(5.0)
    t = sm.TemporalMetric()
    t(np.stack([a, a]), [])
    t(np.stack([a, b]), [1])
    out = t.aggregate()
    assert out["lte"] == 1 and out["n"] == 2 and out["mfip"] > 0 and out["reversals"] == 0.0
