"""The phantom left ventricle: a truncated prolate ellipsoid of revolution that beats.

Coordinates (mm): the long axis `z` runs from the endocardial apex (z = 0, held still) to the mitral
annulus plane (z = L); `r` is the distance from the axis. A wall point is a material point addressed by
(q, psi): q in [0, 1] is the end-diastolic arc-length fraction along the endocardial meridian (0 apex,
1 base) and psi the azimuth in degrees (see segments.py). Its motion over the cycle:
- longitudinal: the base moves toward the apex (MAPSE, less for a wall with sick segments) so the axis
  shortens from L_ed; material points slide along the meridian with a local strain proportional to
  their motility (dysfunctional segments shorten less);
- radial: r = b_ed * (1 - c(t) * m(q, psi)) * sin(theta) with the motility m (1 normal, ~0.5
  hypokinetic, ~0 infarct) and c(t) solved so the 3D cavity volume equals the requested curve;
- wall thickness from incompressibility of the wall element (thickens in systole).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.phantom.params import HeartParams
from app.data.phantom.segments import segment_weight

TRUNCATION_K = 0.30  # base plane lies 0.3 semi-axes beyond the ellipsoid equator (annulus narrower)
SPHERICITY = 0.45  # short/long semi-axis at end-diastole
HYPOKINETIC_MOTILITY = 0.5
INFARCT_MOTILITY = 0.03
INFARCT_THINNING = 0.5  # infarcted wall keeps this fraction of its thickness
N_U = 401  # material samples along a meridian
FINE_U = 1601  # spatial angle samples used to lay the material out along a meridian
LAYOUT_ITERATIONS = 4
APEX_BLEND_Q = 0.15  # apical cap (ED arc fraction) over which the meridians' thickness is made common
NORMAL_SMOOTHING = 0.1  # of the meridian length (Gaussian sigma)


@dataclass(frozen=True)
class WallState:
    """Meridians of the LV wall at one instant, for n_psi azimuths on the material grid.

    All arrays are (n_psi, N_U) in mm: endo_r/endo_z endocardium, epi_r/epi_z epicardium,
    thickness, normal_r/normal_z the outward unit normal of the endocardium.
    """

    endo_r: np.ndarray
    endo_z: np.ndarray
    thickness: np.ndarray
    normal_r: np.ndarray
    normal_z: np.ndarray
    length_mm: float  # apex-to-annulus length of the shortest meridian

    def wall_point(self, w: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(r, z) of the wall at fraction w of the thickness (0 endo, 1 epi, >1 outside)."""
        return self.endo_r + w * self.thickness * self.normal_r, self.endo_z + w * self.thickness * self.normal_z


class HeartModel:
    """Geometry and motion of one phantom LV (see the module docstring)."""

    def __init__(self, params: HeartParams):
        self.params = params
        k = TRUNCATION_K
        self.theta_base = float(np.arccos(-k))
        shape_integral = k - k**3 / 3.0 + 2.0 / 3.0  # integral of sin^3 over [0, theta_base]
        self.a_ed = float((params.edv_ml * 1000.0 / (np.pi * SPHERICITY**2 * shape_integral)) ** (1.0 / 3.0))
        self.b_ed = SPHERICITY * self.a_ed
        self.length_ed_mm = self.a_ed * (1.0 + k)
        ef = params.ef_pct / 100.0
        length = self.length_ed_mm
        self.mapse_mm = float(np.clip(0.25 * length * ef / 0.6, 0.03 * length, 0.26 * length))
        # material grid: theta fraction u0 -> ED arc-length fraction q
        self.u0 = np.linspace(0.0, 1.0, N_U)
        th = self.theta_base * self.u0
        r, z = self.b_ed * np.sin(th), self.a_ed * (1.0 - np.cos(th))
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(r), np.diff(z)))])
        self.q = arc / arc[-1]
        self._arc_ed = float(arc[-1])
        self.section_p = np.concatenate([-self.q[::-1], self.q[1:]])  # left base .. apex .. right base
        self.thickness_ed_q = 7.0 + 3.0 / (1.0 + np.exp(-(self.q - 0.25) / 0.06))  # mm, thin apex
        self.q_mid = self._midline_fraction(r, z)
        self._ed_cache: dict[tuple, WallState] = {}

    def _midline_fraction(self, r: np.ndarray, z: np.ndarray) -> np.ndarray:
        """(N_U,) end-diastolic arc-length fraction along the mid-wall line (0 apex, 1 base) of each
        material sample: the coordinate that places the AHA levels, because the strain analysis (truth
        and measurement alike) splits the wall into equal-length thirds of its midline at ED."""
        n_r, n_z = _normals(r[None, :], z[None, :])
        mid_r, mid_z = r + 0.5 * self.thickness_ed_q * n_r[0], z + 0.5 * self.thickness_ed_q * n_z[0]
        arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(mid_r), np.diff(mid_z)))])
        return arc / arc[-1]

    # -- regional properties --------------------------------------------------------------
    def motility(self, psi_deg: np.ndarray) -> np.ndarray:
        """(n_psi, N_U) radial motility on the material grid: 1 normal, lower in sick segments."""
        psi = np.asarray(psi_deg, dtype=np.float64)[:, None]
        m = np.ones((psi.shape[0], N_U))
        for name in self.params.hypokinetic:
            m -= (1.0 - HYPOKINETIC_MOTILITY) * segment_weight(name, self.q_mid[None, :], psi)
        for name in self.params.infarct:
            m -= (1.0 - INFARCT_MOTILITY) * segment_weight(name, self.q_mid[None, :], psi)
        return np.clip(m, 0.0, 1.0)

    def infarct_weight(self, psi_deg: np.ndarray) -> np.ndarray:
        """(n_psi, N_U) 0..1 membership of the material grid in an infarcted segment."""
        psi = np.asarray(psi_deg, dtype=np.float64)[:, None]
        w = np.zeros((psi.shape[0], N_U))
        for name in self.params.infarct:
            w = w + segment_weight(name, self.q_mid[None, :], psi)
        return np.minimum(w, 1.0)  # neighbours' tapers sum to 1 (a max would put a corner on the border)

    def thickness_ed(self, psi_deg: np.ndarray) -> np.ndarray:
        """(n_psi, N_U) end-diastolic wall thickness in mm."""
        return self.thickness_ed_q[None, :] * (1.0 - (1.0 - INFARCT_THINNING) * self.infarct_weight(psi_deg))

    # -- motion ---------------------------------------------------------------------------
    def _theta(self, motility: np.ndarray, progress: float, radial_scale: float) -> np.ndarray:
        """(n_psi, N_U) spatial polar angle of the material points.

        The meridian's arc length at this instant is shared among its material elements in
        proportion to 1 + eps * m(q): each element's longitudinal strain is proportional to its
        motility (a hypokinetic segment shortens ~35 % of normal, an infarct hardly at all), with
        eps chosen so the elements fill the meridian exactly. The meridian's shape depends on where
        the material (and so its motility) sits, so the layout is solved by fixed-point iteration on
        a fine angle grid: every material point ends on the curve its own motility defines, and the
        element stretches are the prescribed ones (no kinks where the motility changes).
        """
        n_psi = motility.shape[0]
        grid = np.linspace(0.0, 1.0, FINE_U)
        th_grid = self.theta_base * grid
        a = self._semi_axis(motility, progress)
        z = a * (1.0 - np.cos(th_grid))[None, :]
        dq = np.diff(self.q)[None, :]
        m_mid = 0.5 * (motility[:, 1:] + motility[:, :-1])
        u = np.broadcast_to(self.u0[None, :], motility.shape)
        for _ in range(LAYOUT_ITERATIONS):
            m_grid = np.stack([np.interp(grid, u[i], motility[i]) for i in range(n_psi)])
            r = self.b_ed * (1.0 - radial_scale * m_grid) * np.sin(th_grid)[None, :]
            arc = np.concatenate([np.zeros((n_psi, 1)), np.cumsum(np.hypot(np.diff(r), np.diff(z)), axis=1)], axis=1)
            eps = (arc[:, -1:] / self._arc_ed - 1.0) / np.maximum(np.sum(m_mid * dq, axis=1, keepdims=True), 1e-3)
            lam = np.maximum(1.0 + eps * m_mid, 0.2)
            sigma = np.concatenate([np.zeros((n_psi, 1)), np.cumsum(lam * dq, axis=1)], axis=1)
            sigma /= sigma[:, -1:]
            u = np.stack([np.interp(sigma[i], arc[i] / arc[i, -1], grid) for i in range(n_psi)])
        return self.theta_base * u

    def length_mm(self, progress: float) -> float:
        """Apex-to-annulus length of a healthy wall for systolic progress 0 (ED) .. 1 (ES)."""
        return self.length_ed_mm - self.mapse_mm * float(progress)

    def _semi_axis(self, motility: np.ndarray, progress: float) -> np.ndarray:
        """(n_psi, 1) long semi-axis per meridian: a wall's annulus excursion scales with its mean
        motility, so a sick wall shortens less (the annulus plane tilts)."""
        excursion = self.mapse_mm * float(progress) * np.mean(motility, axis=1, keepdims=True)
        return (self.length_ed_mm - excursion) / (1.0 - np.cos(self.theta_base))

    def radial_scale(self, progress: float, volume_ml: float, n_psi: int = 72) -> float:
        """c(t): the radial contraction that gives the 3D cavity `volume_ml` at this progress."""
        psi = np.arange(n_psi) * (360.0 / n_psi)
        m = self.motility(psi)
        a = self._semi_axis(m, progress)
        th = np.broadcast_to(self.theta_base * self.u0[None, :], m.shape)
        for _ in range(2):  # the material layout depends weakly on c: solve, re-layout, solve again
            c = self._solve_radial_scale(m, th, a, volume_ml * 1000.0)
            th = self._theta(m, progress, c)
        return self._solve_radial_scale(m, th, a, volume_ml * 1000.0)

    def _solve_radial_scale(self, m: np.ndarray, th: np.ndarray, a: np.ndarray, target_mm3: float) -> float:
        """c such that the cavity volume (1/2 integral of r^2 dpsi dz) equals the target; quadratic in c."""
        z = a * (1.0 - np.cos(th))
        base = (self.b_ed * np.sin(th)) ** 2
        dz = np.diff(z, axis=1)
        n_psi = m.shape[0]

        def integral(f: np.ndarray) -> float:  # 1/2 * sum over psi and z of f, trapezoid in z
            return 0.5 * float(np.sum(0.5 * (f[:, 1:] + f[:, :-1]) * dz)) * (2.0 * np.pi / n_psi)

        coef_a, coef_b, coef_c = integral(base), integral(base * m), integral(base * m * m)
        disc = coef_b**2 - coef_c * (coef_a - target_mm3)
        if coef_c <= 0 or disc < 0:
            raise ValueError("the requested volumes cannot be reached with this regional dysfunction")
        c = (coef_b - np.sqrt(disc)) / coef_c
        if c * float(m.max()) >= 0.95:
            raise ValueError("the requested end-systolic volume is too small for this heart")
        return float(c)

    def wall_state(self, psi_deg: np.ndarray, progress: float, radial_scale: float) -> WallState:
        """Meridians at azimuths `psi_deg` for systolic progress and radial scale c(t)."""
        psi = np.atleast_1d(np.asarray(psi_deg, dtype=np.float64))
        m = self.motility(psi)
        th = self._theta(m, progress, radial_scale)
        a = self._semi_axis(m, progress)
        r = self.b_ed * (1.0 - radial_scale * m) * np.sin(th)
        z = a * (1.0 - np.cos(th))
        n_r, n_z = _normals(r, z)
        ed = self._ed_state(psi)
        stretch = _arc_rate(r, z) / _arc_rate(ed.endo_r, ed.endo_z)
        h = _incompressible_thickness(ed, r, n_r, stretch)
        # the apex is one point shared by every meridian: blend their apical thickness to a common value
        cap = 0.5 + 0.5 * np.cos(np.pi * np.clip(self.q / APEX_BLEND_Q, 0.0, 1.0))
        h = h + (np.mean(h[:, 0]) - h[:, :1]) * cap[None, :]
        return WallState(r, z, h, n_r, n_z, float(np.min(z[:, -1])))

    def _ed_state(self, psi: np.ndarray) -> WallState:
        key = tuple(np.round(psi, 6))
        if key not in self._ed_cache:
            th = self.theta_base * self.u0[None, :].repeat(len(psi), axis=0)
            r, z = self.b_ed * np.sin(th), self.a_ed * (1.0 - np.cos(th))
            n_r, n_z = _normals(r, z)
            self._ed_cache[key] = WallState(r, z, self.thickness_ed(psi), n_r, n_z, self.length_ed_mm)
        return self._ed_cache[key]


def _arc_rate(r: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(n_psi, N_U) arc length per material sample along each meridian."""
    return np.hypot(np.gradient(r, axis=1), np.gradient(z, axis=1))


def _normals(r: np.ndarray, z: np.ndarray, sigma: float = NORMAL_SMOOTHING) -> tuple[np.ndarray, np.ndarray]:
    """Outward unit normals (n_r, n_z) of endocardial meridians (n_psi, N_U), lightly smoothed along
    the meridian (sigma as a fraction of its samples). The angle from the apex direction is odd about
    the apex, so it is mirrored there before smoothing."""
    from scipy.ndimage import gaussian_filter1d

    dr, dz = np.gradient(r, axis=1), np.gradient(z, axis=1)
    alpha = np.arctan2(-dr, dz) + np.pi / 2.0  # the normal (dz, -dr) turned to the apex direction
    alpha = np.where(alpha > np.pi, alpha - 2 * np.pi, alpha)
    if sigma > 0:
        mirrored = np.concatenate([-alpha[:, :0:-1], alpha], axis=1)
        alpha = gaussian_filter1d(mirrored, sigma * r.shape[1], axis=1, mode="nearest")[:, r.shape[1] - 1:]
    return np.sin(alpha), -np.cos(alpha)


def _incompressible_thickness(ed: WallState, r: np.ndarray, n_r: np.ndarray, stretch: np.ndarray) -> np.ndarray:
    """Wall thickness that keeps each wall element's volume: the ring element between the endocardium
    (radius r) and a point h along the normal holds h * (r + n_r * h / 2) per unit arc and angle, times
    the meridional stretch. Solved for h in the cancellation-free form; at the apex (r = n_r = 0) the
    limit is taken from the two neighbours (h is even about the apex), so the wall has no cusp there."""
    h_ed = ed.thickness
    load = h_ed * (ed.endo_r + 0.5 * ed.normal_r * h_ed) / stretch
    with np.errstate(invalid="ignore", divide="ignore"):
        h = 2.0 * load / (r + np.sqrt(r * r + 2.0 * n_r * load))
    h[:, 0] = (4.0 * h[:, 1] - h[:, 2]) / 3.0
    return h
