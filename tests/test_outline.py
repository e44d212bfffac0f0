"""masks.outline_rc: the marching-squares outline of a binary mask, point for point (start and direction
included) the longest contour skimage.measure.find_contours gives, on random masks and on traced hearts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage import measure

from app.analysis.masks import outer_contour, outline_rc
from app.analysis.polylines import polygon_area_px2


def _skimage(mask: np.ndarray) -> np.ndarray | None:
    found = measure.find_contours(np.pad(mask, 1).astype(np.float64), 0.5)
    return None if not found else max(found, key=len) - 1.0


def _masks(n: int, seed: int):
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(1, 28, 2))
        noise = rng.random((h, w))
        if i % 3 == 0:  # speckle: many contours, saddles, holes, equal lengths
            yield noise < rng.uniform(0.2, 0.8)
        elif i % 3 == 1:
            yield ndimage.binary_opening(noise < 0.6) | (rng.random((h, w)) < 0.05)
        else:  # blobs
            yield ndimage.gaussian_filter(noise, 2.0) > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_outline_is_skimages_longest_contour_point_for_point(seed):
    for mask in _masks(600, seed):
        ours, theirs = outline_rc(mask), _skimage(mask)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert np.array_equal(ours, theirs)


def test_saddles_and_ties_follow_skimage():
    diagonal = np.array([[1, 0], [0, 1]], bool)  # two pixels touching at a corner: two contours of equal length
    anti = np.array([[0, 1], [1, 0]], bool)
    ring = np.ones((5, 5), bool)
    ring[2, 2] = False  # a hole: the outer contour is the longer one
    for mask in (diagonal, anti, ring, np.ones((1, 1), bool)):
        assert np.array_equal(outline_rc(mask), _skimage(mask))
    assert outline_rc(np.zeros((4, 4), bool)) is None


def test_outer_contour_of_a_disc():
    yy, xx = np.mgrid[:60, :80]
    disc = (yy - 30) ** 2 + (xx - 45) ** 2 <= 15 ** 2
    pts = outer_contour(disc)
    r = np.hypot(pts[:, 0] - 45, pts[:, 1] - 30)
    assert np.all(np.abs(r - 15) < 1.0)
    area = polygon_area_px2(pts, signed=True)
    assert area > 0 and abs(area - disc.sum()) < 0.05 * disc.sum()  # counter-clockwise in the image, the disc's area
