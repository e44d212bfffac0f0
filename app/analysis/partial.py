"""Partial results of the analysis, published while it runs (app.tasks.Progress.partial).

- `FrameLabels`: a segmenter says that the label map of one frame is final (it will not change before the
  segmenter's result): app.ml.inference.segment_recording publishes one per frame as it goes.
- `TracedFrame`: the segmenting step (app.workflow.segment_step) has traced one frame's contours; the viewer
  draws them before the analysis ends.

Both refer to arrays the producer already holds (no copy of a frame, let alone of the clip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.analysis.analysis_grid import GridGeometry
from app.analysis.contours import LvContours


@dataclass(frozen=True, eq=False)
class FrameLabels:
    """The final labels (H, W) uint8 0-3 of frame `frame` of slice `slice_index`, on the recording's grid, and
    (when the segmenter has them) the same frame's labels on its analysis grid (`grid_labels`, placed by
    `geometry`), where the contours are traced (app.analysis.analysis_grid)."""

    frame: int
    labels: np.ndarray
    slice_index: int = 0
    grid_labels: np.ndarray | None = None
    geometry: GridGeometry | None = None


@dataclass(frozen=True, eq=False)
class TracedFrame:
    """One frame's contours as the analysis traced them (pixels of the recording): the LV borders (None when
    the frame has no LV) and, on short-axis MRI, the RV border (N, 2) or None."""

    slice_index: int
    frame: int
    contours: LvContours | None
    rv_px: np.ndarray | None = None

    @property
    def key(self) -> tuple[int, int]:
        """(slice, frame), as the viewer's study state keys its contours."""
        return (self.slice_index, self.frame)
