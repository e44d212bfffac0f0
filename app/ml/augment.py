"""Echo training augmentations (Smistad et al.) on (T, S, S) float32 0..1 frames + (T, S, S) uint8 labels.

One set of random parameters is drawn per call and applied to every frame, so a sequence stays coherent (JPEG
quality is drawn per frame: compression noise decorrelates like real video). Gamma, rotation (<= 10 deg),
Gaussian shadows, depth cut, JPEG, blackout rectangles. The shipped networks' training (lab/training/augment.py
adds the clinical-export degradation) and the site's fine-tune (app/ml/site_adapt.py) share them.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

Degrade = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def gamma(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.power(np.clip(frames, 0.0, 1.0), rng.uniform(0.6, 1.6)).astype(np.float32)


def rotate(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator, max_deg: float = 10.0):
    """Rotate about a point near the apex (top centre): frames linear, labels nearest."""
    size = frames.shape[-1]
    centre = (size / 2.0 + rng.uniform(-0.1, 0.1) * size, rng.uniform(0.0, 0.3) * size)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-max_deg, max_deg), 1.0)
    warp = lambda a, interp: cv2.warpAffine(a, matrix, (size, size), flags=interp, borderValue=0)  # noqa: E731
    return (
        np.stack([warp(f, cv2.INTER_LINEAR) for f in frames]),
        np.stack([warp(lb, cv2.INTER_NEAREST) for lb in labels]),
    )


def gaussian_shadow(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multiply by 1 - strength * a Gaussian blob (acoustic shadow / dropout)."""
    size = frames.shape[-1]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    cy, cx = rng.uniform(0, size, 2)
    sy, sx = rng.uniform(0.05, 0.3, 2) * size
    blob = np.exp(-0.5 * (((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))
    return (frames * (1.0 - rng.uniform(0.3, 0.9) * blob)).astype(np.float32)


def depth_cut(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """Remove the image bottom from a random depth below the LV (labels there set to background)."""
    lv_rows = np.nonzero((labels == 1).any(axis=(0, 2)))[0]
    size = frames.shape[-2]
    lowest = int(lv_rows.max()) + 1 if lv_rows.size else size // 2
    if lowest >= size - 1:
        return frames, labels
    cut = int(rng.integers(lowest, size))
    frames, labels = frames.copy(), labels.copy()
    frames[:, cut:] = 0.0
    labels[:, cut:] = 0
    return frames, labels


def jpeg_round_trip(grey: np.ndarray, quality: int) -> np.ndarray:
    """(H, W) uint8 -> the same frame after a JPEG encode and decode at quality 1-100, as lossy video stores it
    (the frame itself where OpenCV cannot encode it)."""
    ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    return grey if decoded is None else decoded


def jpeg(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        quality = int(rng.integers(10, 60))
        out[i] = jpeg_round_trip((np.clip(frame, 0, 1) * 255).astype(np.uint8), quality).astype(np.float32) / 255.0
    return out


def blackout(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Zero 1-3 random rectangles (labels unchanged: the net must fill in)."""
    size = frames.shape[-1]
    frames = frames.copy()
    for _ in range(int(rng.integers(1, 4))):
        h, w = (rng.uniform(0.05, 0.25, 2) * size).astype(int)
        y, x = rng.integers(0, size - h), rng.integers(0, size - w)
        frames[:, y : y + h, x : x + w] = 0.0
    return frames


def augment(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator, p: float = 0.5,
            degrade: Degrade | None = None, degrade_p: float = 0.0):
    """(T, S, S) float32 + (T, S, S) uint8 -> augmented copies; each augmentation with probability p, and
    `degrade` (frames, labels, rng) with probability degrade_p after the others, instead of the JPEG."""
    frames = frames.astype(np.float32, copy=True)
    if rng.random() < p:
        frames, labels = rotate(frames, labels, rng)
    if rng.random() < p:
        frames = gamma(frames, rng)
    if rng.random() < p * 0.6:
        frames = gaussian_shadow(frames, rng)
    if rng.random() < p * 0.4:
        frames, labels = depth_cut(frames, labels, rng)
    if rng.random() < p * 0.2:
        frames = blackout(frames, rng)
    if degrade is not None and degrade_p > 0 and rng.random() < degrade_p:
        frames, labels = degrade(np.clip(frames, 0.0, 1.0), labels, rng)
    elif rng.random() < p * 0.5:
        frames = jpeg(frames, rng)
    return np.clip(frames, 0.0, 1.0), labels
