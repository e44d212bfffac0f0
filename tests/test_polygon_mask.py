"""contour_to_mask (app/analysis/polylines.py) fills exactly the pixels skimage.draw.polygon2mask fills: inside,
on an edge or on a vertex, for star-shaped, self-crossing, pixel-grid and half-pixel-grid polygons, partly
outside the image too (the outlines of marching squares sit on the half-pixel grid, with pixel centres on
their edges)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import polygon2mask

from app.analysis.polylines import contour_to_mask


def _polygon(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(3, 60))
    if kind == "star":
        angle, radius = np.sort(rng.uniform(0, 2 * np.pi, n)), rng.uniform(2, 30, n)
        return np.c_[40 + radius * np.cos(angle), 35 + radius * np.sin(angle)]
    if kind == "half-pixel grid":
        return np.round(rng.uniform(-5, 80, (n, 2)) * 2) / 2
    if kind == "self-crossing":
        return rng.uniform(-10, 90, (n, 2))
    return rng.integers(-10, 90, (n, 2)).astype(float)  # pixel grid


@pytest.mark.parametrize("kind", ["star", "half-pixel grid", "self-crossing", "pixel grid"])
def test_same_pixels_as_skimage(kind):
    rng = np.random.default_rng(sum(map(ord, kind)))
    for _ in range(300):
        points = _polygon(kind, rng)
        shape = (int(rng.integers(5, 80)), int(rng.integers(5, 80)))
        expected = polygon2mask(shape, points[:, ::-1])
        assert np.array_equal(contour_to_mask(points, shape), expected), (points.tolist(), shape)


def test_a_traced_outline_and_an_open_border_closed_by_its_chord():
    from app.analysis.masks import outer_contour

    yy, xx = np.mgrid[:120, :100]
    blob = ((xx - 50) / 30.0) ** 2 + ((yy - 60) / 45.0) ** 2 <= 1.0
    outline = outer_contour(blob)
    assert np.array_equal(contour_to_mask(outline, blob.shape), polygon2mask(blob.shape, outline[:, ::-1]))
    assert np.array_equal(contour_to_mask(outline, blob.shape), blob)  # the 0.5-level outline encloses the blob
    open_border = outline[: len(outline) // 2]
    assert np.array_equal(contour_to_mask(open_border, blob.shape), polygon2mask(blob.shape, open_border[:, ::-1]))


def test_a_polygon_outside_the_image_fills_nothing():
    square = np.array([[-20.0, -20.0], [-5.0, -20.0], [-5.0, -5.0], [-20.0, -5.0]])
    assert not contour_to_mask(square, (30, 30)).any()
    assert not contour_to_mask(square + 100.0, (30, 30)).any()
