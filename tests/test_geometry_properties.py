"""Property tests (hypothesis) of the geometry behind the clinical numbers: disk volumes against closed
forms, EF under a change of spacing scale, strain under rotation and scale, contours of synthetic shapes.

Examples are few (the whole suite must stay fast) and have no deadline (the CI machine may be loaded).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from app.analysis.contours import extract_contours, polygon_area_px2
from app.analysis.strain import strain_from_tracks
from app.analysis.volumes import N_DISKS, contour_disks, ejection_fraction_pct, method_of_disks
from tests.analysis_synth import half_ellipse_lv, half_ellipse_outline

FAST = settings(max_examples=25, deadline=None)
SLOW = settings(max_examples=10, deadline=None)  # examples that rasterise and trace a mask

angles = st.floats(-np.pi, np.pi)
shifts = st.tuples(st.floats(-200, 200), st.floats(-200, 200))


def rigid(points: np.ndarray, angle: float, shift) -> np.ndarray:
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ rot.T + np.asarray(shift)


# -- disk volumes -----------------------------------------------------------------------------------
@FAST
@given(a=st.floats(40, 110), b=st.floats(10, 35), angle=angles, shift=shifts)
def test_disks_of_a_half_ellipsoid_match_its_closed_form(a, b, angle, shift):
    """2/3 pi a b^2; 20 midpoint disks overestimate it by exactly 1/(8 n^2) = 0.031 % (the polygon of 800
    points loses < 0.001 %): tolerance 0.05 %."""
    base, apex = np.asarray(shift, float), rigid(np.array([[0.0, -a]]), angle, shift)[0]
    d = method_of_disks(rigid(half_ellipse_outline(a, b, 800), angle, shift), base, apex)
    assert d.length_mm == pytest.approx(a, rel=1e-9)
    expected = 2.0 / 3.0 * np.pi * a * b * b / 1000.0 * (1.0 + 1.0 / (8 * N_DISKS**2))
    assert d.volume_ml == pytest.approx(expected, rel=5e-4)


@FAST
@given(r_base=st.floats(5, 40), r_top=st.floats(0, 40), height=st.floats(20, 120), angle=angles, shift=shifts)
def test_disks_of_a_truncated_cone_match_its_closed_form(r_base, r_top, height, angle, shift):
    """pi H / 3 (R1^2 + R1 R2 + R2^2); the midpoint disks of a linearly varying diameter miss exactly
    pi h^2 (R1 - R2)^2 / (12 H) (h = H / 20): checked to 1e-9, and within 0.3 % of the frustum."""
    outline = np.array([[-r_base, 0.0], [-r_top, -height], [r_top, -height], [r_base, 0.0]])
    base, apex = np.asarray(shift, float), rigid(np.array([[0.0, -height]]), angle, shift)[0]
    d = method_of_disks(rigid(outline, angle, shift), base, apex)
    frustum_mm3 = np.pi * height / 3.0 * (r_base**2 + r_base * r_top + r_top**2)
    h = height / N_DISKS
    midpoint_mm3 = frustum_mm3 - np.pi * h * h * (r_base - r_top) ** 2 / (12.0 * height)
    assert d.volume_ml == pytest.approx(midpoint_mm3 / 1000.0, rel=1e-9, abs=1e-12)
    assert d.volume_ml == pytest.approx(frustum_mm3 / 1000.0, rel=3e-3)
    np.testing.assert_allclose(d.diameters_mm, 2 * (r_base + (r_top - r_base) * (np.arange(N_DISKS) + 0.5) / N_DISKS),
                               rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def ed_es_contours():
    return (extract_contours(half_ellipse_lv(a_px=110, b_px=30)),
            extract_contours(half_ellipse_lv(a_px=92, b_px=23)))


@FAST
@given(row_mm=st.floats(0.1, 1.5), col_mm=st.floats(0.1, 1.5), scale=st.floats(0.2, 5.0))
def test_ef_does_not_change_when_both_spacings_scale_together(ed_es_contours, row_mm, col_mm, scale):
    """Volumes scale with scale^3, EF not at all (1e-9)."""
    ed, es = ed_es_contours
    v = [contour_disks(c, (row_mm, col_mm), with_chords=False).volume_ml for c in (ed, es)]
    w = [contour_disks(c, (row_mm * scale, col_mm * scale), with_chords=False).volume_ml for c in (ed, es)]
    np.testing.assert_allclose(w, np.array(v) * scale**3, rtol=1e-9)
    assert ejection_fraction_pct(*w) == pytest.approx(ejection_fraction_pct(*v), abs=1e-9)


# -- strain -----------------------------------------------------------------------------------------
def wall_tracks_mm(a_mm: float, b_mm: float, shortening: float, widening: float, n_frames: int = 20) -> np.ndarray:
    """(T, 120, 2) centerlines (mm) of a half-ellipse wall that shortens along y and widens along x."""
    phase = np.sin(np.linspace(0, np.pi, n_frames))
    scale = np.stack([1.0 + widening * phase, 1.0 - shortening * phase], axis=1)
    return half_ellipse_outline(a_mm, b_mm, 120)[None] * scale[:, None, :]


@FAST
@given(a=st.floats(50, 100), b=st.floats(15, 35), shortening=st.floats(0.0, 0.3), widening=st.floats(-0.1, 0.1),
       angle=angles, shift=shifts, scale=st.floats(0.3, 3.0),
       spacing=st.tuples(st.floats(0.1, 1.0), st.floats(0.1, 1.0)))
def test_strain_does_not_change_under_rotation_scale_and_pixel_spacing(a, b, shortening, widening, angle, shift,
                                                                       scale, spacing):
    """The same wall motion rotated, shifted and scaled in mm, then drawn on any (row, col) pixel grid,
    gives the same GLS and segmental strain (1e-7 points)."""
    tracks = wall_tracks_mm(a, b, shortening, widening)
    moved = rigid(tracks * scale, angle, shift)
    zeros = np.zeros(tracks.shape[:2])
    ref = strain_from_tracks(tracks, (1.0, 1.0), [0], zeros)
    row_mm, col_mm = spacing
    res = strain_from_tracks(moved / np.array([col_mm, row_mm]), spacing, [0], zeros)
    np.testing.assert_allclose(res.strain_curve_pct, ref.strain_curve_pct, atol=1e-7)
    np.testing.assert_allclose(res.segmental_strain_pct, ref.segmental_strain_pct, atol=1e-7)
    assert res.gls_pct == pytest.approx(ref.gls_pct, abs=1e-7)
    assert ref.gls_pct <= 0.0


# -- contours ---------------------------------------------------------------------------------------
@SLOW
@given(a_px=st.floats(50, 120), b_px=st.floats(15, 45), cx=st.floats(80, 120))
def test_contours_of_a_half_ellipse_mask(a_px, b_px, cx):
    """The traced open endocardium closed by its annulus chord encloses the mask's area (measured within
    0.055 x perimeter px^2 on 15 random shapes: tolerance 0.15 x perimeter); the apex is the ellipse's tip
    (measured 1.34 px: tolerance 2, wider along the row for a blunt tip) and the annulus points are the base
    corners (measured 0.66 px: 1.0)."""
    base_row = 140
    labels = half_ellipse_lv(a_px=a_px, b_px=b_px, cx=cx, base_row=base_row)
    c = extract_contours(labels)
    assert c is not None and not c.closed and c.issues == ()
    cavity_px2 = float((labels == 1).sum())
    perimeter_px = np.pi * (a_px + b_px) + 2 * b_px
    assert polygon_area_px2(c.endo_px) == pytest.approx(cavity_px2, abs=0.15 * perimeter_px)
    apex_row = base_row + 0.5 - a_px
    # the tip's row within 2 px; along the row a blunt tip is flat: within half a pixel of its height the ellipse
    # runs b / sqrt(a) px either side (a = 50.5, b = 38: 5.3 px; the apex found 2.5 px off its middle)
    assert abs(c.apex_px[1] - apex_row) <= 2.0
    assert abs(c.apex_px[0] - cx) <= max(2.0, b_px / np.sqrt(a_px))
    (left_x, left_y), (right_x, right_y) = c.annulus_px
    assert left_x == pytest.approx(cx - b_px, abs=1.0) and right_x == pytest.approx(cx + b_px, abs=1.0)
    assert abs(left_y - base_row) <= 1.0 and abs(right_y - base_row) <= 1.0


@SLOW
@given(r_in=st.floats(8, 40), wall=st.floats(4, 15), centre=st.tuples(st.floats(55, 65), st.floats(55, 65)))
def test_short_axis_contours_of_a_ring(r_in, wall, centre):
    """A myocardial ring around a disc: closed endo and epi polygons whose areas are pi r^2 (within the
    within 0.1 x pi r px^2 on random rings, 0.32 x pi r at an integer radius and centre, where the mask
    takes the lattice points on the circle that the 0.5-level outline cuts: tolerance 0.4 x pi r, i.e. a
    0.2 px band around the circle) and whose vertex means are the centre (measured
    0.25 px: tolerance 0.4)."""
    r_out = r_in + wall
    rows, cols = np.mgrid[0:130, 0:130].astype(float)
    dist = np.hypot(cols - centre[0], rows - centre[1])
    labels = np.where(dist <= r_in, 1, np.where(dist <= r_out, 2, 0)).astype(np.uint8)
    c = extract_contours(labels, kind="short-axis")
    assert c is not None and c.closed
    for polygon, radius in ((c.endo_px, r_in), (c.epi_px, r_out)):
        assert polygon_area_px2(polygon) == pytest.approx(np.pi * radius**2, abs=0.4 * np.pi * radius)
        np.testing.assert_allclose(polygon.mean(axis=0), centre, atol=0.4)
