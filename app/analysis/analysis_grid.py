"""The analysis grid: where contours are traced, coarser than the recording's pixels.

A segmentation network sees a box of the recording (the sector's) resized to its small square input; its
class probabilities, resized back to the recording's grid, give the full-resolution label map. Contours do
not need that many pixels: the same probabilities resized to a grid 2.5 times the network's (the longer
side at most 2.5 x the network size, never finer than the recording) give the same borders to a fraction
of a recording pixel, and the sub-pixel border points are then mapped to the recording's pixels. On the
454 x 487 px phantom A4C clip (network 128 px, grid 299 x 320) EF moves by 0.1-0.2 points against tracing
at the recording's resolution; at 2 x the network (239 x 256) by up to 0.46 points (a 20-frame clip), the
corner cutting of the 0.5-level outline of a coarser binary map (end-systolic areas about 1 % larger). Pixel centres are
aligned as cv2.resize aligns them: grid pixel (x, y) sits at recording pixel (col0 + (x + 0.5) * sx - 0.5, row0 + (y +
0.5) * sy - 0.5), sx = box columns / grid columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import overload

import numpy as np

from app.analysis.contours import LvContours

GRID_TIMES_NETWORK = 2.5  # the analysis grid's longer side: this many times the network's input size


@dataclass(frozen=True)
class GridGeometry:
    """A box of the recording (row0, row1, col0, col1) resampled to an analysis grid of `shape` (rows, cols)."""

    box: tuple[int, int, int, int]
    shape: tuple[int, int]

    @classmethod
    def for_box(cls, box: tuple[int, int, int, int], net_size_px: int) -> "GridGeometry":
        """The analysis grid of a box seen by a network of net_size_px: the longer side GRID_TIMES_NETWORK x
        the network's, the aspect kept, never more pixels than the box has."""
        rows, cols = box[1] - box[0], box[3] - box[2]
        factor = max(1.0, max(rows, cols) / float(GRID_TIMES_NETWORK * net_size_px))
        top, bottom, left, right = (int(v) for v in box)
        return cls((top, bottom, left, right), (max(int(round(rows / factor)), 1), max(int(round(cols / factor)), 1)))

    @property
    def scale_xy(self) -> tuple[float, float]:
        """Recording pixels per grid pixel along x (columns) and y (rows)."""
        r0, r1, c0, c1 = self.box
        return (c1 - c0) / self.shape[1], (r1 - r0) / self.shape[0]

    def nearest_box_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) index arrays into the box: the box pixel nearest each grid pixel's centre."""
        r0, r1, c0, c1 = self.box
        sx, sy = self.scale_xy
        rows = np.clip(np.round((np.arange(self.shape[0]) + 0.5) * sy - 0.5), 0, r1 - r0 - 1).astype(np.intp)
        cols = np.clip(np.round((np.arange(self.shape[1]) + 0.5) * sx - 0.5), 0, c1 - c0 - 1).astype(np.intp)
        return rows, cols

    @overload
    def to_recording_px(self, points_px: np.ndarray) -> np.ndarray: ...
    @overload
    def to_recording_px(self, points_px: None) -> None: ...
    @overload
    def to_recording_px(self, points_px: np.ndarray | None) -> np.ndarray | None: ...

    def to_recording_px(self, points_px: np.ndarray | None) -> np.ndarray | None:
        """(N, 2) (x, y) grid points -> the same points in the recording's pixels."""
        if points_px is None:
            return None
        sx, sy = self.scale_xy
        p = np.asarray(points_px, np.float64)
        return np.stack([self.box[2] + (p[..., 0] + 0.5) * sx - 0.5, self.box[0] + (p[..., 1] + 0.5) * sy - 0.5], -1)

    def to_grid_px(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) (x, y) recording points -> the same points on the grid (the inverse of to_recording_px)."""
        sx, sy = self.scale_xy
        p = np.asarray(points_px, np.float64)
        return np.stack([(p[..., 0] - self.box[2] + 0.5) / sx - 0.5, (p[..., 1] - self.box[0] + 0.5) / sy - 0.5], -1)


def contours_to_recording(found: LvContours | None, geometry: GridGeometry) -> LvContours | None:
    """Borders traced on the analysis grid (app.analysis.contours.extract_contours of its labels) in the
    recording's pixels; the annulus and apex of long-axis contours are found again there."""
    if found is None:
        return None
    move = geometry.to_recording_px
    if found.closed:
        return replace(found, endo_px=move(found.endo_px), epi_px=move(found.epi_px), la_px=move(found.la_px))
    return LvContours.from_endo(move(found.endo_px), move(found.epi_px), move(found.la_px), found.issues)
