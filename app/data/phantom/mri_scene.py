"""The thorax and heart of the MRI phantom, rendered per slice and phase (SSFP-like contrast).

`Rings` gives the endo/epicardial radius per azimuth at a height for one wall state; `MriScene` owns
the static anatomy (chest wall, lungs, spine, aorta, liver), draws the RV, the LV with papillary
muscles, apical trabeculae (when asked) and infarcts, averages over the slice thickness, applies a coil
bias field and Rician noise, and rasterises the truth labels.

Apical trabeculae (MriPhantomParams.apical_trabeculae_mm > 0): toward the apex the compact wall is lined
by a spongy layer of muscle strands and blood that the scanner blurs into a grey rim between the bright
pool and the dark wall. Expert contours of real cine MR (the Sunnybrook set) trace the bright blood there
and leave the rim to the myocardium, so the phantom labels it myocardium: the cavity label stops at the
rim's inner edge. Papillary muscles in mid-ventricular slices stay cavity, as in those contours.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage, special

from app.data.phantom.heart import HeartModel, WallState
from app.data.phantom.params import MriPhantomParams
from app.data.phantom.raster import fill_polygon

N_PSI = 180
OVERSAMPLE = 2
NOISE_SIGMA = {"excellent": 0.008, "good": 0.02, "fair": 0.04, "poor": 0.075}
INTENSITY = {"blood": 1.0, "myo": 0.24, "fat": 0.8, "muscle": 0.26, "lung": 0.04, "liver": 0.34, "body": 0.4}
FULL_SCALE = 1800.0  # uint16 value of intensity 1
TRABECULAE_FULL_BELOW = 0.2  # fraction of the cavity length above the apex below which the layer is full width
TRABECULAE_END = 0.45  # ... and above which there is none (linear taper between)
TRABECULAE_MAX_RADIUS_SHARE = 0.5  # the layer never takes more than half the cavity radius
TRABECULAE_MUSCLE = (0.25, 0.75)  # share of muscle in the layer at its inner edge and at the compact wall


def _rows_interp(z: float, zs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Interpolate each row of values (n, N) at z, where each row of zs (n, N) increases."""
    idx = np.clip((zs < z).sum(axis=1) - 1, 0, zs.shape[1] - 2)
    rows = np.arange(zs.shape[0])
    z0, z1 = zs[rows, idx], zs[rows, idx + 1]
    frac = np.clip((z - z0) / np.maximum(z1 - z0, 1e-12), 0.0, 1.0)
    return values[rows, idx] * (1.0 - frac) + values[rows, idx + 1] * frac


class Rings:
    """Endo/epi radius per azimuth at a height z for one wall state (None where absent)."""

    def __init__(self, state: WallState):
        self.state = state
        self.epi_r, self.epi_z = state.wall_point(1.0)

    def at(self, z_mm: float) -> tuple[np.ndarray | None, np.ndarray | None]:
        st = self.state
        endo = None
        if 0.0 <= z_mm <= float(st.endo_z[:, -1].min()):
            endo = _rows_interp(z_mm, st.endo_z, st.endo_r)
        epi = None
        if float(self.epi_z[:, 0].max()) <= z_mm <= float(self.epi_z[:, -1].min()):
            epi = _rows_interp(z_mm, self.epi_z, self.epi_r)
        if endo is not None and epi is not None:
            epi = np.maximum(epi, endo + 0.5)
        return endo, epi


class MriScene:
    """Static anatomy around the heart and the rendering of one slice image."""

    def __init__(self, params: MriPhantomParams, model: HeartModel, rng: np.random.Generator):
        self.params = params
        self.model = model
        self.n = params.image_px
        self.px = params.pixel_mm
        self.centre_px = (0.47 * self.n, 0.56 * self.n)  # (row, col) of the long axis
        self.psi = np.deg2rad(np.arange(N_PSI) * (360.0 / N_PSI))
        self.infarct = model.infarct_weight(np.arange(N_PSI) * (360.0 / N_PSI))  # (N_PSI, N_U)
        m = self.n * OVERSAMPLE
        yy, xx = np.mgrid[0:m, 0:m].astype(np.float64)
        self.y_mm = (yy + 0.5) / OVERSAMPLE * self.px - self.centre_px[0] * self.px  # down
        self.x_mm = (xx + 0.5) / OVERSAMPLE * self.px - self.centre_px[1] * self.px  # right
        bias = ndimage.gaussian_filter(rng.normal(size=(8, 8)), 1.5)
        bias = cv2.resize(bias / (np.abs(bias).max() + 1e-9), (self.n, self.n), interpolation=cv2.INTER_CUBIC)
        self.bias = 1.0 + 0.18 * bias + 0.12 * np.linspace(1, -1, self.n)[:, None]
        self.background = self._anatomy(rng)
        self._mediastinum = self._ellipse(-14.0, 2.0, 54.0, 48.0)
        self._radius_mm = np.hypot(self.x_mm, self.y_mm)
        self._angle = np.mod(np.arctan2(-self.y_mm, self.x_mm), 2 * np.pi)
        self.rng = rng
        self.sigma = NOISE_SIGMA[params.quality]
        self._sponge = None
        if params.apical_trabeculae_mm > 0:  # drawn only then: phantoms without trabeculae stay bit-identical
            sponge = ndimage.gaussian_filter(rng.normal(size=(m, m)), 0.35 * OVERSAMPLE)
            self._sponge = special.ndtr(sponge / sponge.std())  # uniform 0..1, fine-grained (sub-mm strands)

    def _ellipse(self, cx: float, cy: float, ax: float, ay: float, angle_deg: float = 0.0) -> np.ndarray:
        """(m, m) bool ellipse in mm relative to the LV axis (x right, y down)."""
        out = np.zeros(self.x_mm.shape, bool)
        step = self.px / OVERSAMPLE
        reach = max(ax, ay)
        col0, row0 = self.x_mm[0, 0], self.y_mm[0, 0]
        c_lo, c_hi = (int(np.floor((cx - reach - col0) / step)), int(np.ceil((cx + reach - col0) / step)) + 1)
        r_lo, r_hi = (int(np.floor((cy - reach - row0) / step)), int(np.ceil((cy + reach - row0) / step)) + 1)
        m = out.shape[0]
        c_lo, r_lo, c_hi, r_hi = max(c_lo, 0), max(r_lo, 0), min(c_hi, m), min(r_hi, m)
        if c_lo >= c_hi or r_lo >= r_hi:
            return out
        t = np.deg2rad(angle_deg)
        x = self.x_mm[r_lo:r_hi, c_lo:c_hi] - cx
        y = self.y_mm[r_lo:r_hi, c_lo:c_hi] - cy
        u, v = x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)
        out[r_lo:r_hi, c_lo:c_hi] = (u / ax) ** 2 + (v / ay) ** 2 <= 1.0
        return out

    def _anatomy(self, rng: np.random.Generator) -> np.ndarray:
        """(m, m) intensity of the thorax without the heart (oversampled grid, SSFP-like contrast)."""
        e = self._ellipse
        img = np.zeros_like(self.x_mm)
        torso = e(-18.0, 8.0, 168.0, 122.0)
        img[torso] = INTENSITY["fat"]
        img[e(-18.0, 10.0, 156.0, 110.0)] = INTENSITY["muscle"]
        img[e(-18.0, 12.0, 144.0, 98.0)] = INTENSITY["body"]
        for side in (-1.0, 1.0):  # pectoral muscles and ribs
            img[e(-18.0 + side * 55.0, -88.0, 48.0, 12.0, side * 12.0)] = INTENSITY["muscle"] * 1.1
        for k in range(-5, 6):
            ang = np.deg2rad(90.0 + 17.0 * k)
            cx, cy = -18.0 + 138.0 * np.cos(ang), 12.0 + 92.0 * np.sin(ang) * -1.0
            img[e(cx, cy, 6.0, 4.0, np.degrees(ang))] = 0.12
            img[e(cx, cy, 3.5, 2.0, np.degrees(ang))] = 0.55
        # lungs with bright vessels
        for cx, cy, ax, ay, ang in ((-100.0, 5.0, 52.0, 78.0, -8.0), (62.0, 10.0, 50.0, 74.0, 10.0)):
            lung = e(cx, cy, ax, ay, ang)
            img[lung] = INTENSITY["lung"]
            for _ in range(14):
                vx, vy = cx + rng.uniform(-0.7, 0.7) * ax, cy + rng.uniform(-0.7, 0.7) * ay
                img[lung & e(vx, vy, rng.uniform(1.0, 2.6), rng.uniform(1.0, 2.6))] = 0.5
        img[e(-20.0, -92.0, 9.0, 6.0)] = 0.5  # sternum
        img[e(-25.0, 92.0, 20.0, 17.0)] = 0.45  # vertebral body
        img[e(-25.0, 117.0, 7.0, 6.0)] = 0.95  # spinal canal (CSF)
        img[e(-25.0, 117.0, 3.0, 3.0)] = 0.35  # cord
        img[e(8.0, 72.0, 11.5, 11.5)] = 0.95  # descending aorta
        img[e(-62.0, 62.0, 9.0, 9.0)] = 0.9  # azygos / IVC region
        texture = ndimage.gaussian_filter(rng.normal(size=img.shape), 2.0 * OVERSAMPLE)
        return img * (1.0 + 0.5 * texture / (texture.std() + 1e-9) * 0.1)

    def _polygon(self, radius: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """(N_PSI, 2) polygon (col, row) pixel coordinates of radii around the axis (scale: oversampling)."""
        row = self.centre_px[0] - radius * np.sin(self.psi) / self.px
        col = self.centre_px[1] + radius * np.cos(self.psi) / self.px
        return np.stack([col, row], axis=1) * scale

    def labels(self, endo: np.ndarray | None, epi: np.ndarray | None, z_mm: float = 0.0,
               length_mm: float = 1.0) -> np.ndarray:
        """(H, W) uint8: 1 cavity, 2 myocardium at one slice (height z_mm above the apex of a cavity
        length_mm long) and phase; the apical trabecular layer is myocardium."""
        out = np.zeros((self.n, self.n), np.uint8)
        pool = None if endo is None else endo - self.trabecular_width_mm(endo, z_mm, length_mm)
        for radius, value in ((epi, 2), (endo, 2), (pool, 1)):
            if radius is not None:
                fill_polygon(out, self._polygon(radius)[:, ::-1], value)
        return out

    def trabecular_width_mm(self, endo: np.ndarray, z_mm: float, length_mm: float) -> np.ndarray:
        """(N_PSI,) width of the apical trabecular layer inside the endocardial radii `endo` (0 without)."""
        full = self.params.apical_trabeculae_mm
        if full <= 0:
            return np.zeros_like(endo)
        frac = z_mm / max(length_mm, 1.0)
        taper = float(np.clip((TRABECULAE_END - frac) / (TRABECULAE_END - TRABECULAE_FULL_BELOW), 0.0, 1.0))
        return np.minimum(full * taper, TRABECULAE_MAX_RADIUS_SHARE * endo)

    def _mask(self, radius: np.ndarray, offset=(0.0, 0.0)) -> np.ndarray:
        """(m, m) bool inside the radii around the axis (shifted by offset mm) on the oversampled grid."""
        pts = self._polygon(radius, OVERSAMPLE) + np.array(offset) * OVERSAMPLE / self.px + 0.5 * (OVERSAMPLE - 1)
        mask = np.zeros(self.x_mm.shape, np.uint8)  # image only: cv2 is fast, its half-pixel bias is harmless here
        cv2.fillPoly(mask, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        return mask.astype(bool)

    def _fill(self, img: np.ndarray, radius: np.ndarray, value, offset=(0.0, 0.0)) -> None:
        mask = self._mask(radius, offset)
        img[mask] = value if np.isscalar(value) else value[mask]

    def image(self, rings: Rings, z_mm: float, progress: float, slice_index: int) -> np.ndarray:
        """(H, W) uint16 slice image averaged over the slice thickness (partial volume)."""
        th = self.params.slice_thickness_mm
        acc = np.zeros((self.n, self.n), np.float64)
        for dz in (-th / 3.0, 0.0, th / 3.0):
            acc += self._render_plane(rings, z_mm + dz, progress)
        img = acc / 3.0 * self.bias
        noise = self.sigma * (self.rng.normal(size=img.shape) + 1j * self.rng.normal(size=img.shape))
        img = np.abs(img + noise)
        return np.clip(img * FULL_SCALE, 0, 65535).astype(np.uint16)

    def _render_plane(self, rings: Rings, z_mm: float, progress: float) -> np.ndarray:
        img = self.background.copy()
        endo, epi = rings.at(z_mm)
        length = rings.state.length_mm
        frac = z_mm / self.model.length_ed_mm
        if frac < 0.55:  # liver dome and stomach under the inferior heart in apical slices
            dome = self._ellipse(-55.0, 95.0 - 60.0 * (0.55 - frac), 95.0, 62.0, -15.0)
            img[dome & (self.background > 0.2)] = INTENSITY["liver"]
            img[self._ellipse(70.0, 80.0 - 40.0 * (0.55 - frac), 30.0, 20.0) & (self.background > 0.2)] = 0.6
        img[self._mediastinum] = 0.42  # mediastinal fat and connective tissue around the heart
        if epi is None and z_mm > length:  # above the base: left atrium, aortic root, RV outflow
            self._fill(img, np.full(N_PSI, 24.0), INTENSITY["myo"], offset=(0.0, 10.0))
            self._fill(img, np.full(N_PSI, 21.0 + 4.0 * progress), INTENSITY["blood"], offset=(0.0, 10.0))
            self._fill(img, np.full(N_PSI, 13.0), INTENSITY["myo"], offset=(-24.0, -14.0))
            self._fill(img, np.full(N_PSI, 11.0), INTENSITY["blood"], offset=(-24.0, -14.0))
            self._fill(img, np.full(N_PSI, 13.0), INTENSITY["blood"] * 0.95, offset=(-40.0, -34.0))
        if epi is not None:
            self._rv(img, epi, progress, frac)
            self._fill(img, epi + 1.2, INTENSITY["fat"] * 0.55)
            self._fill(img, epi, self._myocardium_intensity(z_mm, rings))
        if endo is not None:
            self._fill(img, endo, self._blood())
            self._trabeculae(img, endo, z_mm, length)
            self._papillary(img, endo, epi, z_mm, length)
        img = cv2.resize(img, (self.n, self.n), interpolation=cv2.INTER_AREA)
        return ndimage.gaussian_filter(img, 0.45)  # scanner point-spread function

    def _blood(self) -> np.ndarray:
        """Blood pool intensity with slow-flow darkening toward the apex wall (SSFP inflow effects)."""
        if not hasattr(self, "_blood_cache"):
            self._blood_cache = INTENSITY["blood"] * (0.88 + 0.12 * np.exp(-((self._radius_mm / 25.0) ** 2)))
        return self._blood_cache

    def _myocardium_intensity(self, z_mm: float, rings: Rings) -> np.ndarray | float:
        """(m, m) myocardium intensity with darker infarcts (by azimuth at this height)."""
        u_idx = np.array([np.searchsorted(rings.state.endo_z[i], z_mm) for i in range(N_PSI)])
        w = self.infarct[np.arange(N_PSI), np.clip(u_idx, 0, self.infarct.shape[1] - 1)]
        if not np.any(w > 1e-3):
            return INTENSITY["myo"]
        w_px = np.interp(self._angle, np.append(self.psi, 2 * np.pi), np.append(w, w[0]))
        return INTENSITY["myo"] * (1.0 - 0.45 * w_px)

    def _rv(self, img: np.ndarray, epi: np.ndarray, progress: float, frac: float) -> None:
        """Right ventricle: a crescent wrapped around the septum (screen left), shorter than the LV."""
        size = float(np.clip((frac - 0.12) / 0.35, 0.0, 1.0))
        if size <= 0.0:
            return
        r_epi = float(np.mean(epi))
        squeeze = 1.0 - 0.22 * progress
        ax, ay = r_epi * (0.35 + 0.75 * size) * squeeze, r_epi * (1.05 + 0.3 * size)
        cx = -r_epi * 0.55
        wall = self._ellipse(cx - 0.5 * ax, -0.12 * r_epi, ax + 3.0, ay + 3.0)
        cavity = self._ellipse(cx - 0.5 * ax, -0.12 * r_epi, ax, ay)
        img[wall] = INTENSITY["myo"] * 1.05
        img[cavity] = INTENSITY["blood"] * 0.93

    def _trabeculae(self, img: np.ndarray, endo: np.ndarray, z_mm: float, length: float) -> None:
        """Muscle strands in the apical layer between the endocardium and the cavity label's edge."""
        width = self.trabecular_width_mm(endo, z_mm, length)
        if self._sponge is None or not np.any(width > 0):
            return
        layer = self._mask(endo) & ~self._mask(endo - width)
        grid = np.append(self.psi, 2 * np.pi)
        endo_px = np.interp(self._angle[layer], grid, np.append(endo, endo[0]))
        width_px = np.interp(self._angle[layer], grid, np.append(width, width[0]))
        toward_wall = np.clip(1.0 - (endo_px - self._radius_mm[layer]) / np.maximum(width_px, 1e-6), 0.0, 1.0)
        inner, outer = TRABECULAE_MUSCLE
        muscle = self._sponge[layer] < inner + (outer - inner) * toward_wall
        rows, cols = np.nonzero(layer)
        img[rows[muscle], cols[muscle]] = INTENSITY["myo"]

    def _papillary(self, img: np.ndarray, endo: np.ndarray, epi: np.ndarray | None, z_mm: float, length: float) -> None:
        """Two papillary muscles in mid-ventricular slices (counted as cavity in the labels)."""
        frac = z_mm / max(length, 1.0)
        if not 0.25 < frac < 0.7:
            return
        for deg in (35.0, 245.0):
            k = int(deg / 360.0 * N_PSI)
            a = np.deg2rad(deg)
            rad = 0.78 * endo[k]
            centre = np.array([rad * np.cos(a), -rad * np.sin(a)])
            size = 0.22 * endo[k] + 1.0
            blob = ((self.x_mm - centre[0]) ** 2 + (self.y_mm - centre[1]) ** 2) <= size**2
            img[blob] = INTENSITY["myo"]
