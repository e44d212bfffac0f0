"""Sunnybrook's expert contours land on their images (lab/data/sunnybrook.py: the files count pixels from 1).

Checked on the images alone, without any network: the translation of the endocardial contours that puts them on
the strongest image edges (mean gradient magnitude sampled along the contours) is within half a pixel of none.
Read as the files have them (from 1), it is about one pixel up and left in every case.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from lab.data import sunnybrook

SHIFTS_PX = np.arange(-1.5, 1.501, 0.25)


def _dense_xy(points_xy: np.ndarray, step_px: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    closed = np.vstack([points_xy, points_xy[:1]])
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))])
    s = np.arange(0.0, arc[-1], step_px)
    return np.interp(s, arc, closed[:, 0]), np.interp(s, arc, closed[:, 1])


def _edge_magnitude(image: np.ndarray) -> np.ndarray:
    unit = image.astype(np.float64) / max(float(np.percentile(image, 99)), 1e-6)
    return np.hypot(ndimage.sobel(unit, 0), ndimage.sobel(unit, 1))


def edge_fitting_shift(images) -> tuple[float, float]:
    """(rows, columns) translation of all the images' endocardial contours with the strongest mean edge."""
    score = np.zeros((len(SHIFTS_PX), len(SHIFTS_PX)))
    for im in images:
        edges = _edge_magnitude(im.image)
        x, y = _dense_xy(im.endo_px)
        for i, dy in enumerate(SHIFTS_PX):
            for j, dx in enumerate(SHIFTS_PX):
                score[i, j] += ndimage.map_coordinates(edges, [y + dy, x + dx], order=1).mean()
    i, j = np.unravel_index(int(score.argmax()), score.shape)
    return float(SHIFTS_PX[i]), float(SHIFTS_PX[j])


def test_contour_files_count_pixels_from_one(tmp_path):
    path = tmp_path / "IM-0001-0007-icontour-manual.txt"
    path.write_text("11.00 21.50\n12.50 21.00\n12.00 23.00\n")
    np.testing.assert_allclose(sunnybrook.read_contour(path), [[10.0, 20.5], [11.5, 20.0], [11.0, 22.0]])
    path.write_text("1 2 3\n4 5 6\n7 8 9\n")
    with pytest.raises(ValueError):
        sunnybrook.read_contour(path)


@pytest.mark.shared
def test_expert_endocardia_sit_on_their_image_edges(shared_data):
    root = shared_data / "sunnybrook"
    images = [im for case in sunnybrook.patients(root) for im in sunnybrook.contoured_images(root, case)]
    assert len(images) >= 50
    dy, dx = edge_fitting_shift(images)
    assert abs(dy) <= 0.5 and abs(dx) <= 0.5, (dy, dx)
