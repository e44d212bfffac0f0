"""The slice strip of a short-axis stack: one thumbnail per slice, in the stack's order, at the ED frame with its
LV outline, the shown slice framed, excluded slices dimmed. The ends are named base and apex by the LV's size
(app.analysis.volumes.stack_base_first: a file that does not say where the base is may store the apex first).
A click shows that slice; the window's Up/Down and Ctrl+Up/Ctrl+Down step through the slices (app/ui/actions.py)
keeping the zoom of the cine view.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem

from app.analysis.polylines import polygon_area_px2
from app.analysis.volumes import stack_base_first
from app.report.palette import CONTOUR_RGB

THUMB_PX = 72


def thumbnail(image: np.ndarray, outlines=(), dimmed: bool = False, size: int = THUMB_PX) -> QPixmap:
    """A square greyscale thumbnail of one (H, W) frame with (N, 2) pixel outlines [(points, rgb)] drawn on it."""
    img = np.asarray(image, dtype=np.float64)
    lo, hi = np.percentile(img, [1.0, 99.5])
    grey = np.clip((img - lo) / max(hi - lo, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    if dimmed:
        grey = (grey * 0.35).astype(np.uint8)
    h, w = grey.shape
    qimage = QImage(np.ascontiguousarray(grey).data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    pix = QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation)
    scale = min(size / w, size / h)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    for points, rgb in outlines:
        painter.setPen(QPen(QColor(*rgb), 1.2))
        painter.drawPolygon(QPolygonF([QPointF((x + 0.5) * scale, (y + 0.5) * scale) for x, y in points]))
    painter.end()
    return pix


class SliceStrip(QListWidget):
    """slice_chosen(index) when the user clicks a thumbnail."""

    slice_chosen = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.setFixedHeight(THUMB_PX + 44)
        self.setSpacing(2)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys stay with the window's slice/frame actions
        self.setToolTip(self._tip(True))
        self.currentRowChanged.connect(self._row_changed)
        self._filling = False

    def show_stack(self, state, frame: int | None = None) -> None:
        """Thumbnails of every slice of a RecordingState at `frame` (default: its first ED frame)."""
        rec = state.recording
        if frame is None:
            frame = state.ed_frames[0] if state.ed_frames else 0
        current = max(self.currentRow(), 0)
        base_first = stack_base_first([_endo_area(state.contours.get((s, frame), {})) for s in range(rec.n_slices)])
        ends = {0: " base", rec.n_slices - 1: " apex"} if base_first else {0: " apex", rec.n_slices - 1: " base"}
        self.setToolTip(self._tip(base_first))
        self._filling = True
        self.clear()
        for s in range(rec.n_slices):
            controls = state.contours.get((s, frame), {})
            outlines = [(c.dense(), CONTOUR_RGB[k]) for k, c in controls.items() if k in ("endo", "epi", "rv")]
            excluded = s in state.excluded_slices
            label = f"{s + 1}" + ends.get(s, "")
            item = QListWidgetItem(QIcon(thumbnail(rec.slice_frames(s)[frame], outlines, excluded)),
                                   label + (" (out)" if excluded else ""))
            item.setToolTip(f"slice {s + 1} of {rec.n_slices}" + (": left out of the volumes" if excluded else ""))
            self.addItem(item)
        self.setCurrentRow(min(current, rec.n_slices - 1))
        self._filling = False

    @staticmethod
    def _tip(base_first: bool) -> str:
        order = "base first" if base_first else "apex first"
        return f"Slices of the stack, {order} (Up / Down or Ctrl+Up / Ctrl+Down step through them)"

    def set_current(self, slice_index: int) -> None:
        self._filling = True
        self.setCurrentRow(slice_index)
        self._filling = False

    def _row_changed(self, row: int) -> None:
        if not self._filling and row >= 0:
            self.slice_chosen.emit(row)


def _endo_area(controls: dict) -> float:
    """The LV pool area (px^2) of one slice's contours at a frame, 0 without an endocardium."""
    endo = controls.get("endo")
    return 0.0 if endo is None else polygon_area_px2(endo.dense())
