"""Contours from synthetic label maps: ordering, annulus, apex, robustness, round trip to a mask."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.contours import (
    LvContours,
    contour_length,
    contour_to_mask,
    contours_to_labels,
    extract_all,
    extract_contours,
    polygon_area_px2,
    resample_contour,
    to_mm,
)
from tests.analysis_synth import half_ellipse_lv


@pytest.fixture
def labels():
    return half_ellipse_lv()


def test_endocardium_runs_annulus_to_apex_to_annulus(labels):
    c = extract_contours(labels)
    assert c is not None and c.kind == "long-axis" and not c.closed
    # annulus at the base corners (row ~140.5, x ~70 and ~130), left first
    assert c.annulus_px.shape == (2, 2)
    assert c.annulus_px[0, 0] < c.annulus_px[1, 0]
    np.testing.assert_allclose(c.annulus_px[:, 1], 140.5, atol=1.5)
    np.testing.assert_allclose(c.annulus_px[:, 0], [70.5, 129.5], atol=3.0)
    np.testing.assert_allclose(c.endo_px[0], c.annulus_px[0])
    np.testing.assert_allclose(c.endo_px[-1], c.annulus_px[1])
    # apex at the top of the cavity, on the midline
    np.testing.assert_allclose(c.apex_px, [100.0, 30.5], atol=1.0)
    # the open endocardium does not run along the base: no interior point near the base row
    assert np.all(c.endo_px[3:-3, 1] < 140.0)
    assert c.issues == ()


def test_epicardium_and_atrium(labels):
    c = extract_contours(labels)
    assert c.epi_px is not None and len(c.epi_px) > len(c.endo_px)
    # same direction as the endocardium, outside it (apex 8 px further up)
    assert c.epi_px[0, 0] < c.epi_px[-1, 0]
    assert c.epi_px[:, 1].min() == pytest.approx(c.endo_px[:, 1].min() - 8, abs=1.0)
    assert c.la_px is not None
    assert polygon_area_px2(c.la_px) == pytest.approx((labels == 3).sum(), rel=0.03)
    assert c.la_px[:, 1].min() > 139.0


def test_labels_round_trip_through_contours(labels):
    back = contours_to_labels(extract_contours(labels), labels.shape)
    for value in (1, 2, 3):
        a, b = labels == value, back == value
        dice = 2 * (a & b).sum() / (a.sum() + b.sum())
        assert dice > 0.97, (value, dice)


def test_largest_component_kept_and_flagged(labels):
    specks = labels.copy()
    specks[5:9, 5:9] = 1  # a tiny spurious cavity blob: removed, not worth a review flag
    specks[250:255, 190:195] = 2
    c = extract_contours(specks)
    assert c.issues == ()
    np.testing.assert_allclose(c.apex_px, [100.0, 30.5], atol=1.0)
    blob = labels.copy()
    blob[2:22, 2:22] = 1  # 400 px, ~8 % of the cavity
    c = extract_contours(blob)
    assert "spurious-blobs" in c.issues
    np.testing.assert_allclose(c.apex_px, [100.0, 30.5], atol=1.0)


def test_missing_atrium_and_missing_myocardium(labels):
    no_la = np.where(labels == 3, 0, labels)
    c = extract_contours(no_la)
    assert "no-la" in c.issues and c.la_px is None
    np.testing.assert_allclose(c.annulus_px[:, 1], 140.5, atol=1.5)
    only_cavity = np.where(labels == 1, 1, 0).astype(np.uint8)
    c2 = extract_contours(only_cavity)
    assert "no-myocardium" in c2.issues and c2.epi_px is None
    np.testing.assert_allclose(c2.apex_px, [100.0, 30.5], atol=1.0)
    assert c2.annulus_px[0, 0] < 85 and c2.annulus_px[1, 0] > 115
    np.testing.assert_allclose(c2.annulus_px[:, 1], 140.5, atol=4.0)


def test_empty_and_bad_input():
    assert extract_contours(np.zeros((40, 40), np.uint8)) is None
    assert extract_contours(np.full((40, 40), 3, np.uint8)) is None
    with pytest.raises(ValueError):
        extract_contours(np.zeros((4, 40, 40), np.uint8))
    frames = extract_all(np.stack([np.zeros((60, 60), np.uint8), half_ellipse_lv((60, 60), 30, 10, 45, 30, 4)]))
    assert frames[0] is None and frames[1] is not None


def test_short_axis_ring():
    r, c = np.mgrid[0:100, 0:100]
    d = np.hypot(r - 50, c - 50)
    labels = np.where(d <= 20, 1, np.where(d <= 28, 2, 0)).astype(np.uint8)
    sa = extract_contours(labels, kind="short-axis")
    assert sa.closed and sa.annulus_px is None and sa.apex_px is None
    assert polygon_area_px2(sa.endo_px) == pytest.approx((d <= 20).sum(), rel=0.02)
    assert polygon_area_px2(sa.epi_px) == pytest.approx((d <= 28).sum(), rel=0.02)
    back = contours_to_labels(sa, labels.shape)
    assert ((back == 2) == (labels == 2)).mean() > 0.99


def test_resample_to_mm_and_from_edited_endo(labels):
    c = extract_contours(labels)
    pts = resample_contour(c.endo_px, 40)
    assert pts.shape == (40, 2)
    steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    assert steps.std() < 0.05 * steps.mean()
    assert contour_length(pts) == pytest.approx(contour_length(c.endo_px), rel=0.06)
    closed = resample_contour(c.la_px, 30, closed=True)
    assert closed.shape == (30, 2) and not np.allclose(closed[0], closed[-1])
    np.testing.assert_allclose(to_mm([[10, 20]], (0.5, 0.25)), [[2.5, 10.0]])
    # an edit moving the apex region up changes the apex; given reversed, it is re-oriented
    edited = pts.copy()
    edited[18:22, 1] -= 6
    e = LvContours.from_endo(edited[::-1])
    assert e.endo_px[0, 0] < e.endo_px[-1, 0]
    assert e.apex_px[1] < c.apex_px[1] - 4
    mask = contour_to_mask(e.endo_px, labels.shape)
    assert mask.sum() > (labels == 1).sum()
    js = LvContours.from_json_dict(e.to_json_dict())
    np.testing.assert_allclose(js.endo_px, np.round(e.endo_px, 3))


def test_a_band_of_atrium_across_the_cavity_does_not_cut_the_ventricle(labels):
    """A strip of LA label across the cavity and the septum (seen on CAMUS valid patient0297): the whole
    cavity is still measured, with the annulus at the real atrium, and the frame is flagged for review."""
    from app.analysis.volumes import contour_disks

    clean = extract_contours(labels)
    banded = labels.copy()
    banded[85:92, 55:120] = 3  # across the left wall and the cavity
    c = extract_contours(banded)
    assert "spurious-blobs" in c.issues
    np.testing.assert_allclose(c.annulus_px, clean.annulus_px, atol=2.0)
    np.testing.assert_allclose(c.apex_px, clean.apex_px, atol=1.0)
    v_clean = contour_disks(clean, (0.5, 0.5), with_chords=False).volume_ml
    v_banded = contour_disks(c, (0.5, 0.5), with_chords=False).volume_ml
    assert abs(v_banded / v_clean - 1.0) < 0.05


def test_reassign_islands_gives_each_pixel_its_nearest_label():
    from app.analysis.label_islands import island_mask, reassign_islands

    labels = np.zeros((40, 40), np.uint8)
    labels[5:35, 5:35] = 1
    labels[25:35, 5:35] = 3  # the main atrium
    labels[12:14, 5:20] = 3  # a strip across the left half of the cavity
    assert island_mask(labels, 3).sum() == 2 * 15
    out = reassign_islands(labels, (3,))
    assert (out[12:14, 6:20] == 1).all()  # inside the cavity: cavity
    assert (out[25:35, 5:35] == 3).all() and (labels[12:14, 5:20] == 3).all()  # input untouched
    assert reassign_islands(out, (3,)).tolist() == out.tolist()


def test_a_one_pixel_cavity_is_no_lv_not_a_crash():
    """A clinical clip's frame with a 1-pixel cavity and no wall (EchoNet 0X2046744420463941: `analyze` exited 1
    with 'max() arg is an empty sequence'): no base can be told from a wall, so no contour."""
    labels = np.zeros((20, 20), np.uint8)
    labels[8, 8] = 1
    assert extract_contours(labels) is None
    labels[8:10, 8:10] = 1
    assert extract_contours(labels) is not None
