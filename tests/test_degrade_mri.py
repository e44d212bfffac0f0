"""The other-scanner degradation of short-axis stacks (lab.data.degrade_mri): geometry, millimetres,
shading, noise, export, determinism, and labels brought back to the scanner grid."""

from __future__ import annotations

import numpy as np
import pytest

from lab.data.degrade_mri import (
    PROFILES,
    VENDOR_RANGES,
    VENDORS,
    MriDegradation,
    degrade_stack,
    mri_degradation,
    to_original_grid,
)

SPACING = (1.4, 1.4)


def _stack():
    """(2 phases, 3 slices, 180, 200): a bright disc (blood pool, r 20 px) in a grey ring (myocardium)."""
    yy, xx = np.mgrid[:180, :200]
    r = np.hypot(yy - 90, xx - 100)
    labels = np.where(r < 20, 1, np.where(r < 28, 2, 0)).astype(np.uint8)
    grey = np.array([40, 220, 90], np.float32)[labels]
    return np.broadcast_to(grey, (2, 3, 180, 200)).copy(), labels


def test_coarser_pixels_keep_millimetres_and_labels_come_back_to_the_grid():
    images, labels = _stack()
    out, spacing = degrade_stack(images, SPACING, MriDegradation(pixel_mm=2.1))
    assert out.dtype == np.uint8 and out.shape[:2] == (2, 3)
    assert out.shape[2] * spacing[0] == pytest.approx(180 * SPACING[0], rel=1e-6)
    assert out.shape[3] * spacing[1] == pytest.approx(200 * SPACING[1], rel=1e-6)
    assert spacing[0] == pytest.approx(2.1, rel=0.02)
    # a label map on the coarse grid (the bright pool thresholded) comes back with the pool's area in mm^2
    coarse = (out > 150).astype(np.uint8)
    back = to_original_grid(coarse, (180, 200))
    assert back.shape == (2, 3, 180, 200)
    area_true = (labels == 1).sum()
    assert abs(int(back[0, 0].sum()) - area_true) / area_true < 0.06


def test_coil_shading_is_smooth_with_the_asked_peak_to_peak():
    flat = np.full((1, 1, 128, 128), 100.0, np.float32)
    flat[0, 0, :, :8] = 0.0  # a dark border sets the range, so the rest maps to one grey before shading
    out, _ = degrade_stack(flat, SPACING, MriDegradation(bias_fraction=0.4, seed=3))
    field = out[0, 0, 2:-2, 10:-2].astype(float)  # inside: off the brightest 0.5 % that the export clips
    ratio = np.percentile(field, 99) / np.percentile(field, 1)
    assert 1.2 < ratio < 1.8  # peak-to-peak ~0.4 of the mean
    assert np.abs(np.diff(field, axis=0)).max() <= 3  # smooth: no step between neighbouring rows


def test_noise_lowers_the_snr_to_about_the_asked_value():
    images, labels = _stack()
    out, _ = degrade_stack(images, SPACING, MriDegradation(snr=10.0, seed=1))
    pool = out[0, 0][labels == 1].astype(float)
    assert 5.0 < pool.mean() / pool.std() < 20.0
    clean, _ = degrade_stack(images, SPACING, MriDegradation())
    assert clean[0, 0][labels == 1].std() == 0


def test_profiles_are_deterministic_and_distinct():
    images, _ = _stack()
    for name in PROFILES:
        a = degrade_stack(images, SPACING, mri_degradation(name, seed=5))
        b = degrade_stack(images, SPACING, mri_degradation(name, seed=5))
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert mri_degradation("all", 5).pixel_mm is not None and mri_degradation("all", 5).snr is not None
    assert mri_degradation("noisy", 5).pixel_mm is None and mri_degradation("lowres", 5).snr is None
    assert mri_degradation("lowres", 1).pixel_mm != mri_degradation("lowres", 2).pixel_mm


def test_jpeg_export_changes_pixels_but_keeps_the_picture():
    images, labels = _stack()
    images = images + np.random.default_rng(0).normal(0, 8, images.shape).astype(np.float32)
    plain, _ = degrade_stack(images, SPACING, MriDegradation())
    jpeg, _ = degrade_stack(images, SPACING, MriDegradation(jpeg_quality=60))
    assert not np.array_equal(plain, jpeg)
    assert np.abs(plain.astype(int) - jpeg.astype(int)).mean() < 10


@pytest.mark.parametrize("bad", [dict(pixel_mm=0.1), dict(bias_fraction=1.5), dict(snr=0), dict(gamma=0),
                                 dict(jpeg_quality=101), dict(acquired_mm=0.1),
                                 dict(taper=1.5)])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        MriDegradation(**bad)
    with pytest.raises(ValueError):
        mri_degradation("blurry")


def test_labels_brought_back_land_where_they_were():
    """A pool drawn on the coarse grid (2.2 mm pixels: 1.57 scanner pixels each) comes back centred where it is in
    millimetres on the scanner grid, on average over sub-pixel positions (cv2's INTER_NEAREST moved it half to two
    thirds of a pixel: it takes floor(x * scale))."""
    images, _ = _stack()
    out, _ = degrade_stack(images, SPACING, MriDegradation(pixel_mm=2.2))
    factor = np.array([180, 200]) / np.array(out.shape[-2:])  # scanner pixels per coarse pixel
    rows, cols = np.mgrid[:out.shape[2], :out.shape[3]]
    errors = []
    for step in np.arange(0.0, 1.0, 0.125):
        where = np.array([90.0, 100.0]) + step  # scanner grid pixels
        centre = (where + 0.5) / factor - 0.5  # the same point in coarse pixels
        pool = (np.hypot((rows - centre[0]) * factor[0], (cols - centre[1]) * factor[1]) < 20).astype(np.uint8)
        errors.append(np.argwhere(to_original_grid(pool, (180, 200)) == 1).mean(axis=0) - where)
    np.testing.assert_allclose(np.mean(errors, axis=0), [0.0, 0.0], atol=0.1)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_vendor_stores_its_grid_and_labels_come_back_centred(vendor):
    """Each vendor's stack lands on its stored pixel size (finer than its acquisition for Philips, GE, Canon), keeps
    the millimetres, and a pool thresholded on it comes back to the scanner grid where it was, with its area."""
    yy, xx = np.mgrid[:180, :200]
    errors = []
    for step in (0.0, 0.25, 0.5, 0.75):
        r = np.hypot(yy - 90 - step, xx - 100 - step)
        labels = np.where(r < 20, 1, np.where(r < 28, 2, 0)).astype(np.uint8)
        images = np.broadcast_to(np.array([40, 220, 90], np.float32)[labels], (1, 2, 180, 200))
        d = mri_degradation(vendor, seed=11)
        out, spacing = degrade_stack(images, SPACING, d)
        assert spacing[0] == pytest.approx(d.pixel_mm, rel=0.02)
        assert out.shape[2] * spacing[0] == pytest.approx(180 * SPACING[0], rel=1e-6)
        back = to_original_grid((out > 150).astype(np.uint8), (180, 200))[0, 0]
        assert abs(int(back.sum()) - int((labels == 1).sum())) / (labels == 1).sum() < 0.05
        errors.append(np.argwhere(back == 1).mean(axis=0) - np.argwhere(labels == 1).mean(axis=0))
    np.testing.assert_allclose(np.mean(errors, axis=0), [0.0, 0.0], atol=0.15)
    lo, hi = VENDOR_RANGES[vendor]["acquired_mm"]
    assert lo <= d.acquired_mm <= hi and (vendor == "siemens") == (d.pixel_mm == d.acquired_mm)


def _row_through_the_border(taper: float) -> np.ndarray:
    images, _ = _stack()
    out, _ = degrade_stack(images, SPACING, MriDegradation(acquired_mm=2.2, taper=taper))
    return out[0, 0, 90, 100 + 21:100 + 28].astype(float)  # the myocardium just outside the bright pool


def test_a_sharp_k_space_cut_rings_at_the_border_and_a_taper_does_not():
    """A flat myocardium beside the bright pool: after a sharp cut of k-space it oscillates (Gibbs ringing, as
    unfiltered MR reconstructions show), after a Hann taper it falls smoothly."""
    sharp, smooth = _row_through_the_border(0.0), _row_through_the_border(1.0)
    sign_changes = lambda row: int((np.diff(np.sign(np.diff(row))) != 0).sum())  # noqa: E731
    assert sign_changes(sharp) >= 2
    assert np.abs(np.diff(sharp)).sum() > 1.5 * np.abs(np.diff(smooth)).sum()


def test_noise_of_an_acquisition_is_as_coarse_as_its_k_space():
    """Noise acquired at 2.0 mm and stored on 0.8 mm pixels is correlated between neighbours (zero-filled
    interpolation); the white noise of the plain "noisy" step is not."""
    flat = np.full((1, 1, 160, 160), 100.0, np.float32)
    flat[0, 0, :4] = 0.0  # a dark band sets the range, so the rest is one grey before the noise

    def neighbour_correlation(d: MriDegradation) -> float:
        out, _ = degrade_stack(flat, SPACING, d)
        field = out[0, 0, 40:-20, 20:-20].astype(float)
        field -= field.mean()
        return float((field[:, 1:] * field[:, :-1]).mean() / field.var())

    assert neighbour_correlation(MriDegradation(acquired_mm=2.0, pixel_mm=0.8, snr=10.0, seed=2)) > 0.6
    assert abs(neighbour_correlation(MriDegradation(snr=10.0, seed=2))) < 0.15


def test_vendors_draw_their_own_parameters():
    a, b = mri_degradation("philips", 4), mri_degradation("canon", 4)
    assert a == mri_degradation("philips", 4) and a.gamma != b.gamma  # their own random streams
    for vendor in VENDORS:
        d = mri_degradation(vendor, 9)
        for field, span in VENDOR_RANGES[vendor].items():
            if span is not None:
                assert span[0] <= getattr(d, field) <= span[1], (vendor, field)
