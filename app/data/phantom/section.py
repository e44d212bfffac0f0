"""The apical view of the phantom: the LV wall and left atrium cut by a plane through the long axis.

Heart-plane coordinates (mm): x lateral (negative = left of the image), z along the long axis from the
apex toward the base (deeper in the image). A wall point of the section is addressed by p in [-1, 1]
(-1 left base, 0 apex, +1 right base; |p| is the ED arc-length fraction q) and w across the wall.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.phantom.heart import HeartModel, WallState

LA_LENGTH_FRACTION = 0.62  # LA long-axis length / ED LV length
LA_SYSTOLIC_GROWTH = 0.22  # relative LA lengthening at end-systole (atrial filling)


@dataclass(frozen=True)
class Section:
    """One frame of an apical section in heart-plane mm coordinates.

    p: (N,) material wall coordinate; endo, epi: (N, 2) (x, z) contours from the left base over the
    apex to the right base; thickness (N,); la: (M, 2) left-atrium outline from the left to the right
    annulus point (closed by the annulus line); progress: systolic progress 0 (ED) .. 1 (ES).
    """

    p: np.ndarray
    endo: np.ndarray
    epi: np.ndarray
    thickness: np.ndarray
    la: np.ndarray
    progress: float

    def wall(self, w: float | np.ndarray) -> np.ndarray:
        """(N, 2) points at fraction w of the wall thickness (0 endo, 0.5 midline, 1 epi)."""
        w = np.asarray(w, dtype=np.float64)
        return self.endo + (w[..., None] if w.ndim else w) * (self.epi - self.endo)

    @property
    def annulus(self) -> np.ndarray:
        """(2, 2) left and right endocardial base points (x, z)."""
        return np.stack([self.endo[0], self.endo[-1]])

    def cavity_outline(self) -> np.ndarray:
        """(N, 2) closed LV cavity outline (endocardium, closed by the annulus line)."""
        return self.endo

    def myocardium_outline(self) -> np.ndarray:
        """(2N, 2) closed myocardium outline: endocardium then epicardium back."""
        return np.concatenate([self.endo, self.epi[::-1]])


def _join_sides(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Left meridian (apex..base) and right meridian (apex..base) -> one base-apex-base array."""
    return np.concatenate([left[::-1], right[1:]])


def make_section(model: HeartModel, psi_pair_deg: tuple[float, float], progress: float, radial_scale: float) -> Section:
    """The section at one instant for the (left, right) wall azimuths of the view."""
    state: WallState = model.wall_state(np.array(psi_pair_deg), progress, radial_scale)
    sign = np.array([-1.0, 1.0])[:, None]
    endo_x, endo_z = sign * state.endo_r, state.endo_z
    epi_r, epi_z = state.wall_point(1.0)
    epi_x = sign * epi_r
    endo = np.stack([_join_sides(endo_x[0], endo_x[1]), _join_sides(endo_z[0], endo_z[1])], axis=1)
    epi = np.stack([_join_sides(epi_x[0], epi_x[1]), _join_sides(epi_z[0], epi_z[1])], axis=1)
    p = model.section_p
    thickness = _join_sides(state.thickness[0], state.thickness[1])
    la = left_atrium(endo[0], endo[-1], model.length_ed_mm, progress)
    return Section(p, endo, epi, thickness, la, float(progress))


def left_atrium(left_base: np.ndarray, right_base: np.ndarray, lv_length_ed_mm: float, progress: float,
                n: int = 80) -> np.ndarray:
    """(n, 2) LA outline below the annulus: a widened half-ellipse that fills during systole."""
    centre = 0.5 * (left_base + right_base)
    half_w = 0.5 * float(np.hypot(*(right_base - left_base)))
    depth = LA_LENGTH_FRACTION * lv_length_ed_mm * (1.0 + LA_SYSTOLIC_GROWTH * progress)
    axis = right_base - left_base
    axis = axis / np.linalg.norm(axis)
    down = np.array([-axis[1], axis[0]])
    if down[1] < 0:
        down = -down
    phi = np.linspace(0.0, np.pi, n)
    widen = 1.0 + 0.18 * np.sin(phi) ** 2 * (1.0 + 0.1 * progress)
    across = -half_w * np.cos(phi) * widen
    along = depth * np.sin(phi) ** 0.85
    return centre[None, :] + across[:, None] * axis[None, :] + along[:, None] * down[None, :]


def disk_volume_ml(section: Section, n_disks: int = 200) -> float:
    """Single-plane method-of-disks volume of the section's cavity, in ml (fine-disk limit).

    As an analysis does it: the long axis runs from the annulus midpoint to the apex, disks are
    perpendicular to it, and each disk's diameter is the width of the cavity outline at its level.
    """
    outline = np.concatenate([section.endo, section.endo[:1]])  # closed by the annulus line
    base = section.annulus.mean(axis=0)
    apex = section.endo[len(section.endo) // 2]
    axis = apex - base
    length = float(np.linalg.norm(axis))
    axis /= length
    perp = np.array([-axis[1], axis[0]])
    h = (outline - base) @ axis  # level of each vertex along the axis
    across = (outline - base) @ perp
    levels = (np.arange(n_disks) + 0.5) / n_disks * length
    h0, h1, c0, c1 = h[:-1, None], h[1:, None], across[:-1, None], across[1:, None]
    crosses = (h0 - levels[None, :]) * (h1 - levels[None, :]) <= 0.0
    t = np.where(crosses, (levels[None, :] - h0) / np.where(h1 == h0, 1e-12, h1 - h0), 0.0)
    x = c0 + t * (c1 - c0)
    lo = np.where(crosses, x, np.inf).min(axis=0)
    hi = np.where(crosses, x, -np.inf).max(axis=0)
    d = np.where(np.isfinite(lo) & np.isfinite(hi), hi - lo, 0.0)
    return float(np.pi / 4.0 * np.sum(d * d) * length / n_disks / 1000.0)
