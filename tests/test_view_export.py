"""The view classifier's clinical-export augmentation (lab/training/view_export.py)."""

from __future__ import annotations

import cv2
import numpy as np

from lab.training.view_data import fan_mask
from lab.training.view_export import clinical_view_export, square_window


def _fan_input(size_px: int = 96, top_row: int = 6) -> np.ndarray:
    """A whole fan, as a CAMUS input shows it: apex at the top centre, edges and arc inside the square."""
    x = np.zeros((size_px, size_px), np.float32)
    fan = fan_mask((size_px - top_row, size_px), 80.0)
    x[top_row:][fan] = 0.6
    return x


def test_the_square_window_starts_at_the_apex_and_cuts_the_fan():
    x = _fan_input()
    window = square_window(x, 0.5, 0.0)
    assert window.shape == (48, 48)
    assert window[0].max() > 0 and window[0, 0] == 0  # the apex row is the top edge, its corners outside the fan
    assert (window[-1] > 0).all()  # the fan's arc is cut: its last row is image from side to side
    shifted = square_window(x, 0.5, 0.1)
    assert np.array_equal(shifted[:, :-10], window[:, 10:])  # moved sideways by 0.1 x 96 px, black beyond
    assert square_window(np.zeros((96, 96), np.float32), 0.5, 0.0).shape == (48, 48)


def test_an_export_fills_the_square_with_a_cut_fan_at_the_inputs_size():
    x = _fan_input()
    rng = np.random.default_rng(3)
    outs = [clinical_view_export(x, rng) for _ in range(20)]
    for out in outs:
        assert out.shape == x.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert out[0].max() > 0.3 and out[:, 0].max() > 0.3  # the content crop: image on the top and side edges
    # a whole fan leaves its bottom corners black; most exports cut the fan's far field and sides, so that image
    # reaches both bottom corners
    assert x[-1, 0] == 0 and x[-1, -1] == 0
    assert sum(min(o[-1, 0], o[-1, -1]) > 0.3 for o in outs) >= 10
    # smaller squares and JPEG lose detail: the exports are not the input resized
    full = cv2.resize(square_window(x, 1.0, 0.0), x.shape)
    assert any(not np.allclose(o, full, atol=0.02) for o in outs)
