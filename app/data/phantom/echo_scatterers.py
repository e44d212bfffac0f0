"""Scatterers attached to the phantom heart for the echo renderer (a mixin of EchoRenderer).

Material coordinates: myocardium (p, w) with p along the wall (-1 left base .. 1 right base) and w
across it; the tissue shell outside the epicardium (p, d_mm), which holds the pericardium and, in the
4-chamber view, the right ventricle; the atria and aortic root (phi, rho) around their outlines; the
mitral leaflets (t along each leaflet). Their positions follow the section of each frame, so the
speckle moves with the true motion; a small fraction is replaced every frame (slow decorrelation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from app.data.phantom.section import Section

if TYPE_CHECKING:  # echo_image imports this module
    from app.data.phantom.echo_image import Quality
    from app.data.phantom.probe import Probe

REPLACE_FRACTION = 0.015  # scatterers replaced per frame
RV_EXTENT_MM = 30.0
BLOOD_DENSITY = 1.5  # scatterers per mm2 in the atria (weak echoes need few)

_LERP_CACHE: dict = {}


def _interp_rows(p: np.ndarray, grid_p: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Interpolate (M, 2) contour values given on grid_p (M,) at material coordinates p (N,) -> (N, 2).

    The material coordinates of scatterers never change, so the bracketing indices are cached."""
    key = (id(p), p.shape, id(grid_p), grid_p.shape)
    if key not in _LERP_CACHE or _LERP_CACHE[key][0] is not p:
        idx = np.clip(np.searchsorted(grid_p, p) - 1, 0, len(grid_p) - 2)
        frac = np.clip((p - grid_p[idx]) / (grid_p[idx + 1] - grid_p[idx]), 0.0, 1.0)[:, None]
        if len(_LERP_CACHE) > 64:
            _LERP_CACHE.clear()
        _LERP_CACHE[key] = (p, grid_p, idx, frac)
    _, _, idx, frac = _LERP_CACHE[key]
    return values[idx] * (1.0 - frac) + values[idx + 1] * frac


def _outward_normal(contour: np.ndarray) -> np.ndarray:
    """(N, 2) unit normals pointing away from the cavity of a base-apex-base contour (x, z)."""
    t = np.gradient(contour, axis=0)
    n = np.stack([t[:, 1], -t[:, 0]], axis=1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)


class HeartScatterers:
    """Heart-attached scatterer sets; expects `rng`, `view`, `probe`, `q` (Quality) and `_scar` set by the
    renderer before `_make_wall_scatterers` runs."""

    rng: np.random.Generator
    view: str
    probe: Probe
    q: Quality
    _scar: np.ndarray | None
    _phi_grids: dict[int, np.ndarray]
    _filling: float

    def _make_wall_scatterers(self, sec: Section) -> None:
        rng = self.rng
        area = float(np.mean(sec.thickness)) * 2.0 * np.sum(np.linalg.norm(np.diff(sec.endo, axis=0), axis=1)) / 2.0
        n_myo = int(7.0 * area)
        self.myo_p = rng.uniform(-1.0, 1.0, n_myo)
        self.myo_w = rng.uniform(0.0, 1.0, n_myo)
        self.myo_a = rng.normal(size=n_myo) + 1j * rng.normal(size=n_myo)
        # the shell around the epicardium: pericardium, then tissue (and the RV in the 4-chamber view)
        rv = self.view == "a4c"
        n_shell = int(6.0 * 2.0 * 100.0 * (18.0 + (20.0 if rv else 0.0)))
        self.sh_p = rng.uniform(-1.0, 1.0, n_shell)
        d_max = 16.0 + np.where(rv & (self.sh_p < -0.25), RV_EXTENT_MM, 0.0)
        self.sh_d = rng.uniform(0.0, 1.0, n_shell) * d_max
        self.sh_a = (rng.normal(size=n_shell) + 1j * rng.normal(size=n_shell)) * self._shell_reflectivity(rv)
        self.shell_extent = 16.0
        # chambers attached to the annulus: (phi, rho) around the LA (and RA / aortic root)
        self.chambers = ["la"] + (["ra"] if rv else []) + (["ao"] if self.view == "a3c" else [])
        la_area = 0.5 * abs(float(np.sum(sec.la[:-1, 0] * sec.la[1:, 1] - sec.la[1:, 0] * sec.la[:-1, 1])))
        n_blood, n_wall = int(BLOOD_DENSITY * la_area), int(6.0 * la_area * (1.35**2 - 1.0))
        n_ch = n_blood + n_wall
        self.ch_phi = {c: rng.uniform(0.0, 1.0, n_ch) for c in self.chambers}
        self.ch_rho = {c: np.sqrt(np.concatenate([rng.uniform(0.0, 1.0, n_blood), rng.uniform(1.0, 1.35**2, n_wall)]))
                       for c in self.chambers}
        self.ch_a = {c: (rng.normal(size=n_ch) + 1j * rng.normal(size=n_ch))
                     * self._chamber_reflectivity(self.ch_rho[c])
                     for c in self.chambers}
        # mitral leaflets: material points along each leaflet (t) and across (thickness)
        n_leaf = 500
        self.leaf_t = rng.uniform(0.0, 1.0, (2, n_leaf))
        self.leaf_off = rng.normal(0.0, 0.4, (2, n_leaf))
        self.leaf_a = 0.9 * (rng.normal(size=(2, n_leaf)) + 1j * rng.normal(size=(2, n_leaf)))
        # brightness of each wall scatterer: a smooth random field over (p, w) (fibre direction, local
        # texture), darker trabeculated endocardial layer, brighter epicardial layer
        field = ndimage.gaussian_filter(rng.normal(size=(48, 8)), (1.5, 1.0), mode="wrap")
        field = (field - field.mean()) / (field.std() + 1e-9)
        ip = np.clip(((self.myo_p + 1.0) / 2.0 * 47).astype(int), 0, 47)
        iw = np.clip((self.myo_w * 7).astype(int), 0, 7)
        layer = 0.75 + 0.35 * self.myo_w**2 - 0.25 * np.exp(-self.myo_w / 0.12)
        self.myo_brightness = np.clip(0.62 * layer * (1.0 + 0.3 * field[ip, iw]), 0.15, 1.5)
        if self._scar is not None:
            self.myo_brightness *= 1.0 + 0.8 * np.interp(self.myo_p, sec.p, self._scar)

    def _shell_reflectivity(self, rv: bool) -> np.ndarray:
        d, p = self.sh_d, self.sh_p
        amp = 0.45 + 1.1 * np.exp(-0.5 * ((d - 2.0) / 1.0) ** 2)  # bright pericardium
        if rv:
            taper = np.clip((-p - 0.25) / 0.25, 0.0, 1.0) ** 0.6 * np.clip((1.02 + p) / 0.05, 0.0, 1.0)
            width = (RV_EXTENT_MM - 10.0) * taper
            cavity = (p < -0.25) & (d > 4.0) & (d < 4.0 + width)
            wall = (p < -0.25) & (d >= 4.0 + width) & (d < 8.0 + width) & (width > 1.0)
            amp = np.where(cavity, 0.012, amp)
            amp = np.where(wall, 0.9, amp)
        return amp

    @staticmethod
    def _chamber_reflectivity(rho: np.ndarray) -> np.ndarray:
        blood = 0.012 * np.sqrt(6.0 / BLOOD_DENSITY)  # same echo power as blood at the tissue density
        return np.where(rho < 1.0, blood, np.where(rho < 1.12, 0.55, 0.3))

    def _refresh(self) -> None:
        """Replace a small random fraction of the wall scatterers (slow speckle decorrelation)."""
        n = len(self.myo_a)
        k = self.rng.random(n) < REPLACE_FRACTION
        self.myo_a[k] = self.rng.normal(size=k.sum()) + 1j * self.rng.normal(size=k.sum())

    def _wall_positions(self, sec: Section) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Heart-plane positions and amplitudes of the heart-attached scatterers at this frame."""
        pos, amp = [], []
        endo = _interp_rows(self.myo_p, sec.p, sec.endo)
        epi = _interp_rows(self.myo_p, sec.p, sec.epi)
        pos.append(endo + self.myo_w[:, None] * (epi - endo))
        amp.append(self.myo_a * self.myo_brightness)
        normal = _outward_normal(sec.epi)
        epi_s = _interp_rows(self.sh_p, sec.p, sec.epi)
        n_s = _interp_rows(self.sh_p, sec.p, normal)
        n_s /= np.linalg.norm(n_s, axis=1, keepdims=True)
        pos.append(epi_s + self.sh_d[:, None] * n_s)
        amp.append(self.sh_a)
        for name in self.chambers:
            outline, centre = self._chamber_outline(name, sec)
            phi_grid = self._phi_grids.setdefault(len(outline), np.linspace(0.0, 1.0, len(outline)))
            edge = _interp_rows(self.ch_phi[name], phi_grid, outline)
            pos.append(centre + self.ch_rho[name][:, None] * (edge - centre))
            amp.append(self.ch_a[name])
        p_leaf, a_leaf = self._leaflets(sec)
        pos.append(p_leaf)
        amp.append(a_leaf)
        return pos, amp

    def _chamber_outline(self, name: str, sec: Section) -> tuple[np.ndarray, np.ndarray]:
        """Closed outline (M, 2) and centre (2,) of an atrium or the aortic root in heart-plane mm."""
        la = np.concatenate([sec.la, sec.la[:1]])
        left, right = sec.annulus
        centre = 0.5 * (left + right) + 0.45 * (sec.la[len(sec.la) // 2] - 0.5 * (left + right))
        if name == "la":
            return la, centre
        if name == "ra":
            shift = np.array([-(np.hypot(*(right - left)) * 1.1 + 6.0), 3.0])
            ra = centre + 0.92 * (la - centre) + shift
            return ra, centre + shift
        phi = np.linspace(0.0, 2.0 * np.pi, 60)
        tilt = np.deg2rad(35.0)
        ell = np.stack([11.0 * np.cos(phi), 24.0 * np.sin(phi)], axis=1)
        rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
        c = right + np.array([16.0, 8.0])
        return c + ell @ rot.T, c

    def _leaflets(self, sec: Section) -> tuple[np.ndarray, np.ndarray]:
        """Mitral leaflets hinged at the annulus: open toward the apex in diastole, closed in systole."""
        left, right = sec.annulus
        width = float(np.hypot(*(right - left)))
        openness = float(np.clip(self._filling, 0.0, 1.0))
        axis = (right - left) / max(width, 1e-6)
        down = np.array([-axis[1], axis[0]]) * (1.0 if axis[0] >= 0 else -1.0)  # toward the atrium
        if down[1] < 0:
            down = -down
        pts = []
        for i, (hinge, toward, frac) in enumerate(((left, axis, 0.45), (right, -axis, 0.58))):
            closed = toward + np.tan(np.deg2rad(10.0)) * down  # across, bowing slightly into the atrium
            opened = 0.26 * toward - 0.97 * down  # pointing to the apex
            direction = (1.0 - openness) * closed / np.linalg.norm(closed) + openness * opened
            direction /= np.linalg.norm(direction)
            normal = np.array([-direction[1], direction[0]])
            t = self.leaf_t[i][:, None] * frac * width
            pts.append(hinge + t * direction + self.leaf_off[i][:, None] * normal)
        return np.concatenate(pts), self.leaf_a.reshape(-1)

    def _angle_gain(self, sec: Section, uy: np.ndarray, n: int) -> np.ndarray:
        """Specular wall echo: walls parallel to the beam return less (lateral-wall dropout)."""
        n_myo = len(self.myo_p)
        gain = np.ones(n)
        normal = _interp_rows(self.myo_p, sec.p, _outward_normal(sec.epi))
        t = np.deg2rad(self.probe.tilt_deg)
        beam = uy[:n_myo] / np.maximum(np.linalg.norm(uy[:n_myo], axis=1, keepdims=True), 1e-6)
        n_img = np.stack([normal[:, 0] * np.cos(t) + normal[:, 1] * np.sin(t),
                          -normal[:, 0] * np.sin(t) + normal[:, 1] * np.cos(t)], axis=1)
        cos_inc = np.abs(np.sum(n_img * beam, axis=1))
        spec = 0.55 + 0.45 * cos_inc
        lateral = np.clip((self.myo_p - 0.15) / 0.25, 0.0, 1.0) * np.clip((0.85 - self.myo_p) / 0.15, 0.0, 1.0)
        spec *= 1.0 - self.q.dropout * lateral * (1.0 - cos_inc) ** 0.5
        gain[: min(n_myo, n)] = spec[: min(n_myo, n)]
        return gain
