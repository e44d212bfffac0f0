"""Contour corrections with the mouse on the cine view.

- Edit mode: drag a control point (the smooth curve follows live; the edit is committed on release); its
  neighbours within `drag_radius_mm` follow with a smoothly decreasing share (app/analysis/rubber_band.py;
  0 mm moves the point alone);
  double-click near the contour to add a point; Ctrl+click (or right-click) a point to remove it.
- Redraw mode: drag a new outline freehand; it replaces the contour (reduced to control points).
- Calibrate mode: drag a line over a structure of known length; `line_drawn` reports its end points.
The editor only proposes edits (signals); the controller turns them into undoable commands.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal

from app.analysis.rubber_band import DEFAULT_RADIUS_MM
from app.workflow.splines import CONTROL_POINTS, ControlContour, control_from_dense, nearest_segment

MODES = ("edit", "redraw", "calibrate")


class ControlPointsItem(pg.ScatterPlotItem):
    """Draggable control points; positions are in view coordinates (mm)."""

    def __init__(self, editor: "ContourEditor") -> None:
        super().__init__(size=11, pxMode=True, pen=pg.mkPen("k", width=1), brush=pg.mkBrush(255, 255, 255, 220))
        self.editor = editor
        self._drag_index: int | None = None
        self.setZValue(20)

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() != Qt.MouseButton.LeftButton or self.editor.mode != "edit":
            ev.ignore()
            return
        if ev.isStart():
            hits = self.pointsAt(ev.buttonDownPos())
            if len(hits) == 0:
                ev.ignore()
                return
            self._drag_index = int(hits[0].index())
            self.editor.drag_started.emit()
        elif self._drag_index is None:
            ev.ignore()
            return
        ev.accept()
        pos = ev.pos()
        self.editor.preview_move(self._drag_index, pos.x(), pos.y())
        if ev.isFinish():
            index, self._drag_index = self._drag_index, None
            self.editor.commit_move(index, pos.x(), pos.y())

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        remove = ev.button() == Qt.MouseButton.RightButton or (ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        hits = self.pointsAt(ev.pos())
        if remove and len(hits) and self.editor.mode == "edit":
            ev.accept()
            self.editor.remove_point(int(hits[0].index()))
        else:
            ev.ignore()


class DrawItem(pg.GraphicsObject):
    """Transparent layer over the image catching drags in redraw / calibrate modes."""

    def __init__(self, editor: "ContourEditor") -> None:
        super().__init__()
        self.editor = editor
        self._rect = QRectF()
        self._path: list[tuple[float, float]] = []
        self.trace = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255), width=2, style=Qt.PenStyle.DashLine))
        self.setZValue(30)
        self.setVisible(False)

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def boundingRect(self) -> QRectF:  # noqa: N802 - pyqtgraph's name
        return self._rect

    def paint(self, painter, *args) -> None:
        pass

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 - pyqtgraph's name
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            self.editor.drag_started.emit()
            start = ev.buttonDownPos()
            self._path = [(start.x(), start.y())]
        pos = ev.pos()
        if self.editor.mode == "calibrate":
            self._path = self._path[:1] + [(pos.x(), pos.y())]
        else:
            self._path.append((pos.x(), pos.y()))
        pts = np.asarray(self._path)
        self.trace.setData(pts[:, 0], pts[:, 1])
        if ev.isFinish():
            path, self._path = pts, []
            self.trace.setData([], [])
            self.editor.finish_drawing(path)


class ContourEditor(QObject):
    """edit_requested(kind, new ControlContour | None, text); line_drawn(p0_px, p1_px)."""

    edit_requested = Signal(str, object, str)
    line_drawn = Signal(object, object)
    drag_started = Signal()

    def __init__(self, plot: pg.PlotWidget, px_to_view, view_to_px) -> None:
        super().__init__()
        self.plot = plot
        self.px_to_view = px_to_view
        self.view_to_px = view_to_px
        self.mode = "edit"
        self.kind = "endo"
        self.drag_radius_mm = DEFAULT_RADIUS_MM
        self.contour: ControlContour | None = None
        self.key: tuple[int, int] | None = None
        self.points = ControlPointsItem(self)
        self.preview = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255), width=2, style=Qt.PenStyle.DashLine))
        self.draw = DrawItem(self)
        for item in (self.points, self.preview, self.draw, self.draw.trace):
            plot.addItem(item)
        plot.scene().sigMouseClicked.connect(self._scene_clicked)

    # -- state from the controller ----------------------------------------------------------
    def show(self, contour: ControlContour | None, image_rect: QRectF | None = None, key=None) -> None:
        """Show the control points of `contour` (the one of `key` = (slice, frame)) for editing."""
        self.contour = contour
        self.key = key
        self.preview.setData([], [])
        if image_rect is not None:
            self.draw.set_rect(image_rect)
        if contour is None:
            self.points.setData([], [])
            return
        pts = self.px_to_view(contour.points_px)
        self.points.setData(pts[:, 0], pts[:, 1])

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode = mode
        self.draw.setVisible(mode in ("redraw", "calibrate"))
        self.points.setVisible(mode == "edit")

    def set_kind(self, kind: str) -> None:
        self.kind = kind

    # -- proposals --------------------------------------------------------------------------
    def _moved(self, index: int, x: float, y: float) -> ControlContour:
        col_mm, row_mm = self.px_to_view(np.ones((1, 2)))[0]  # view units per pixel: mm when calibrated
        assert self.contour is not None  # the callers check
        return self.contour.dragged(index, self.view_to_px(x, y), self.drag_radius_mm, (row_mm, col_mm))

    def preview_move(self, index: int, x: float, y: float) -> None:
        if self.contour is None:
            return
        moved = self._moved(index, x, y)
        pts = self.px_to_view(moved.points_px)
        self.points.setData(pts[:, 0], pts[:, 1])
        dense = self.px_to_view(moved.dense())
        self.preview.setData(dense[:, 0], dense[:, 1])

    def commit_move(self, index: int, x: float, y: float) -> None:
        if self.contour is not None:
            self.edit_requested.emit(self.kind, self._moved(index, x, y), f"move {self.kind} point")

    def remove_point(self, index: int) -> None:
        if self.contour is None:
            return
        try:
            self.edit_requested.emit(self.kind, self.contour.removed(index), f"remove {self.kind} point")
        except ValueError:
            pass  # fewer than 4 points would not be a contour

    def _scene_clicked(self, ev) -> None:
        if self.mode != "edit" or self.contour is None or not ev.double() or ev.button() != Qt.MouseButton.LeftButton:
            return
        view_pos = self.plot.getPlotItem().vb.mapSceneToView(ev.scenePos())
        xy = self.view_to_px(view_pos.x(), view_pos.y())
        dense = self.contour.dense()
        dist_px = float(np.min(np.hypot(dense[:, 0] - xy[0], dense[:, 1] - xy[1])))
        if dist_px > 15:
            return
        index = nearest_segment(self.contour.points_px, xy, self.contour.closed)
        ev.accept()
        self.edit_requested.emit(self.kind, self.contour.inserted(index, xy), f"add {self.kind} point")

    def finish_drawing(self, path_view: np.ndarray) -> None:
        px = np.array([self.view_to_px(x, y) for x, y in path_view])
        if self.mode == "calibrate":
            if len(px) >= 2:
                self.line_drawn.emit(tuple(px[0]), tuple(px[-1]))
            return
        if len(px) < 4 or np.ptp(px, axis=0).max() < 5:
            return
        closed = self.contour.closed if self.contour is not None else self.kind in ("la", "rv")
        n = len(self.contour.points_px) if self.contour is not None else CONTROL_POINTS
        if not closed and px[0, 0] > px[-1, 0]:
            px = px[::-1]
        self.edit_requested.emit(self.kind, control_from_dense(px, closed, n), f"redraw {self.kind}")


def scene_pos_of(plot: pg.PlotWidget, x: float, y: float) -> QPointF:
    """Scene position of a view coordinate (tests map it further to widget coordinates)."""
    return plot.getPlotItem().vb.mapViewToScene(QPointF(x, y))
