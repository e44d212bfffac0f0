import numpy as np
import pytest

from lab.evaluation.contour_metrics import average_perpendicular_distance_mm


def disc(radius, shape=(101, 101), centre=(50, 50)):
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius**2


def test_apd_of_concentric_discs_is_the_radius_difference():
    apd = average_perpendicular_distance_mm(disc(20), disc(25), spacing_mm=(1.0, 1.0))
    assert apd == pytest.approx(5.0, abs=0.7)


def test_apd_scales_with_spacing_and_is_zero_for_identical_masks():
    assert average_perpendicular_distance_mm(disc(20), disc(20)) == 0.0
    one = average_perpendicular_distance_mm(disc(20), disc(24), spacing_mm=(1.0, 1.0))
    two = average_perpendicular_distance_mm(disc(20), disc(24), spacing_mm=(2.0, 2.0))
    assert two == pytest.approx(2 * one, rel=1e-6)


def test_apd_with_one_empty_mask_is_infinite():
    assert average_perpendicular_distance_mm(disc(10), np.zeros((101, 101), bool)) == float("inf")
