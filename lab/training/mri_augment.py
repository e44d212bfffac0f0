"""Augmentation of whole-cycle short-axis MRI samples, so that two training patients generalise to a third.

One random geometry for all phases of a sample (rotation, flip, zoom 0.7-1.4, shift), so the motion over
the cycle is kept; a random intensity transfer (contrast, brightness, gamma, a smooth coil-shading ramp),
blur and noise; a random cycle start and phase stride 1 or 2. Sunnybrook's three heart-failure patients
differ most in LV size (SC-HF-I-4's pool is ~70 mm across) and in contrast, which is what zoom and the
intensity transfer cover.
"""

from __future__ import annotations

import cv2
import numpy as np

from lab.training.mri_data import UNLABELLED

ZOOM_RANGE = (0.7, 1.4)
SHIFT_PX = 10


def random_affine(rng: np.random.Generator, size: int, zoom_range=ZOOM_RANGE, shift_px: int = SHIFT_PX) -> np.ndarray:
    """2x3 matrix: rotation (any angle), zoom (log-uniform), optional flip and shift about the crop centre."""
    angle = float(rng.uniform(0, 360))
    zoom = float(np.exp(rng.uniform(np.log(zoom_range[0]), np.log(zoom_range[1]))))
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    m = cv2.getRotationMatrix2D(centre, angle, zoom)
    if rng.random() < 0.5:  # mirror the columns before rotating
        m = m @ np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    m[:, 2] += rng.integers(-shift_px, shift_px + 1, size=2)
    return m


def warp_sample(image: np.ndarray, target: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply one 2x3 affine to every phase: image linear (zero outside), labels nearest.

    Outside the source the target is background in labelled phases and stays UNLABELLED in unlabelled ones.
    """
    h, w = image.shape[-2:]
    img = np.stack([cv2.warpAffine(f, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0) for f in image])
    tgt = np.empty_like(target)
    for t, lab in enumerate(target):
        fill = UNLABELLED if (lab == UNLABELLED).all() else 0
        tgt[t] = cv2.warpAffine(lab, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=int(fill))
    return img, tgt


def intensity(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast, brightness, gamma, a linear shading ramp, blur and Rician-like noise; result 0..1."""
    h, w = image.shape[-2:]
    out = np.clip(image, 0.0, 1.0) ** float(np.exp(rng.uniform(-0.5, 0.5)))
    out = out * rng.uniform(0.7, 1.3) + rng.uniform(-0.1, 0.1)
    if rng.random() < 0.5:  # receive-coil shading: up to +-25 % across the crop
        theta = rng.uniform(0, 2 * np.pi)
        rr, cc = np.mgrid[:h, :w]
        ramp = ((rr - h / 2) * np.sin(theta) + (cc - w / 2) * np.cos(theta)) / max(h, w)
        out = out * (1.0 + rng.uniform(0, 0.5) * ramp)[None]
    if rng.random() < 0.3:
        sigma = float(rng.uniform(0.5, 1.2))
        out = np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in out.astype(np.float32)])
    if rng.random() < 0.5:
        sd = float(rng.uniform(0.0, 0.05))
        out = np.hypot(out + rng.normal(0, sd, out.shape), rng.normal(0, sd, out.shape))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def augment(image: np.ndarray, target: np.ndarray, rng: np.random.Generator,
            temporal: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(T, H, W) float image 0..1 and uint8 target -> augmented copies; shapes kept except phase stride 2.

    temporal=False (phases drawn for the CNN alone, which sees each on its own): no cycle start or stride.
    """
    image, target = warp_sample(np.asarray(image, np.float32), np.asarray(target, np.uint8),
                                random_affine(rng, image.shape[-1]))
    image = intensity(image, rng)
    if not temporal:
        return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(target)
    start = int(rng.integers(image.shape[0]))
    image, target = np.roll(image, -start, axis=0), np.roll(target, -start, axis=0)
    if rng.random() < 0.5:
        labelled = np.flatnonzero((target != UNLABELLED).any(axis=(1, 2)))
        offset = int(labelled[rng.integers(len(labelled))] % 2) if len(labelled) else 0
        image, target = image[offset::2], target[offset::2]
    return np.ascontiguousarray(image, np.float32), np.ascontiguousarray(target)


SCANNER_PIXEL_MM = (1.25, 2.8)  # wider than lab/data/degrade_mri's evaluation profiles (2.0-2.5 mm), on purpose
SCANNER_SNR = (5.0, 25.0)       # (evaluation "noisy": 8-15)
SCANNER_GAMMA = (0.6, 1.6)      # (evaluation "export": 0.7-1.4)
SCANNER_JPEG_QUALITY = (40, 95)  # (evaluation "export": 60-80)
SCANNER_ACQUIRED = 0.5  # of the draws with coarser pixels: acquired in k-space (band, taper, zero-filling)


def random_scanner(rng: np.random.Generator):
    """A random MriDegradation (lab/data/degrade_mri.py), each step present with its own probability and drawn
    from ranges wider than the evaluation profiles, so training does not fit the test's own parameters. Half the
    coarser draws are a scanner's acquisition (the vendor profiles' steps): the band of an acquisition matrix of
    SCANNER_PIXEL_MM, any k-space taper from a sharp cut to a Hann filter, the noise of that band, stored either
    at the acquired pixel or zero-filled onto any finer one down to 0.6 mm."""
    from lab.data.degrade_mri import MriDegradation

    pixel = stored = float(rng.uniform(*SCANNER_PIXEL_MM)) if rng.random() < 0.6 else None
    acquired, taper = None, 0.0
    if pixel is not None and rng.random() < SCANNER_ACQUIRED:
        acquired, taper = pixel, float(rng.uniform(0.0, 1.0))
        if rng.random() < 0.5:
            stored = float(rng.uniform(0.6, pixel))
    return MriDegradation(
        pixel_mm=stored,
        acquired_mm=acquired,
        taper=taper,
        bias_fraction=float(rng.uniform(0.0, 0.5)) if rng.random() < 0.5 else 0.0,
        snr=float(rng.uniform(*SCANNER_SNR)) if rng.random() < 0.6 else None,
        gamma=float(np.exp(rng.uniform(np.log(SCANNER_GAMMA[0]), np.log(SCANNER_GAMMA[1])))),
        jpeg_quality=int(rng.integers(SCANNER_JPEG_QUALITY[0], SCANNER_JPEG_QUALITY[1] + 1))
        if rng.random() < 0.5
        else None,
        seed=int(rng.integers(2**31)),
    )


def scanner(image: np.ndarray, rng: np.random.Generator, grid_mm: float = 1.25) -> np.ndarray:
    """(T, H, W) crop on the `grid_mm` grid -> the same crop as another scanner and export would give it after
    the app's resampling back to that grid: coarser pixels, coil shading, Rician noise, window, 8-bit JPEG
    (lab.data.degrade_mri.degrade_stack), then linear resampling to (H, W) as app/ml/mri_preprocess does; 0..1."""
    from lab.data.degrade_mri import degrade_stack

    h, w = image.shape[-2:]
    out, _ = degrade_stack(np.asarray(image, np.float32)[None], (grid_mm, grid_mm), random_scanner(rng))
    out = out[0].astype(np.float32) / 255.0
    if out.shape[-2:] != (h, w):
        out = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) for f in out])
    return np.ascontiguousarray(out, np.float32)
