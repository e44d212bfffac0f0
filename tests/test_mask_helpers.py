"""The mask helpers the contour tracing runs on every frame (app/analysis/masks.py) give what the scipy calls they
replace give: the components ndimage.label finds (the same largest one, ties included), the 3 x 3 dilation read at
given pixels, the nearest pixel as map_coordinates(order=0) reads it, the same outlines and centerlines on a
traced clip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app.analysis.masks import components, largest_component, near_pixels, padded_by_one, sample_nearest

EIGHT = np.ones((3, 3), bool)


def _random_masks(seed: int, n: int = 300) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.random((int(rng.integers(4, 50)), int(rng.integers(4, 50)))) < p for p in rng.uniform(0.1, 0.9, n)]


def test_padded_by_one_is_np_pad_with_zeros():
    rng = np.random.default_rng(3)
    for image in (*_random_masks(4, 20), (rng.random((7, 9)) * 255).astype(np.uint8), np.ones((1, 1), bool)):
        padded = padded_by_one(image)
        assert padded.dtype == image.dtype and np.array_equal(padded, np.pad(image, 1))


@pytest.mark.parametrize("eight", [True, False])
def test_components_are_ndimage_components_and_the_largest_is_the_same(eight):
    for mask in _random_masks(1 if eight else 2):
        expected, n = ndimage.label(mask, structure=EIGHT if eight else None)
        lab, sizes = components(mask, eight=eight)
        assert sizes.size == n and sorted(sizes) == sorted(np.bincount(expected.ravel())[1:])
        if n:
            biggest_expected = expected == 1 + int(np.argmax(np.bincount(expected.ravel())[1:]))
            assert np.array_equal(lab == 1 + int(np.argmax(sizes)), biggest_expected)


def test_components_of_the_largest_size_keep_ndimages_first():
    """OpenCV numbers these three pixels in another order than ndimage's raster order: the kept one is ndimage's."""
    mask = np.array([[0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0]], bool)
    keep, dropped = largest_component(mask)
    assert np.argwhere(keep).tolist() == [[0, 5]] and dropped == pytest.approx(2.0)


def test_near_pixels_reads_the_3x3_dilation():
    rng = np.random.default_rng(3)
    for mask in _random_masks(4, 100):
        rows = rng.integers(0, mask.shape[0], 40)
        cols = rng.integers(0, mask.shape[1], 40)
        assert np.array_equal(near_pixels(mask, rows, cols), ndimage.binary_dilation(mask, EIGHT)[rows, cols])


def test_sample_nearest_reads_the_mask_as_map_coordinates_order_0():
    rng = np.random.default_rng(3)
    mask = rng.random((40, 50)) < 0.5
    rows, cols = rng.uniform(-3, 43, (300, 70)), rng.uniform(-3, 53, (300, 70))
    rows[:50] = np.round(rows[:50] * 2) / 2  # half pixels (ties), whole pixels and the edges' own centres
    cols[50:100] = np.round(cols[50:100])
    rows[100, :4], cols[100, :4] = [0, 39, -0.0, 39.0], [0, 49, 49.0, -1e-9]
    expected = ndimage.map_coordinates(mask.astype(np.uint8), [rows, cols], order=0, mode="constant").astype(bool)
    assert np.array_equal(sample_nearest(mask, rows, cols), expected)
