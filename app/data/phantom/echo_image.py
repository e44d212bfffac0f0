"""B-mode image formation for the phantom: moving scatterers -> beamformed speckle -> fan image.

Scatterers are attached to material coordinates of the tissue (myocardium (p, w), the tissue shell
around the epicardium (p, d_mm), the atria and aortic root (phi, rho)), so the speckle moves with the
true motion and decorrelates slowly (a small fraction is replaced every frame). Background tissue is
static; blood gets fresh weak scatterers each frame. Each frame: complex amplitudes with the phase of
the two-way path are splatted on a polar (range, beam) grid, convolved with a Gaussian point-spread
function (lateral width fixed in angle, so it grows with depth), attenuated, mixed with clutter and
electronic noise, compensated by time-gain compensation, envelope-detected, log-compressed and
scan-converted with cv2.remap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from app.data.phantom.echo_scatterers import RV_EXTENT_MM, HeartScatterers, _outward_normal
from app.data.phantom.probe import Probe
from app.data.phantom.section import Section

TWO_K0_PER_MM = 4.0 * np.pi / (1.54 / 3.0)  # 3 MHz, c = 1540 m/s
DR_MM = 0.2  # range sampling of the polar grid
BEAM_DEG = 0.35  # beam spacing
PSF_AXIAL_MM = 0.4
PSF_LATERAL_DEG = 1.0
ATTENUATION_DB_PER_MM = 0.25  # two-way, 3 MHz soft tissue
REFERENCE_DENSITY_PER_MM2 = 4.0
DISPLAY_REF_DB = 8.0  # echo level shown white


@dataclass(frozen=True)
class Quality:
    noise: float  # electronic noise (relative to myocardium echo at 0 dB)
    haze: float  # near-field clutter over the apex
    dropout: float  # 0..1 depth of lateral-wall dropout
    shadows: int  # acoustic shadows
    dynamic_range_db: float
    tgc_error_db: float  # residual depth gain error after TGC


QUALITY = {
    "excellent": Quality(0.0005, 0.03, 0.0, 0, 55.0, 1.0),
    "good": Quality(0.0012, 0.15, 0.35, 1, 52.0, 2.5),
    "fair": Quality(0.0018, 0.35, 0.65, 1, 50.0, 4.0),
    "poor": Quality(0.002, 0.7, 0.9, 2, 46.0, 6.0),
}


class EchoRenderer(HeartScatterers):
    """Renders frames of one phantom clip. Construct once per clip (it owns the scatterers)."""

    def __init__(self, probe: Probe, view: str, quality: str, rng: np.random.Generator, ed_section: Section,
                 scar: np.ndarray | None = None):
        """scar: optional (N,) 0..1 infarct membership on ed_section.p (fibrotic scar echoes brighter)."""
        self.probe = probe
        self.view = view
        self.q = QUALITY[quality]
        self.rng = rng
        self.n_r = int(np.ceil(probe.depth_mm / DR_MM)) + 1
        self.n_b = int(np.ceil(probe.sector_deg / BEAM_DEG)) + 1
        self._phi_grids: dict[int, np.ndarray] = {}
        self._scar = scar
        self._make_wall_scatterers(ed_section)
        self._make_background()
        self._make_clutter_and_shadows()
        self._remap = self._scan_conversion_maps()
        sig = (PSF_AXIAL_MM / DR_MM, PSF_LATERAL_DEG / BEAM_DEG)
        self._psf_power = 1.0 / (4.0 * np.pi * sig[0] * sig[1])  # sum of squared Gaussian weights
        rr = np.arange(self.n_r)[:, None] * DR_MM
        self._attenuation = np.exp(-np.log(10) / 20 * ATTENUATION_DB_PER_MM * rr)
        bg_r, bg_b = self._grid_coords(self.bg_uy)
        self.bg_grid = self._splat(bg_r, bg_b, self.bg_a)

    # -- scatterer sets ------------------------------------------------------------------
    def _make_background(self) -> None:
        """Static tissue scatterers over the fan, reflectivity from a smooth random field."""
        rng = self.rng
        area = 0.5 * self.probe.depth_mm**2 * np.deg2rad(self.probe.sector_deg)
        n = int(4.0 * area)
        r = self.probe.depth_mm * np.sqrt(rng.uniform(0.0, 1.0, n))
        a = rng.uniform(-1.0, 1.0, n) * self.probe.half_angle_rad
        self.bg_uy = np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
        coarse = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 4.0)
        fine = ndimage.gaussian_filter(rng.normal(size=(64, 64)), 1.2)
        field = coarse / (coarse.std() + 1e-9) + 0.6 * fine / (fine.std() + 1e-9)
        fi = np.clip((r / self.probe.depth_mm) * 63, 0, 63).astype(int)
        fj = np.clip((a / (2 * self.probe.half_angle_rad) + 0.5) * 63, 0, 63).astype(int)
        refl = 0.26 * np.exp(0.45 * field[fi, fj])  # log-normal tissue reflectivity
        # a few bright fascia-like streaks
        for _ in range(4):
            r0, a0 = rng.uniform(0.2, 0.95) * self.probe.depth_mm, rng.uniform(-1.0, 1.0) * self.probe.half_angle_rad
            along = np.abs(a - a0) * r < rng.uniform(10.0, 30.0)
            refl = np.where(along & (np.abs(r - r0 - 8.0 * np.sin(3.0 * a)) < 1.2), refl + 0.5, refl)
        refl = np.clip(refl, 0.03, 1.2)
        self.bg_a = refl * (rng.normal(size=n) + 1j * rng.normal(size=n))

    def _make_clutter_and_shadows(self) -> None:
        """Static reverberation haze near the apex and beam-wise acoustic shadows (polar grids)."""
        rng = self.rng
        r = np.arange(self.n_r)[:, None] * DR_MM
        b = (np.arange(self.n_b)[None, :] / (self.n_b - 1) - 0.5) * self.probe.sector_deg
        apex_r, apex_a = self.probe.polar(np.array(self.probe.apex_mm))
        profile = np.exp(-0.5 * ((r - 0.8 * apex_r) / (0.55 * apex_r + 8.0)) ** 2)
        profile = profile * np.exp(-0.5 * ((b - np.rad2deg(apex_a)) / 18.0) ** 2)
        noise = rng.normal(size=(self.n_r, self.n_b)) + 1j * rng.normal(size=(self.n_r, self.n_b))
        smooth = ndimage.gaussian_filter(noise.real, (3, 2)) + 1j * ndimage.gaussian_filter(noise.imag, (3, 2))
        self.haze = self.q.haze * profile * smooth / np.std(smooth)
        gain = np.ones((self.n_r, self.n_b))
        for _ in range(self.q.shadows):
            centre = rng.choice([-1.0, 1.0]) * rng.uniform(0.55, 0.85) * self.probe.sector_deg / 2.0
            width = rng.uniform(3.0, 7.0)
            start = rng.uniform(0.1, 0.45) * self.probe.depth_mm
            beam_w = np.exp(-0.5 * ((b - centre) / width) ** 2)
            depth_w = 1.0 / (1.0 + np.exp(-(r - start) / 3.0))
            gain *= 1.0 - 0.8 * beam_w * depth_w
        self.shadow_gain = gain
        cycles, offset = rng.uniform(0.6, 1.4), rng.uniform(0, 6.3)
        tgc_err = self.q.tgc_error_db * np.sin(2 * np.pi * (r / self.probe.depth_mm) * cycles + offset)
        self.tgc_gain = 10.0 ** (tgc_err / 20.0) * np.ones((1, self.n_b))

    def _scan_conversion_maps(self) -> tuple[np.ndarray, np.ndarray]:
        r, a = self.probe.pixel_polar()
        map_r = (r / DR_MM).astype(np.float32)
        map_b = ((a / (2 * self.probe.half_angle_rad) + 0.5) * (self.n_b - 1)).astype(np.float32)
        outside = (r > self.probe.depth_mm) | (np.abs(a) > self.probe.half_angle_rad)
        map_r[outside] = -10.0
        return map_b, map_r

    # -- per frame -----------------------------------------------------------------------
    def render(self, sec: Section, filling: float) -> np.ndarray:
        """(H, W) uint8 B-mode frame for the section; filling in 0..1 opens the mitral valve."""
        self._filling = filling
        self._refresh()
        pos_h, amp_h = self._wall_positions(sec)
        heart_uy = self.probe.heart_to_image_mm(np.concatenate(pos_h))
        heart_a = np.concatenate(amp_h) * self._angle_gain(sec, heart_uy, sum(len(a) for a in amp_h))
        fr, fb = self._grid_coords(heart_uy)
        cavity = self._polar_mask([sec.endo])
        ir = np.clip(np.round(fr).astype(int), 0, self.n_r - 1)
        inside = cavity[ir, np.clip(np.round(fb).astype(int), 0, self.n_b - 1)]
        keep = ~inside  # no tissue echo inside the LV cavity (the mitral leaflets excepted)
        keep[-self.leaf_a.size:] = True
        grid = self._splat(fr[keep], fb[keep], heart_a[keep])
        grid += self.bg_grid * ~self._polar_mask(self._hull_polygons(sec))
        return self._to_image(self._form_iq(grid))

    def _grid_coords(self, uy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (range, beam) indices of image points (N, 2)."""
        r, ang = self.probe.polar(uy)
        return r / DR_MM, (ang / (2 * self.probe.half_angle_rad) + 0.5) * (self.n_b - 1)

    def _polar_mask(self, polygons: list[np.ndarray]) -> np.ndarray:
        """(n_r, n_b) bool: union of heart-plane polygons rasterised on the polar grid."""
        mask = np.zeros((self.n_r, self.n_b), np.uint8)
        for poly in polygons:
            fr, fb = self._grid_coords(self.probe.heart_to_image_mm(poly))
            pts = np.round(np.stack([fb, fr], axis=1) * 16).astype(np.int32)
            cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
        return mask.astype(bool)

    def _hull_polygons(self, sec: Section) -> list[np.ndarray]:
        """Polygons of the region owned by the moving heart scatterers (background hidden there)."""
        normal = _outward_normal(sec.epi)
        extent = self.shell_extent + np.where((self.view == "a4c") & (sec.p < -0.25), RV_EXTENT_MM, 0.0)
        outer = sec.epi + extent[:, None] * normal
        polys = [np.concatenate([sec.epi, outer[::-1]]), sec.myocardium_outline(), sec.endo]
        for name in self.chambers:
            outline, centre = self._chamber_outline(name, sec)
            polys.append(centre + 1.3 * (outline - centre))
        return polys

    def _splat(self, fr: np.ndarray, fb: np.ndarray, amp: np.ndarray) -> np.ndarray:
        """(n_r, n_b) complex grid of point scatterers at fractional polar indices (bilinear splat),
        with the two-way phase, the density normalisation and the attenuation of their range."""
        ok = (fr >= 0) & (fr < self.n_r - 1) & (fb >= 0) & (fb < self.n_b - 1)
        fr, fb, amp = fr[ok], fb[ok], amp[ok]
        r = fr * DR_MM
        # scatterers per polar cell grow with range: normalise so unit reflectivity at the reference
        # density gives unit mean power at any depth
        cell_mm2 = DR_MM * np.maximum(r, 1.0) * np.deg2rad(BEAM_DEG)
        gain = np.exp(-np.log(10) / 20 * ATTENUATION_DB_PER_MM * r) / np.sqrt(
            2.0 * REFERENCE_DENSITY_PER_MM2 * cell_mm2 * self._psf_power)
        val = amp * gain * np.exp(1j * TWO_K0_PER_MM * r)
        r0, b0 = np.floor(fr).astype(int), np.floor(fb).astype(int)
        dr, db = fr - r0, fb - b0
        size = self.n_r * self.n_b
        base = r0 * self.n_b + b0
        idx = np.concatenate([base, base + self.n_b, base + 1, base + self.n_b + 1])
        w = np.concatenate([(1 - dr) * (1 - db), dr * (1 - db), (1 - dr) * db, dr * db])
        v = np.tile(val, 4) * w
        grid = np.bincount(idx, weights=v.real, minlength=size) + 1j * np.bincount(idx, weights=v.imag, minlength=size)
        return grid.reshape(self.n_r, self.n_b)

    def _form_iq(self, grid: np.ndarray) -> np.ndarray:
        """Point-spread function, shadows, noise, TGC and clutter: (n_r, n_b) complex."""
        sig = (PSF_AXIAL_MM / DR_MM, PSF_LATERAL_DEG / BEAM_DEG)
        iq = ndimage.gaussian_filter(grid.real, sig) + 1j * ndimage.gaussian_filter(grid.imag, sig)
        noise = self.rng.normal(size=iq.shape) + 1j * self.rng.normal(size=iq.shape)
        iq = iq * self.shadow_gain + self.q.noise * noise  # noise enters after attenuation...
        return iq / self._attenuation * self.tgc_gain + self.haze  # ...TGC lifts it with depth; clutter on top

    def _to_image(self, iq: np.ndarray) -> np.ndarray:
        env = np.abs(iq)
        db = 20.0 * np.log10(env + 1e-12)
        grey = np.clip((db - DISPLAY_REF_DB) / self.q.dynamic_range_db + 1.0, 0.0, 1.0) ** 1.5 * 255.0
        map_b, map_r = self._remap
        img = cv2.remap(grey.astype(np.float32), map_b, map_r, interpolation=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)
