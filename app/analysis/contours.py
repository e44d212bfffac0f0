"""LV borders from a label map: endocardium, epicardium, LA, mitral annulus and apex.

Points are (N, 2) float arrays of (x, y) = (column, row) in pixels ("points_px"); pixel centres sit at
integer coordinates. Labels: 0 background, 1 LV cavity (MRI: blood pool), 2 myocardium, 3 left atrium.

Long-axis (apical) views: the endocardium and epicardium are OPEN point lists running from the mitral
annulus point on the image left (smaller x) over the apex to the annulus point on the right. The LA border
is a closed polygon (the last point is not repeated). Short-axis slices: endo and epi are closed polygons
and there is no annulus or apex.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from app.analysis.cyclic_runs import close_short_runs, cyclic_slice, longest_run
from app.analysis.label_islands import reassign_islands
from app.analysis.masks import label_box, largest_component, near_pixels, outer_contour, padded_by_one
from app.analysis.polylines import (  # noqa: F401  (re-exported: the public contour helpers)
    as_points,
    contour_length,
    contour_to_mask,
    find_apex,
    polygon_area_px2,
    resample_contour,
    to_mm,
)

Kind = Literal["long-axis", "short-axis"]
CAVITY, MYOCARDIUM, ATRIUM = 1, 2, 3
SPURIOUS_FRACTION = 0.05  # removed cavity blobs larger than this (of the LV cavity) flag the frame
SPLIT_FRACTION = 0.25  # a removed cavity piece this large (of the kept one): the cavity was cut in two


@dataclass(frozen=True, eq=False)
class LvContours:
    """Borders of one frame (one slice). See the module docstring for conventions.

    endo_px: (N, 2) endocardium; epi_px: (M, 2) epicardium or None; la_px: (K, 2) closed LA border or None;
    annulus_px: (2, 2) mitral annulus points (left, right) or None for short-axis; apex_px: (2,) or None.
    issues: short quality notes from the extraction (e.g. "spurious-blobs", "no-la", "no-myocardium").
    """

    endo_px: np.ndarray
    epi_px: np.ndarray | None = None
    la_px: np.ndarray | None = None
    annulus_px: np.ndarray | None = None
    apex_px: np.ndarray | None = None
    kind: Kind = "long-axis"
    issues: tuple[str, ...] = ()

    @classmethod
    def from_endo(cls, endo_px: npt.ArrayLike, epi_px: npt.ArrayLike | None = None, la_px: npt.ArrayLike | None = None,
                  issues: tuple[str, ...] = ()) -> "LvContours":
        """Long-axis contours from an (edited) open endocardium: annulus = its ends, apex = farthest point."""
        endo = as_points(endo_px)
        if endo[0, 0] > endo[-1, 0]:
            endo = endo[::-1].copy()
        epi = None if epi_px is None else _orient_like(as_points(epi_px), endo)
        la = None if la_px is None else as_points(la_px)
        annulus = np.stack([endo[0], endo[-1]])
        return cls(endo, epi, la, annulus, find_apex(endo), "long-axis", tuple(issues))

    @property
    def closed(self) -> bool:
        return self.kind == "short-axis"

    @property
    def base_mid_px(self) -> np.ndarray | None:
        """(2,) midpoint of the mitral annulus, the base end of the long axis."""
        return None if self.annulus_px is None else self.annulus_px.mean(axis=0)

    def cavity_polygon_px(self) -> np.ndarray:
        """(N, 2) closed cavity outline (the open endocardium is closed by the annulus chord)."""
        return self.endo_px

    def with_endo(self, endo_px: npt.ArrayLike) -> "LvContours":
        """A copy with a new endocardium (annulus and apex recomputed for long-axis contours)."""
        if self.closed:
            return replace(self, endo_px=as_points(endo_px))
        return LvContours.from_endo(endo_px, self.epi_px, self.la_px, self.issues)

    def to_json_dict(self) -> dict[str, Any]:
        def pts(a: np.ndarray | None) -> list[Any] | None:
            return None if a is None else np.round(np.asarray(a, dtype=float), 3).tolist()

        return {
            "kind": self.kind,
            "endo_px": pts(self.endo_px),
            "epi_px": pts(self.epi_px),
            "la_px": pts(self.la_px),
            "annulus_px": pts(self.annulus_px),
            "apex_px": pts(self.apex_px),
            "issues": list(self.issues),
        }

    @cached_property
    def json_text(self) -> str:
        """to_json_dict() as compact JSON, made once: the autosave writes every frame's after each edit."""
        return json.dumps(self.to_json_dict(), separators=(",", ":"))

    @classmethod
    def from_json_dict(cls, d: dict[str, Any]) -> "LvContours":
        def arr(key: str) -> Any:  # an array, or None where the saved contours have no such part
            v = d.get(key)
            return None if v is None else np.asarray(v, dtype=np.float64)

        return cls(arr("endo_px"), arr("epi_px"), arr("la_px"), arr("annulus_px"), arr("apex_px"),
                   d.get("kind", "long-axis"), tuple(d.get("issues", ())))


# -- extraction ---------------------------------------------------------------------------------
BOX_MARGIN_PX = 2  # background kept around the labelled pixels: every step below sees the same neighbourhood


def shifted(contours: LvContours | None, dx_px: float, dy_px: float) -> LvContours | None:
    """The contours moved by (dx, dy) pixels (e.g. from a crop back to the whole image)."""
    if contours is None or (dx_px == 0 and dy_px == 0):
        return contours
    d = np.array([dx_px, dy_px], np.float64)

    def move(points: np.ndarray | None) -> np.ndarray | None:
        return None if points is None else np.asarray(points, np.float64) + d

    return replace(
        contours,
        endo_px=np.asarray(contours.endo_px, np.float64) + d,
        epi_px=move(contours.epi_px),
        la_px=move(contours.la_px),
        annulus_px=move(contours.annulus_px),
        apex_px=move(contours.apex_px),
    )


def extract_contours(labels: np.ndarray, kind: Kind = "long-axis") -> LvContours | None:
    """Borders of one (H, W) label map; None when there is no LV cavity.

    Works on the bounding box of the labelled pixels (plus a background margin) and moves the sub-pixel
    borders back to the image: the same borders as on the whole map, at a fraction of the cost."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got shape {labels.shape}")
    box = label_box(labels > 0, BOX_MARGIN_PX)
    if box is None:
        return None
    return shifted(_extract(labels[box], kind), float(box[1].start), float(box[0].start))


def _extract(labels: np.ndarray, kind: Kind) -> LvContours | None:
    issues: list[str] = []
    relabelled = 0
    if kind == "long-axis":  # a band of LA or myocardium across the cavity must not cut it in two
        cleaned = reassign_islands(labels, (ATRIUM,))
        relabelled = int((cleaned != labels).sum())
        labels = cleaned
    cavity, dropped = largest_component(labels == CAVITY)
    if cavity is None:
        return None
    if dropped > SPURIOUS_FRACTION or relabelled > SPURIOUS_FRACTION * cavity.sum():
        issues.append("spurious-blobs")
    if kind == "long-axis" and dropped > SPLIT_FRACTION:  # e.g. a band of atrium across the LV of a degraded clip
        issues.append("cavity-split")
    clean = np.where(labels == CAVITY, 0, labels).astype(np.uint8)
    clean[cavity] = CAVITY
    myo, _ = largest_component(clean == MYOCARDIUM)
    la, _ = largest_component(clean == ATRIUM)
    clean[(clean == MYOCARDIUM) & ~(myo if myo is not None else False)] = 0
    clean[(clean == ATRIUM) & ~(la if la is not None else False)] = 0
    if myo is None:
        issues.append("no-myocardium")
    if kind == "short-axis":
        return _short_axis(cavity, myo, tuple(issues))
    if la is None:
        issues.append("no-la")
    outline = outer_contour(cavity)
    if outline is None:
        return None
    # every piece of myocardium marks wall (a band across the septum may have cut it in two); the
    # epicardium follows the largest piece only
    endo = _open_endocardium(outline, np.where(labels == MYOCARDIUM, MYOCARDIUM, clean).astype(np.uint8))
    if endo is None:
        return None
    epi = None if myo is None else _epicardium(cavity | myo, clean, endo)
    la_px = None if la is None else outer_contour(la)
    return LvContours.from_endo(endo, epi, la_px, tuple(issues))


def extract_all(labels: np.ndarray, kind: Kind = "long-axis") -> list[LvContours | None]:
    """Borders of every frame of a (T, H, W) label map."""
    return [extract_contours(frame, kind) for frame in np.asarray(labels)]


def _short_axis(cavity: np.ndarray, myo: np.ndarray | None, issues: tuple[str, ...]) -> LvContours | None:
    endo = outer_contour(cavity)
    if endo is None:
        return None
    epi = outer_contour(cavity | myo) if myo is not None else None
    return LvContours(endo, epi, None, None, None, "short-axis", issues)


def _across(points: np.ndarray, region: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inside, outside) labels of the two pixels each 0.5-level outline vertex lies between, (N,) each.

    Marching squares puts every vertex half-way between a pixel of `region` and one outside it; pixels
    beyond the image border count as background.
    """
    lab = padded_by_one(labels)
    reg = padded_by_one(region)
    x, y = points[:, 0] + 1.0, points[:, 1] + 1.0
    vertical = np.abs(y - np.round(y)) > 0.25  # the vertex sits between two rows
    r0 = np.where(vertical, np.floor(y), np.round(y)).astype(int)
    c0 = np.where(vertical, np.round(x), np.floor(x)).astype(int)
    r1 = np.where(vertical, r0 + 1, r0)
    c1 = np.where(vertical, c0, c0 + 1)
    h, w = lab.shape
    r0, r1 = np.clip(r0, 0, h - 1), np.clip(r1, 0, h - 1)
    c0, c1 = np.clip(c0, 0, w - 1), np.clip(c1, 0, w - 1)
    first_in = reg[r0, c0]
    inside = np.where(first_in, lab[r0, c0], lab[r1, c1])
    outside = np.where(first_in, lab[r1, c1], lab[r0, c0])
    return inside, outside


def _near(points: np.ndarray, labels: np.ndarray, value: int) -> np.ndarray:
    """(N,) bool: a pixel of `value` lies within one pixel of each point."""
    h, w = labels.shape
    cols = np.clip(np.floor(points[:, 0] + 0.5).astype(int), 0, w - 1)
    rows = np.clip(np.floor(points[:, 1] + 0.5).astype(int), 0, h - 1)
    return near_pixels(labels == value, rows, cols)


def _open_endocardium(outline: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Cut the closed cavity outline at the base: keep the run bordering the myocardium. None for a cavity too
    small to tell a base from a wall (every point of its outline within the geometric base's tolerance)."""
    _, outside = _across(outline, labels == CAVITY, labels)
    wall = (outside == MYOCARDIUM) | ((outside == 0) & _near(outline, labels, MYOCARDIUM))
    base = ~wall
    if base.all() or not base.any():
        base = _geometric_base(outline)
    wall = ~close_short_runs(base, len(outline) // 10)
    if not wall.any():
        return None
    start, stop = longest_run(wall)
    endo = cyclic_slice(outline, start, stop)
    if stop - start >= len(outline):
        return endo
    # the annulus (cavity / myocardium / atrium junction) lies between the last wall vertex and the
    # first basal one: end the border half-way between them
    n = len(outline)
    first = (outline[(start - 1) % n] + outline[start % n]) / 2.0
    last = (outline[(stop - 1) % n] + outline[stop % n]) / 2.0
    return np.vstack([first, endo, last])


def _epicardium(body: np.ndarray, labels: np.ndarray, endo: np.ndarray) -> np.ndarray | None:
    outline = outer_contour(body)
    if outline is None:
        return None
    inside, outside = _across(outline, body, labels)
    epi = (inside == MYOCARDIUM) & (outside != ATRIUM)
    if not epi.any():
        return None
    base = close_short_runs(~epi, len(outline) // 10)
    if base.all():
        return None
    start, stop = longest_run(~base)
    return cyclic_slice(outline, start, stop)


def _geometric_base(outline: np.ndarray) -> np.ndarray:
    """Fallback without myocardium/LA labels: the outline points farthest from the top (apex) end."""
    centre = outline.mean(axis=0)
    _, _, vt = np.linalg.svd(outline - centre, full_matrices=False)
    axis = vt[0] if vt[0][1] > 0 else -vt[0]  # pointing down, towards the base
    proj = (outline - centre) @ axis
    tol = max(1.5, 0.03 * (proj.max() - proj.min()))
    result: np.ndarray = proj >= proj.max() - tol
    return result


def _orient_like(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Reverse `points` if its first point is nearer the end of `ref` than its start."""
    d_same = np.linalg.norm(points[0] - ref[0]) + np.linalg.norm(points[-1] - ref[-1])
    d_flip = np.linalg.norm(points[0] - ref[-1]) + np.linalg.norm(points[-1] - ref[0])
    return points[::-1].copy() if d_flip < d_same else points


def contours_to_labels(contours: LvContours | None, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 label map 0-3 drawn from (possibly edited) contours."""
    labels = np.zeros(shape, np.uint8)
    if contours is None:
        return labels
    if contours.la_px is not None and len(contours.la_px) >= 3:
        labels[contour_to_mask(contours.la_px, shape)] = ATRIUM
    cavity = contour_to_mask(contours.endo_px, shape)
    if contours.epi_px is not None and len(contours.epi_px) >= 3:
        if contours.closed:
            body = contour_to_mask(contours.epi_px, shape)
        else:
            epi = _orient_like(contours.epi_px, contours.endo_px)
            body = contour_to_mask(np.vstack([epi, contours.endo_px[::-1]]), shape) | cavity
        labels[body & ~cavity] = MYOCARDIUM
    labels[cavity] = CAVITY
    return labels
