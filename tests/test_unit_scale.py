"""Recording.frames_unit's intensity window (app/data/recording.py): the 1st and 99.5th percentiles of the clip
mapped to 0..1, through a lookup table for integer data (OpenCV's for uint8 video, which starts at any grey)."""

from __future__ import annotations

import numpy as np
import pytest

from app.data.recording import unit_scale


def _expected(data: np.ndarray, part: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(data.astype(np.float64), [1.0, 99.5])
    return np.clip((part.astype(np.float64) - lo) / (hi - lo), 0.0, 1.0)


@pytest.mark.parametrize("dtype, low, high", [(np.uint8, 0, 255), (np.uint8, 37, 201), (np.uint16, 90, 3100)])
def test_frames_crops_and_single_frames_get_the_clips_window(dtype, low, high):
    rng = np.random.default_rng(3)
    clip = rng.integers(low, high + 1, (5, 41, 57)).astype(dtype)
    scale = unit_scale(clip)
    assert (scale.lo, scale.hi) == pytest.approx(tuple(np.percentile(clip.astype(np.float64), [1.0, 99.5])))
    for part in (clip, clip[2], clip[1:4, 5:30, 7:], clip[0, 3:9, 11]):
        got = scale.apply(part)
        assert got.dtype == np.float32 and got.shape == part.shape
        assert np.allclose(got, _expected(clip, part), atol=1e-6)


def test_a_uniform_uint8_clip_is_black_not_a_division_by_zero():
    clip = np.full((3, 8, 8), 120, np.uint8)
    assert np.array_equal(unit_scale(clip).apply(clip), np.zeros(clip.shape, np.float32))
