"""The one JPEG round trip of the training degradations (app.ml.augment.jpeg_round_trip): the echo augmentation,
the view classifier's clinical export and the MRI export degradation all go through it."""

from __future__ import annotations

import numpy as np

from app.ml.augment import jpeg, jpeg_round_trip


def _speckle(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:96, 0:112]
    picture = 120 + 80 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    return np.clip(picture + rng.normal(0, 25, picture.shape), 0, 255).astype(np.uint8)


def test_the_loss_grows_as_the_quality_falls_and_the_picture_stays():
    grey = _speckle()
    errors = {q: np.abs(jpeg_round_trip(grey, q).astype(int) - grey).mean() for q in (15, 50, 95)}
    out = jpeg_round_trip(grey, 15)
    assert out.shape == grey.shape and out.dtype == np.uint8
    assert errors[15] > errors[50] > errors[95] > 0
    assert errors[15] < 25  # compression noise, not another picture


def test_the_echo_augmentation_compresses_each_frame_with_its_own_quality():
    frames = np.stack([_speckle(s) for s in range(3)]).astype(np.float32) / 255.0
    out = jpeg(frames, np.random.default_rng(4))
    draws = np.random.default_rng(4)
    qualities = [int(draws.integers(10, 60)) for _ in frames]  # the draws jpeg makes, in order
    expected = [jpeg_round_trip((f * 255).astype(np.uint8), q) / 255.0 for f, q in zip(frames, qualities, strict=True)]
    assert len(set(qualities)) > 1
    assert out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0
    np.testing.assert_allclose(out, np.stack(expected), atol=1e-6)
