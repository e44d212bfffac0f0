"""Short-axis MRI augmentation: labels move with the image, shapes and label codes are kept."""

from __future__ import annotations

import numpy as np

from lab.training.mri_augment import augment, intensity, random_affine, warp_sample
from lab.training.mri_data import NOT_POOL, UNLABELLED, normalise


def off_centre_lv(n_phases=8, size=64, centre=(20, 40)):
    """(T, S, S) image whose grey level encodes the label (pool 0.9, ring 0.45, background 0.05)."""
    rr, cc = np.ogrid[:size, :size]
    d = np.hypot(rr - centre[0], cc - centre[1])
    labels = np.stack([np.where(d <= 8 + t % 3, 1, np.where(d <= 13, 2, 0)) for t in range(n_phases)]).astype(np.uint8)
    image = np.choose(labels, [0.05, 0.9, 0.45]).astype(np.float32)
    return image, labels


def test_warp_moves_labels_with_the_image_and_keeps_shapes():
    image, labels = off_centre_lv()
    target = np.full(labels.shape, UNLABELLED, np.uint8)
    target[2], target[5] = labels[2], np.where(labels[5] == 1, 1, NOT_POOL)
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = random_affine(rng, image.shape[-1])
        img, tgt = warp_sample(image, target, m)
        assert img.shape == image.shape and tgt.shape == target.shape and tgt.dtype == np.uint8
        assert (tgt[0] == UNLABELLED).all() and (tgt[2] != UNLABELLED).all()
        assert set(np.unique(tgt)) <= {0, 1, 2, NOT_POOL, UNLABELLED}
        pool = tgt[2] == 1
        assert pool.sum() > 50  # zoom 0.7-1.4 keeps the disc
        # pixel by pixel the warped grey level still encodes the warped label (edges interpolate)
        expected = np.choose(tgt[2], [0.05, 0.9, 0.45])
        assert np.mean(np.abs(img[2] - expected) < 0.1) > 0.9
        assert img[5][tgt[5] == 1].mean() > 0.8


def test_augment_keeps_the_pool_on_the_bright_disc():
    image, labels = off_centre_lv(n_phases=10)
    target = np.full(labels.shape, UNLABELLED, np.uint8)
    target[4] = labels[4]
    rng = np.random.default_rng(3)
    for _ in range(20):
        img, tgt = augment(image, target, rng)
        assert img.shape[1:] == image.shape[1:] and tgt.shape == img.shape and len(img) in (5, 10)
        assert img.dtype == np.float32 and 0.0 <= img.min() and img.max() <= 1.0
        t = int(np.flatnonzero((tgt != UNLABELLED).any(axis=(1, 2)))[0])
        assert img[t][tgt[t] == 1].mean() > img[t][tgt[t] == 2].mean() > img[t][tgt[t] == 0].mean()


def test_intensity_stays_in_range_and_keeps_order_on_average():
    image, labels = off_centre_lv()
    rng = np.random.default_rng(1)
    for _ in range(10):
        out = intensity(image, rng)
        assert out.shape == image.shape and 0.0 <= out.min() and out.max() <= 1.0
        assert out[labels == 1].mean() > out[labels == 0].mean()


def test_normalise_uses_the_central_region():
    cine = np.full((2, 64, 64), 100.0, np.float32)
    cine[:, 24:40, 24:40] = 200.0  # the pool in the centre
    cine[:, :4, :4] = 5000.0  # bright fat at the border must not set the scale
    out = normalise(cine)
    assert out[:, 30, 30].min() == 1.0 and out[:, 0, 0].min() == 1.0 and out[:, 10, 10].max() < 0.05


def test_clean_up_keeps_the_central_pool_fills_it_and_drops_far_myocardium():
    from lab.training.mri_postprocess import clean_cycle, impose_labels

    lab = np.zeros((64, 64), np.uint8)
    rr, cc = np.ogrid[:64, :64]
    d = np.hypot(rr - 32, cc - 32)
    lab[d <= 16] = 2
    lab[d <= 10] = 1
    lab[30:33, 30:33] = 2  # a papillary muscle inside the pool
    lab[2:8, 2:8] = 1  # a second (right-ventricle-like) pool far from the centre
    lab[56:62, 56:62] = 2  # stray myocardium not connected to the pool
    out = clean_cycle(lab[None])[0]
    assert (out[30:33, 30:33] == 1).all() and (out[2:8, 2:8] == 0).all() and (out[56:62, 56:62] == 0).all()
    assert (out[(d > 11) & (d <= 15)] == 2).all()
    probs = np.stack([lab == k for k in range(3)], axis=0)[None].astype(np.float32)
    fixed = impose_labels(probs, out[None])
    assert (fixed.argmax(axis=1)[0] == out).all()


def test_a_pool_not_surrounded_by_myocardium_is_not_lv():
    """The basal-slice rule: a blood pool less than half surrounded by myocardium (the atrium above the base,
    a blob below the apex) leaves the phase empty."""
    from lab.training.mri_postprocess import clean_phase, myocardial_surround

    rr, cc = np.ogrid[:64, :64]
    d, angle = np.hypot(rr - 32, cc - 32), np.arctan2(rr - 32, cc - 32)
    ring = np.where(d <= 10, 1, np.where(d <= 15, 2, 0)).astype(np.uint8)
    assert myocardial_surround(ring) == 1.0 and ((clean_phase(ring) == 1) == (ring == 1)).mean() > 0.99
    for kept_fraction, is_lv in ((0.7, True), (0.3, False), (0.0, False)):
        lab = ring.copy()
        lab[(lab == 2) & ((angle + np.pi) / (2 * np.pi) > kept_fraction)] = 0  # the wall kept on one arc
        out = clean_phase(lab)
        assert out.any() == is_lv, kept_fraction


def test_scanner_degradation_keeps_the_crop_and_its_anatomy_and_varies():
    """lab.training.mri_augment.scanner (the issue-31 fine-tune's other-scanner augmentation): same (T, H, W)
    float 0..1 crop, the pool still the brightest region, and different draws give different images (coarse
    pixels, noise, JPEG...): not an identity."""
    from lab.training.mri_augment import random_scanner, scanner

    image, labels = off_centre_lv(n_phases=4, size=96, centre=(48, 48))
    rng = np.random.default_rng(3)
    outs = [scanner(image, rng) for _ in range(12)]
    for out in outs:
        assert out.shape == image.shape and out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0
        assert out[labels == 1].mean() > out[labels == 2].mean() + 0.15 > out[labels == 0].mean() + 0.15
    changes = [float(np.abs(out - image).mean()) for out in outs]
    assert min(changes) > 0.005 and max(changes) - min(changes) > 0.005
    draws = [random_scanner(np.random.default_rng(s)) for s in range(40)]
    assert any(d.pixel_mm for d in draws) and any(d.pixel_mm is None for d in draws)
    assert any(d.snr for d in draws) and any(d.jpeg_quality for d in draws)


def test_scanner_draws_acquisitions_wider_than_the_vendor_profiles(monkeypatch):
    """Half the coarser draws are k-space acquisitions (the vendor profiles' steps, lab/data/degrade_mri.VENDORS):
    sharp and soft reconstructions, stored at the acquired pixel and zero-filled finer, over ranges that hold every
    vendor's, so the vendor rows of `evaluate mri-seg --degrade` stay outside training's own parameters. Through
    `scanner`, a sharp acquisition of a disc rings outside its border where a Hann taper does not."""
    from lab.data.degrade_mri import VENDOR_RANGES, MriDegradation
    from lab.training.mri_augment import random_scanner, scanner

    draws = [random_scanner(np.random.default_rng(s)) for s in range(400)]
    acquired = [d for d in draws if d.acquired_mm is not None]
    assert 0.2 < len(acquired) / len(draws) < 0.4  # 0.6 coarser x 0.5
    assert min(d.taper for d in acquired) < 0.1 and max(d.taper for d in acquired) > 0.9
    finer = [d for d in acquired if d.pixel_mm is not None and d.pixel_mm < d.acquired_mm]
    assert 0.3 < len(finer) / len(acquired) < 0.7 and min(d.pixel_mm for d in finer) >= 0.6
    assert all(d.pixel_mm == d.acquired_mm for d in acquired if d not in finer)
    assert all(d.taper == 0.0 for d in draws if d.acquired_mm is None)
    low, high = min(d.acquired_mm for d in acquired), max(d.acquired_mm for d in acquired)
    for ranges in VENDOR_RANGES.values():
        lo, hi = ranges["acquired_mm"]
        assert low < lo and hi < high

    yy, xx = np.mgrid[:96, :96]
    disc = np.where((yy - 48) ** 2 + (xx - 48) ** 2 < 20 ** 2, 1.0, 0.2).astype(np.float32)[None]

    import lab.training.mri_augment as aug

    outs = {}
    for taper in (0.0, 1.0):  # `scanner` draws its degradation from random_scanner: give it this one
        fixed = MriDegradation(pixel_mm=2.5, acquired_mm=2.5, taper=taper, seed=1)
        monkeypatch.setattr(aug, "random_scanner", lambda rng, d=fixed: d)
        outs[taper] = scanner(disc, np.random.default_rng(0))[0]
    outside = (yy - 48) ** 2 + (xx - 48) ** 2
    ring = (outside > 23 ** 2) & (outside < 27 ** 2)  # just outside the disc's border
    background = outside > 35 ** 2
    ripple = {taper: abs(float(out[ring].mean() - out[background].mean())) for taper, out in outs.items()}
    assert ripple[0.0] > 0.01 and ripple[1.0] < 0.5 * ripple[0.0]  # Gibbs ringing of the sharp cut only
