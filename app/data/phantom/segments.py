"""AHA segment names and where they sit on the phantom's left ventricle.

The phantom heart is a body of revolution about the long axis. A point of its wall is addressed by
`q` in [0, 1] (normalised end-diastolic arc length along the endocardial meridian, 0 apex, 1 base)
and the azimuth `psi_deg` around the axis, measured counter-clockwise as seen from the apex in the
short-axis display (anterior 90, septum ~180, inferior 270, lateral ~0).
"""

from __future__ import annotations

import numpy as np

# AHA 17-segment model without the apical cap (segment 17).
BASAL_MID_WALLS = {  # wall -> centre azimuth, each 60 degrees wide
    "anterolateral": 30.0,
    "anterior": 90.0,
    "anteroseptal": 150.0,
    "inferoseptal": 210.0,
    "inferior": 270.0,
    "inferolateral": 330.0,
}
APICAL_WALLS = {"lateral": 0.0, "anterior": 90.0, "septal": 180.0, "inferior": 270.0}  # 90 deg wide
LEVELS = {"apical": (0.0, 1.0 / 3.0), "mid": (1.0 / 3.0, 2.0 / 3.0), "basal": (2.0 / 3.0, 1.0)}

AHA_SEGMENTS: tuple[str, ...] = tuple(
    [f"basal_{w}" for w in BASAL_MID_WALLS] + [f"mid_{w}" for w in BASAL_MID_WALLS]
    + [f"apical_{w}" for w in APICAL_WALLS]
)

# Apical views: the image plane contains the long axis; (left-of-image wall, right-of-image wall).
VIEW_WALL_AZIMUTH_DEG = {
    "a4c": (210.0, 30.0),  # inferoseptal | anterolateral
    "a2c": (270.0, 90.0),  # inferior | anterior
    "a3c": (330.0, 150.0),  # inferolateral | anteroseptal
}


def _angle_diff_deg(a: np.ndarray | float, b: float) -> np.ndarray:
    return np.abs((np.asarray(a, dtype=np.float64) - b + 180.0) % 360.0 - 180.0)


def wall_at(level: str, psi_deg: float) -> str:
    """Name of the AHA wall at an azimuth for a level ('basal', 'mid', 'apical')."""
    walls = APICAL_WALLS if level == "apical" else BASAL_MID_WALLS
    return min(walls, key=lambda w: float(_angle_diff_deg(psi_deg, walls[w])))


def view_segment_names(view: str) -> tuple[str, ...]:
    """Six segment names of an apical view, ordered along the wall from the left base over the apex
    to the right base (the order of the 120 midline points)."""
    left, right = VIEW_WALL_AZIMUTH_DEG[view]
    names = [f"{lvl}_{wall_at(lvl, left)}" for lvl in ("basal", "mid", "apical")]
    names += [f"{lvl}_{wall_at(lvl, right)}" for lvl in ("apical", "mid", "basal")]
    return tuple(names)


LEVEL_TAPER = 0.16  # width (in q) of the raised-cosine edge between levels, centred on the boundary
AZIMUTH_TAPER_DEG = 16.0  # width of the edge between walls


def segment_weight(name: str, q: np.ndarray, psi_deg: np.ndarray | float, edge: float = LEVEL_TAPER) -> np.ndarray:
    """Smooth 0..1 membership of wall points (q, psi) in an AHA segment (broadcasts q and psi).

    Each edge is a raised-cosine taper of width `edge` centred on the segment boundary (0.5 on the
    boundary, exactly 0 / 1 half a width outside / inside): continuous with a continuous slope, so a
    hypokinetic segment's motion blends into its neighbours without kinking the wall.
    """
    level, wall = name.split("_", 1)
    lo, hi = LEVELS[level]
    centre = (APICAL_WALLS if level == "apical" else BASAL_MID_WALLS)[wall]
    half_width = 45.0 if level == "apical" else 30.0
    q = np.asarray(q, dtype=np.float64)
    w_q = np.ones_like(q)
    if lo > 0.0:  # no lower edge at the apex
        w_q = w_q * cosine_taper((q - lo) / edge)
    if hi < 1.0:  # no upper edge at the base
        w_q = w_q * cosine_taper((hi - q) / edge)
    w_psi = cosine_taper((half_width - _angle_diff_deg(psi_deg, centre)) / AZIMUTH_TAPER_DEG)
    return w_q * w_psi


def cosine_taper(x: np.ndarray) -> np.ndarray:
    """Raised-cosine step: 0 for x <= -1/2, 1 for x >= 1/2, 0.5 at 0, C1-smooth in between."""
    return 0.5 - 0.5 * np.cos(np.pi * (np.clip(x, -0.5, 0.5) + 0.5))


def check_segments(names: tuple[str, ...], view: str | None = None) -> None:
    """ValueError when a name is not an AHA segment, or (for an apical view) not seen in that view."""
    for name in names:
        if name not in AHA_SEGMENTS:
            raise ValueError(f"unknown segment {name!r}; expected one of {', '.join(AHA_SEGMENTS)}")
        if view is not None and name not in view_segment_names(view):
            raise ValueError(
                f"segment {name!r} is not seen in the {view} view; choose one of {', '.join(view_segment_names(view))}"
            )
