"""Training pairs with exact dense motion for the flow network (numpy + OpenCV, no torch).

Source images (CAMUS A4C frames, phantom frames) are warped with a known smooth random field that
mimics cardiac motion (affine contraction/rotation/shift + smooth local deformation, up to a few px
per frame). Exactness: the second frame is sampled as second(y) = S(y + g(y)); the flow from the
first frame (S itself) is f(x) = -g(x + f(x)), solved by fixed-point iteration. Speckle
decorrelation and electronic noise are imitated by independent multiplicative/additive noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PairConfig:
    crop_px: int = 96
    max_shift_px: float = 1.0  # rigid translation per frame
    max_scale: float = 0.025  # affine contraction / expansion per frame
    max_rotation_deg: float = 1.5
    local_px: float = 1.0  # amplitude of the smooth local deformation
    max_decorrelation: float = 0.35  # multiplicative noise std on the second frame
    lv_focus: float = 0.7  # probability that a crop is centred on LV tissue


def smooth_random_field(shape: tuple[int, int], rng: np.random.Generator, cfg: PairConfig) -> np.ndarray:
    """(H, W, 2) float32 displacement (dx, dy): affine part about a random centre + smooth noise."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    s = rng.uniform(-cfg.max_scale, cfg.max_scale)
    th = np.deg2rad(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg))
    dx = s * (xx - cx) - th * (yy - cy) + rng.uniform(-cfg.max_shift_px, cfg.max_shift_px)
    dy = s * (yy - cy) + th * (xx - cx) + rng.uniform(-cfg.max_shift_px, cfg.max_shift_px)
    field = np.stack([dx, dy], axis=-1)
    sigma = rng.uniform(8.0, 24.0)
    noise = rng.normal(0, 1, (h, w, 2)).astype(np.float32)
    noise = np.stack([cv2.GaussianBlur(noise[..., c], (0, 0), sigma) for c in range(2)], axis=-1)
    noise *= rng.uniform(0, cfg.local_px) / max(float(np.abs(noise).max()), 1e-6)
    return (field + noise).astype(np.float32)


def _remap(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx + field[..., 0], yy + field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def exact_pair(source: np.ndarray, g: np.ndarray, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """second(y) = source(y + g(y)); returns (second, flow (H, W, 2) from source to second)."""
    second = _remap(source.astype(np.float32), g)
    flow = -g.copy()
    for _ in range(iterations):
        flow = -_remap(g, flow)
    return second, flow


def _speckle_noise(shape, rng: np.random.Generator, std: float) -> np.ndarray:
    n = rng.normal(0, 1, shape).astype(np.float32)
    n = cv2.GaussianBlur(n, (0, 0), rng.uniform(0.5, 1.2))
    return 1.0 + std * n / max(float(n.std()), 1e-6)


def _crop_origin(shape, crop: int, focus: np.ndarray | None, rng: np.random.Generator) -> tuple[int, int]:
    h, w = shape
    if focus is not None and focus.any():
        pts = np.argwhere(focus)
        r, c = pts[rng.integers(len(pts))]
        r0, c0 = int(r) - crop // 2 + rng.integers(-crop // 4, crop // 4 + 1), int(c) - crop // 2
    else:
        r0, c0 = rng.integers(0, max(h - crop, 0) + 1), rng.integers(0, max(w - crop, 0) + 1)
    return int(np.clip(r0, 0, max(h - crop, 0))), int(np.clip(c0, 0, max(w - crop, 0)))


def make_pair(
    image: np.ndarray, rng: np.random.Generator, cfg: PairConfig = PairConfig(), focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One training sample from an (H, W) image 0..1 (uint8 accepted).

    Returns first, second (crop, crop) float32 0..1, flow (crop, crop, 2), valid (crop, crop) bool.
    focus: optional (H, W) bool where crops should preferably be centred (LV tissue).
    """
    img = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    pad = max(0, cfg.crop_px - min(img.shape))
    if pad:
        img = np.pad(img, pad, mode="reflect")
        focus = None if focus is None else np.pad(focus, pad)
    use_focus = focus if (focus is not None and rng.random() < cfg.lv_focus) else None
    r0, c0 = _crop_origin(img.shape, cfg.crop_px, use_focus, rng)
    margin = 8
    ra, rb = max(r0 - margin, 0), min(r0 + cfg.crop_px + margin, img.shape[0])
    ca, cb = max(c0 - margin, 0), min(c0 + cfg.crop_px + margin, img.shape[1])
    src = img[ra:rb, ca:cb]
    g = smooth_random_field(src.shape, rng, cfg)
    second, flow = exact_pair(src, g)
    valid = (src > 0.01) & (_remap(src, g) > 0.01)  # inside the ultrasound sector in both frames
    sl = (slice(r0 - ra, r0 - ra + cfg.crop_px), slice(c0 - ca, c0 - ca + cfg.crop_px))
    first, second, flow, valid, g = src[sl], second[sl], flow[sl], valid[sl], g[sl]
    decor = rng.uniform(0.0, cfg.max_decorrelation)
    first = first * _speckle_noise(first.shape, rng, decor * 0.5)
    second = second * _speckle_noise(second.shape, rng, decor)
    noise = rng.uniform(0.0, 0.04)
    first = first + rng.normal(0, noise, first.shape)
    second = second + rng.normal(0, noise, second.shape)
    if rng.random() < 0.5:  # swap order: y in `second` is y + g(y) in the source, so the flow is g
        first, second, flow = second, first, g
    return (np.clip(first, 0, 1).astype(np.float32), np.clip(second, 0, 1).astype(np.float32),
            flow.astype(np.float32), valid)


def make_batch(images: list[np.ndarray], focus: list[np.ndarray | None], batch: int, rng: np.random.Generator,
               cfg: PairConfig = PairConfig()) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(B, 1, S, S) first, second; (B, 2, S, S) flow; (B, 1, S, S) valid — from random source images."""
    out = [make_pair(images[i], rng, cfg, focus[i]) for i in rng.integers(0, len(images), batch)]
    first = np.stack([o[0] for o in out])[:, None]
    second = np.stack([o[1] for o in out])[:, None]
    flow = np.stack([o[2] for o in out]).transpose(0, 3, 1, 2)
    valid = np.stack([o[3] for o in out])[:, None].astype(np.float32)
    return first, second, flow, valid
