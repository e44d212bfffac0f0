"""Scanner geometry of the phantom echo: a phased-array fan with the probe at the top centre.

Image millimetres: `u` lateral (0 on the centre beam, positive to the right), `y` depth from the probe.
Pixels: row = y / spacing, col = u / spacing + (W - 1) / 2 (square pixels, centres at integers).
Heart-plane coordinates (x lateral, z along the long axis from the apex) map to the image by placing the
endocardial apex at `apex_mm` and rotating the long axis by `tilt` from the vertical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Probe:
    depth_mm: float
    sector_deg: float
    shape_px: tuple[int, int]
    apex_mm: tuple[float, float]  # (u, y) of the endocardial apex
    tilt_deg: float

    @property
    def half_angle_rad(self) -> float:
        return float(np.deg2rad(self.sector_deg) / 2.0)

    @property
    def spacing_mm(self) -> float:
        """Square pixel size so the whole fan fits the image."""
        rows, cols = self.shape_px
        fan_width = 2.0 * self.depth_mm * np.sin(self.half_angle_rad)
        return float(max(self.depth_mm / (rows - 1), fan_width / (cols - 1)))

    def heart_to_image_mm(self, xz: np.ndarray) -> np.ndarray:
        """(..., 2) heart-plane (x, z) mm -> (..., 2) image (u, y) mm."""
        t = np.deg2rad(self.tilt_deg)
        x, z = xz[..., 0], xz[..., 1]
        u = self.apex_mm[0] + z * np.sin(t) + x * np.cos(t)
        y = self.apex_mm[1] + z * np.cos(t) - x * np.sin(t)
        return np.stack([u, y], axis=-1)

    def image_mm_to_px(self, uy: np.ndarray) -> np.ndarray:
        """(..., 2) image (u, y) mm -> (..., 2) (row, col) pixels."""
        s = self.spacing_mm
        return np.stack([uy[..., 1] / s, uy[..., 0] / s + (self.shape_px[1] - 1) / 2.0], axis=-1)

    def heart_to_px(self, xz: np.ndarray) -> np.ndarray:
        return self.image_mm_to_px(self.heart_to_image_mm(xz))

    def polar(self, uy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Range (mm) and beam angle (rad, positive to the right) of image points (..., 2)."""
        return np.hypot(uy[..., 0], uy[..., 1]), np.arctan2(uy[..., 0], uy[..., 1])

    def pixel_polar(self) -> tuple[np.ndarray, np.ndarray]:
        """(H, W) range (mm) and angle (rad) of every pixel centre."""
        rows, cols = self.shape_px
        s = self.spacing_mm
        y = np.arange(rows, dtype=np.float64)[:, None] * s
        u = (np.arange(cols, dtype=np.float64)[None, :] - (cols - 1) / 2.0) * s
        return np.hypot(u, y), np.arctan2(u, y)

    def sector_mask(self) -> np.ndarray:
        """(H, W) bool, True inside the fan."""
        r, a = self.pixel_polar()
        return (r <= self.depth_mm) & (np.abs(a) <= self.half_angle_rad)

    def contains(self, uy: np.ndarray, margin_deg: float = 1.0, margin_mm: float = 2.0) -> bool:
        """True when all image points (N, 2) lie inside the fan with a margin."""
        r, a = self.polar(uy)
        max_angle = self.half_angle_rad - np.deg2rad(margin_deg)
        return bool(np.all(r <= self.depth_mm - margin_mm) and np.all(np.abs(a) <= max_angle))
