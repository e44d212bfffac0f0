"""Short-axis MR stacks degraded the way other scanners and exports make them (issue 31): one module for
tests, evaluation and training augmentation, as lab/data/degrade.py is for echo clips.

A stack from another centre differs from ACDC's in what the scanner and the export do to the pixels, not in
the heart. `degrade_stack` applies, in order, to (P, S, H, W) images (phases, slices, rows, columns):

1. coarser in-plane resolution: the slices area-resampled to `pixel_mm` (e.g. 2.0 mm, a fast or low-field
   protocol; ACDC is 0.7-1.9 mm) - the stated spacing changes with it, as a reader would report it;
2. receive-coil shading: a smooth multiplicative bias field (a random low-order polynomial over the field of
   view, peak-to-peak `bias_fraction` of the mean, e.g. 0.4), the same on every slice and phase, as a surface
   coil gives;
3. Rician noise at `snr` (mean myocardial-range signal over the noise sigma; magnitude images, so the noise
   is sqrt((x + n1)^2 + n2^2));
4. window and contrast: x -> x ** gamma after scaling to 0..1 (another sequence or display window);
5. 8-bit quantisation (DICOM exports of secondary captures and JPEG-compressed archives), optionally a JPEG
   round trip at `jpeg_quality` per slice (OpenCV).

Labels are never touched: `degrade_stack` returns images on a new grid; `to_original_grid` brings a label
map predicted on the degraded grid back to the original grid (nearest neighbour), so the expert labels score it.
Deterministic: `mri_degradation(name, seed)` draws the parameters of a named profile, `degrade_stack` has no
randomness of its own beyond the seed it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PROFILES = ("lowres", "coil", "noisy", "export", "all")


@dataclass(frozen=True)
class MriDegradation:
    """How to degrade a stack (see the module docstring for the order); None / 0 leaves a step out."""

    pixel_mm: float | None = None
    bias_fraction: float = 0.0
    snr: float | None = None
    gamma: float = 1.0
    jpeg_quality: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.pixel_mm is not None and not 0.3 <= self.pixel_mm <= 5.0:
            raise ValueError(f"pixel_mm must be 0.3-5.0 mm, got {self.pixel_mm}")
        if not 0.0 <= self.bias_fraction < 1.0:
            raise ValueError(f"bias_fraction must be 0-1, got {self.bias_fraction}")
        if self.snr is not None and self.snr <= 0:
            raise ValueError(f"snr must be positive, got {self.snr}")
        if self.gamma <= 0:
            raise ValueError(f"gamma must be positive, got {self.gamma}")
        if self.jpeg_quality is not None and not 0 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be 0-100, got {self.jpeg_quality}")


def mri_degradation(profile: str, seed: int = 0) -> MriDegradation:
    """A named profile with its parameters drawn from `seed`: lowres (2.0-2.5 mm pixels), coil (shading
    0.3-0.5), noisy (SNR 8-15), export (gamma 0.7-1.4, 8-bit JPEG quality 60-80) or all of them."""
    if profile not in PROFILES:
        raise ValueError(f"MRI degradation must be one of {', '.join(PROFILES)}, got {profile!r}")
    rng = np.random.default_rng(seed)
    pixel = float(rng.uniform(2.0, 2.5))
    bias = float(rng.uniform(0.3, 0.5))
    snr = float(rng.uniform(8.0, 15.0))
    gamma = float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
    quality = int(rng.integers(60, 81))
    use = {"lowres": {"pixel_mm": pixel}, "coil": {"bias_fraction": bias}, "noisy": {"snr": snr},
           "export": {"gamma": gamma, "jpeg_quality": quality}}
    fields: dict[str, Any] = {k: v for name, kw in use.items() if profile in (name, "all") for k, v in kw.items()}
    return MriDegradation(seed=seed, **fields)


def degrade_stack(images: np.ndarray, spacing_mm: tuple[float, float], degradation: MriDegradation
                  ) -> tuple[np.ndarray, tuple[float, float]]:
    """(P, S, H, W) images (any range) -> (degraded uint8 images (P, S, H', W'), new in-plane spacing mm)."""
    import cv2

    x = np.asarray(images, np.float32)
    lo, hi = np.percentile(x, (0.5, 99.5))
    x = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    if degradation.pixel_mm is not None:
        x, spacing = _resample(x, spacing, degradation.pixel_mm)
    rng = np.random.default_rng(degradation.seed)
    if degradation.bias_fraction > 0:
        x = x * _bias_field(x.shape[-2:], degradation.bias_fraction, rng)[None, None]
    if degradation.snr is not None:
        sigma = float(np.mean(x[x > 0.2])) / degradation.snr if np.any(x > 0.2) else 1.0 / degradation.snr
        x = np.sqrt((x + rng.normal(0, sigma, x.shape)) ** 2 + rng.normal(0, sigma, x.shape) ** 2)
    x = np.clip(x / max(float(np.percentile(x, 99.5)), 1e-6), 0.0, 1.0) ** degradation.gamma
    out = np.round(x * 255).astype(np.uint8)
    if degradation.jpeg_quality is not None:
        params = [cv2.IMWRITE_JPEG_QUALITY, int(degradation.jpeg_quality)]
        for index in np.ndindex(out.shape[:2]):
            ok, buf = cv2.imencode(".jpg", out[index], params)
            out[index] = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out, spacing


def to_original_grid(labels: np.ndarray, shape_hw: tuple[int, int]) -> np.ndarray:
    """(..., H', W') label maps on the degraded grid -> (..., H, W) by nearest neighbour, pixel centres aligned as
    the images' INTER_AREA resampling aligns them (INTER_NEAREST_EXACT: cv2's INTER_NEAREST takes floor(x * scale),
    up to a pixel down and right of where the labels belong)."""
    import cv2

    flat = labels.reshape(-1, *labels.shape[-2:])
    out = np.stack([cv2.resize(m, (shape_hw[1], shape_hw[0]), interpolation=cv2.INTER_NEAREST_EXACT)
                    for m in flat])
    return out.reshape(*labels.shape[:-2], *shape_hw)


def _resample(x: np.ndarray, spacing_mm: tuple[float, float], pixel_mm: float
              ) -> tuple[np.ndarray, tuple[float, float]]:
    import cv2

    h, w = x.shape[-2:]
    new_h = max(8, int(round(h * spacing_mm[0] / pixel_mm)))
    new_w = max(8, int(round(w * spacing_mm[1] / pixel_mm)))
    flat = x.reshape(-1, h, w)
    out = np.stack([cv2.resize(s, (new_w, new_h), interpolation=cv2.INTER_AREA) for s in flat])
    return out.reshape(*x.shape[:-2], new_h, new_w), (spacing_mm[0] * h / new_h, spacing_mm[1] * w / new_w)


def _bias_field(shape_hw: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth positive field of mean ~1 and peak-to-peak `fraction` (second-order polynomial in x, y)."""
    yy, xx = np.mgrid[-1:1:complex(0, shape_hw[0]), -1:1:complex(0, shape_hw[1])]
    coeffs = rng.normal(0, 1, 5)
    field = coeffs[0] * xx + coeffs[1] * yy + coeffs[2] * xx * yy + coeffs[3] * xx ** 2 + coeffs[4] * yy ** 2
    span = float(field.max() - field.min()) or 1.0
    return (1.0 + fraction * (field - field.mean()) / span).astype(np.float32)
