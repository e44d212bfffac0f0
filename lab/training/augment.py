"""The shipped echo networks' augmentations: app/ml/augment.py's, plus (clinical > 0, issue 30) the clinical-export
degradation of lab.data.degrade: the frames passed through a smaller square (64-160 px: multi-scale), blur,
MJPEG/MPEG-4 codec, gain and contrast, depth cut, and back to the network's size, as a 112 x 112 clinical AVI
reaches the network at inference.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.ml import augment as base
from lab.data.degrade import degrade_clip, labels_after_resize, random_degradation

CLINICAL_SIZES_PX = (64, 80, 96, 112, 112, 128, 160)  # the squares a clip passes through (clinical: 112)


def gain_gamma(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0..1 frames through one random gamma and gain, all alike (a beat's ED and ES keep their EF), clipped to 0..1."""
    gamma, gain = np.exp(rng.normal(0.0, 0.15)), rng.uniform(0.85, 1.15)
    out: np.ndarray = np.clip(gain * frames ** gamma, 0.0, 1.0)
    return out


def clinical(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator):
    """The clip through a random clinical export (lab.data.degrade.random_degradation at a size from
    CLINICAL_SIZES_PX) and back to its own S x S grid (bilinear, as inference resizes a small clip up); labels
    follow the same geometry (depth cut, fit, resize back) at S x S with nearest neighbour."""
    size = frames.shape[-1]
    d = random_degradation(int(rng.integers(2**31)), sizes_px=CLINICAL_SIZES_PX)
    small = degrade_clip(frames, (1.0, 1.0), d).frames
    out = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR) for f in small])
    return out.astype(np.float32) / 255.0, labels_after_resize(labels, d, size).astype(labels.dtype)


def augment_each(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator, augment_fn=None):
    """Each (S, S) frame and its label through its own draw of `augment_fn` (default `augment`; the geometry moves
    both): (N, S, S) float32 and (N, S, S) int64."""
    augment_fn = augment_fn or augment
    out_frames, out_labels = [], []
    for frame, label in zip(frames, labels, strict=True):
        f, lb = augment_fn(frame[None], label[None], rng)
        out_frames.append(f[0])
        out_labels.append(lb[0])
    return np.stack(out_frames).astype(np.float32), np.stack(out_labels).astype(np.int64)


def augment(frames: np.ndarray, labels: np.ndarray, rng: np.random.Generator, p: float = 0.5,
            clinical_p: float = 0.0):
    """(T, S, S) float32 + (T, S, S) uint8 -> augmented copies; each augmentation with probability p, the
    clinical-export degradation (clinical) with probability clinical_p, after the others."""
    return base.augment(frames, labels, rng, p, degrade=clinical, degrade_p=clinical_p)
