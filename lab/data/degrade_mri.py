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

Vendor profiles (`VENDORS`: siemens, philips, ge, canon, the M&Ms challenge's four) replace steps 1 and 3 with
what a scanner's acquisition and reconstruction do: the image band-limited to the k-space
extent of its acquisition matrix (`acquired_mm`), with the reconstruction's k-space taper (`taper`: 0 = a sharp
cut, which rings at the blood-myocardium border; 1 = a Hann filter, smooth), complex noise of the same band (SNR
`snr`, so the noise is as coarse as the acquisition, not white on the stored grid), then zero-filled onto the
stored pixel size (`pixel_mm`, often finer than the acquisition: interpolation in k-space, as the scanner does);
steps 2, 4 and 5 follow (the shading over signal and noise alike, as an uncorrected coil's is).
Their parameters are drawn from ranges describing how each vendor's cine bSSFP is commonly acquired and
reconstructed; they are a model, not fitted to any vendor's images (none are in ../shared).

Labels are never touched: `degrade_stack` returns images on a new grid; `to_original_grid` brings a label
map predicted on the degraded grid back to the original grid (nearest neighbour), so the expert labels score it.
Deterministic: `mri_degradation(name, seed)` draws the parameters of a named profile, `degrade_stack` has no
randomness of its own beyond the seed it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

VENDORS = ("siemens", "philips", "ge", "canon")
PROFILES = ("lowres", "coil", "noisy", "export", "all") + VENDORS

# Per vendor, each a (low, high) range drawn per stack: acquisition pixel (mm), stored pixel (mm; None = the
# acquisition's own), k-space taper, coil shading (peak-to-peak), SNR, window gamma. Siemens is ACDC's own vendor
# (acquisition matrix stored as is); Philips, GE and Canon store finer, zero-filled grids (GE and Canon at a 512
# matrix) with a softer (Philips, Canon) or sharper (GE) reconstruction filter; the older GE platform of M&Ms has
# the lowest matrix and SNR. The gamma range is the same for all: no vendor's contrast is known better than that.
VENDOR_RANGES: dict[str, dict[str, tuple[float, float] | None]] = {
    "siemens": {"acquired_mm": (1.4, 1.9), "pixel_mm": None, "taper": (0.1, 0.3), "bias_fraction": (0.1, 0.3),
                "snr": (18.0, 30.0), "gamma": (0.8, 1.25)},
    "philips": {"acquired_mm": (1.6, 2.0), "pixel_mm": (1.0, 1.3), "taper": (0.4, 0.7), "bias_fraction": (0.2, 0.4),
                "snr": (15.0, 25.0), "gamma": (0.8, 1.25)},
    "ge": {"acquired_mm": (1.8, 2.3), "pixel_mm": (0.7, 0.9), "taper": (0.0, 0.15), "bias_fraction": (0.3, 0.5),
           "snr": (10.0, 18.0), "gamma": (0.8, 1.25)},
    "canon": {"acquired_mm": (1.5, 1.9), "pixel_mm": (0.8, 1.0), "taper": (0.4, 0.7), "bias_fraction": (0.2, 0.4),
              "snr": (15.0, 25.0), "gamma": (0.8, 1.25)},
}


@dataclass(frozen=True)
class MriDegradation:
    """How to degrade a stack (see the module docstring for the order); None / 0 leaves a step out."""

    pixel_mm: float | None = None
    bias_fraction: float = 0.0
    snr: float | None = None
    gamma: float = 1.0
    jpeg_quality: int | None = None
    seed: int = 0
    acquired_mm: float | None = None  # the acquisition's k-space extent as a pixel size (vendor profiles)
    taper: float = 0.0  # with acquired_mm: the reconstruction's k-space roll-off, 0 (sharp) - 1 (Hann)

    def __post_init__(self):
        if self.pixel_mm is not None and not 0.3 <= self.pixel_mm <= 5.0:
            raise ValueError(f"pixel_mm must be 0.3-5.0 mm, got {self.pixel_mm}")
        if self.acquired_mm is not None and not 0.3 <= self.acquired_mm <= 5.0:
            raise ValueError(f"acquired_mm must be 0.3-5.0 mm, got {self.acquired_mm}")
        if not 0.0 <= self.taper <= 1.0:
            raise ValueError(f"taper must be 0-1, got {self.taper}")
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
    0.3-0.5), noisy (SNR 8-15), export (gamma 0.7-1.4, 8-bit JPEG quality 60-80), all of them, or a vendor's
    acquisition and reconstruction (VENDOR_RANGES)."""
    if profile not in PROFILES:
        raise ValueError(f"MRI degradation must be one of {', '.join(PROFILES)}, got {profile!r}")
    if profile in VENDORS:  # each vendor its own stream: the same patient seed draws unrelated parameters
        rng = np.random.default_rng([seed, VENDORS.index(profile)])
        drawn = {k: float(rng.uniform(*r)) for k, r in VENDOR_RANGES[profile].items() if r is not None}
        return MriDegradation(pixel_mm=drawn.get("pixel_mm", drawn["acquired_mm"]), acquired_mm=drawn["acquired_mm"],
                              taper=drawn["taper"], bias_fraction=drawn["bias_fraction"], snr=drawn["snr"],
                              gamma=drawn["gamma"], seed=seed)
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
    from app.ml.augment import jpeg_round_trip

    x = np.asarray(images, np.float32)
    lo, hi = np.percentile(x, (0.5, 99.5))
    x = np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    rng = np.random.default_rng(degradation.seed)
    if degradation.acquired_mm is not None:
        x, spacing = _acquire(x, spacing, degradation, rng)
    elif degradation.pixel_mm is not None:
        x, spacing = _resample(x, spacing, degradation.pixel_mm)
    if degradation.bias_fraction > 0:
        x = x * _bias_field(x.shape[-2:], degradation.bias_fraction, rng)[None, None]
    if degradation.snr is not None and degradation.acquired_mm is None:
        sigma = float(np.mean(x[x > 0.2])) / degradation.snr if np.any(x > 0.2) else 1.0 / degradation.snr
        x = np.sqrt((x + rng.normal(0, sigma, x.shape)) ** 2 + rng.normal(0, sigma, x.shape) ** 2)
    x = np.clip(x / max(float(np.percentile(x, 99.5)), 1e-6), 0.0, 1.0) ** degradation.gamma
    out = np.round(x * 255).astype(np.uint8)
    if degradation.jpeg_quality is not None:
        for index in np.ndindex(out.shape[:2]):
            out[index] = jpeg_round_trip(out[index], degradation.jpeg_quality)
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


def _acquire(x: np.ndarray, spacing_mm: tuple[float, float], degradation: MriDegradation, rng: np.random.Generator
             ) -> tuple[np.ndarray, tuple[float, float]]:
    """(..., H, W) images 0..1 -> their magnitude as acquired to `acquired_mm` (k-space extent, `taper`), with
    complex noise of the same band at `snr`, zero-filled onto `pixel_mm` pixels (default: the input's), and the
    new spacing. The stored grid is centred on the input's, as the INTER_AREA resampling and to_original_grid
    centre theirs, so labels brought back land where they were."""
    h, w = x.shape[-2:]
    stored = degradation.pixel_mm
    out_h = max(8, int(round(h * spacing_mm[0] / stored))) if stored else h
    out_w = max(8, int(round(w * spacing_mm[1] / stored))) if stored else w
    out_spacing = (spacing_mm[0] * h / out_h, spacing_mm[1] * w / out_w)
    spectrum = np.fft.fft2(x.astype(np.float64))
    spectrum = _fit_spectrum(_fit_spectrum(spectrum, out_h, -2), out_w, -1) * (out_h * out_w / (h * w))
    band = np.ones((out_h, out_w))
    for axis, (n, step, old_step) in enumerate(zip((out_h, out_w), out_spacing, spacing_mm, strict=True)):
        freq = np.fft.fftfreq(n, d=step)  # cycles per mm
        # sample the stored pixel centres: pixel 0's centre lies half a stored minus half an input pixel inwards
        shift = np.exp(2j * np.pi * freq * 0.5 * (step - old_step))
        profile = _taper(freq, degradation.acquired_mm, degradation.taper) * shift
        band = band * (profile[:, None] if axis == 0 else profile[None, :])
    image = np.fft.ifft2(spectrum * band)
    if degradation.snr is not None:
        signal = x[x > 0.2]
        sigma = (float(signal.mean()) if signal.size else 1.0) / degradation.snr
        white = rng.normal(0, 1, x.shape[:-2] + (out_h, out_w)) + 1j * rng.normal(0, 1, x.shape[:-2] + (out_h, out_w))
        gain = np.abs(band)
        coloured = np.fft.ifft2(np.fft.fft2(white) * gain) / max(float(np.sqrt(np.mean(gain ** 2))), 1e-6)
        image = image + sigma * coloured
    return np.abs(image).astype(np.float32), out_spacing


def _fit_spectrum(spectrum: np.ndarray, n: int, axis: int) -> np.ndarray:
    """An FFT spectrum zero-padded or cropped to n samples along axis, frequencies kept in place."""
    old = spectrum.shape[axis]
    if n == old:
        return spectrum
    centred = np.fft.fftshift(spectrum, axes=axis)
    if n < old:
        start = old // 2 - n // 2
        fitted = np.take(centred, np.arange(start, start + n), axis=axis)
    else:
        pad = [(0, 0)] * spectrum.ndim
        pad[axis] = (n // 2 - old // 2, n - old - (n // 2 - old // 2))
        fitted = np.pad(centred, pad)
    return np.fft.ifftshift(fitted, axes=axis)


def _taper(freq: np.ndarray, acquired_mm: float | None, taper: float) -> np.ndarray:
    """k-space weights (0..1) of an acquisition to `acquired_mm` pixels: 1 inside, a raised-cosine roll-off over
    the outer `taper` of the extent, 0 beyond it (the frequencies the acquisition never sampled)."""
    if acquired_mm is None:
        return np.ones_like(freq)
    r = np.abs(freq) * 2.0 * acquired_mm  # 1 at the acquisition's edge
    inner = 1.0 - taper
    roll = 0.5 * (1.0 + np.cos(np.pi * np.clip((r - inner) / max(taper, 1e-9), 0.0, 1.0)))
    return np.where(r <= inner, 1.0, np.where(r <= 1.0, roll, 0.0))


def _bias_field(shape_hw: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth positive field of mean ~1 and peak-to-peak `fraction` (second-order polynomial in x, y)."""
    yy, xx = np.mgrid[-1:1:complex(0, shape_hw[0]), -1:1:complex(0, shape_hw[1])]
    coeffs = rng.normal(0, 1, 5)
    field = coeffs[0] * xx + coeffs[1] * yy + coeffs[2] * xx * yy + coeffs[3] * xx ** 2 + coeffs[4] * yy ** 2
    span = float(field.max() - field.min()) or 1.0
    return (1.0 + fraction * (field - field.mean()) / span).astype(np.float32)
