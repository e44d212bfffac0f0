"""Per-frame overlays on the cine view: endocardium, epicardium, LA, the right ventricle (short-axis MRI; dashed,
a basal region left out as right atrium), long axis and the disks of the method of disks (on ED/ES frames), strain
segments when present. Each layer can be toggled. While an analysis runs, `show_traced` draws a frame's contours
as the analysis traced them (before they become editable control contours).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.report.palette import CONTOUR_RGB
from app.workflow.contour_adapter import lv_from_controls
from app.workflow.lv_curves import disk_chords_px

LAYERS = {  # name: (label, colour)
    "endo": ("LV endocardium", CONTOUR_RGB["endo"]),  # the PDF report draws the same colours
    "epi": ("Epicardium", CONTOUR_RGB["epi"]),
    "la": ("Left atrium", CONTOUR_RGB["la"]),
    "rv": ("Right ventricle (MRI)", CONTOUR_RGB["rv"]),
    "axis": ("Long axis + disks (ED/ES)", (255, 110, 200)),
    "strain": ("Strain segments", (255, 140, 40)),
}
SEGMENT_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180)]


class OverlayLayer:
    """The overlay items of one cine view; call `update` with the frame's control contours."""

    def __init__(self, plot: pg.PlotWidget, px_to_view) -> None:
        self.plot = plot
        self.px_to_view = px_to_view
        self.visible = {name: True for name in LAYERS}
        self.items: dict[str, pg.PlotDataItem] = {}
        for name, (_, colour) in LAYERS.items():
            style = Qt.PenStyle.DashLine if name == "axis" else Qt.PenStyle.SolidLine
            item = pg.PlotDataItem(pen=pg.mkPen(colour, width=2, style=style), connect="all", antialias=True)
            item.setZValue(10)
            plot.addItem(item)
            self.items[name] = item
        self.disks = pg.PlotDataItem(pen=pg.mkPen(LAYERS["axis"][1], width=1), connect="pairs")
        self.disks.setZValue(9)
        plot.addItem(self.disks)
        # the basal RV region the segmentation left out as right atrium: dashed, with the RV layer
        self.atrium = pg.PlotDataItem(pen=pg.mkPen(LAYERS["rv"][1], width=2, style=Qt.PenStyle.DashLine),
                                      antialias=True)
        self.atrium.setZValue(9)
        plot.addItem(self.atrium)
        self.strain_items: list[pg.PlotDataItem] = []
        self._drawn: set[pg.PlotDataItem] = set()  # the items holding data now

    def set_visible(self, name: str, on: bool) -> None:
        self.visible[name] = on
        self.items[name].setVisible(on)
        if name == "axis":
            self.disks.setVisible(on)
        if name == "rv":
            self.atrium.setVisible(on)
        if name == "strain":
            for item in self.strain_items:
                item.setVisible(on)

    def clear(self) -> None:
        self._draw({})

    def update(self, recording, controls: dict | None, is_ed_or_es: bool,
               centerline_px: np.ndarray | None = None, atrium_px: np.ndarray | None = None) -> None:
        """Draw one frame. controls: {kind: ControlContour} or None; centerline_px (120, 2) or None; atrium_px: the
        border of the RV region left out as right atrium on this slice and frame (drawn dashed while the frame
        has no RV contour), or None."""
        shapes: dict[pg.PlotDataItem, np.ndarray] = {}
        if atrium_px is not None and len(atrium_px) >= 3 and not (controls or {}).get("rv"):
            shapes[self.atrium] = np.vstack([atrium_px, atrium_px[:1]])
        if controls:
            for kind in ("endo", "epi", "la", "rv"):
                c = controls.get(kind)
                if c is not None:
                    dense = c.dense()
                    shapes[self.items[kind]] = np.vstack([dense, dense[:1]]) if c.closed else dense
            lv = lv_from_controls(controls)
            if is_ed_or_es and lv is not None and lv.annulus_px is not None:
                base, apex = lv.base_mid_px, lv.apex_px
                assert base is not None and apex is not None  # a long-axis contour has both
                shapes[self.items["axis"]] = np.stack([base, apex])
                chords = disk_chords_px(recording, lv)
                if chords is not None:
                    shapes[self.disks] = chords.reshape(-1, 2)
        if centerline_px is not None:
            pieces = np.array_split(np.asarray(centerline_px), len(SEGMENT_COLOURS))
            self._strain_items(len(pieces))
            shapes.update(zip(self.strain_items, pieces, strict=False))
        self._draw(shapes)

    def show_traced(self, traced) -> None:
        """Draw one frame's contours as the running analysis traced them (app.analysis.partial.TracedFrame)."""
        lv = traced.contours
        borders = {"rv": (traced.rv_px, True)}
        if lv is not None:
            borders.update(endo=(lv.endo_px, lv.closed), epi=(lv.epi_px, lv.closed), la=(lv.la_px, True))
        self._draw({self.items[kind]: np.vstack([points, points[:1]]) if closed else points
                    for kind, (points, closed) in borders.items() if points is not None and len(points) >= 2})

    def _strain_items(self, n: int) -> None:
        while len(self.strain_items) < n:
            colour = SEGMENT_COLOURS[len(self.strain_items)]
            item = pg.PlotDataItem(pen=pg.mkPen(colour, width=4))
            item.setZValue(8)
            item.setVisible(self.visible["strain"])
            self.plot.addItem(item)
            self.strain_items.append(item)

    def _draw(self, shapes: dict) -> None:
        """Each item set once a frame: to its points in `shapes`, or emptied if it was drawn and is not now (a
        pyqtgraph setData re-measures the item's bounds: emptying every item before drawing the frame's doubled
        the GUI thread's work per played frame)."""
        for item in [*self.items.values(), self.disks, self.atrium, *self.strain_items]:
            points = shapes.get(item)
            if points is not None:
                pts = self.px_to_view(points)
                item.setData(pts[:, 0], pts[:, 1])
                self._drawn.add(item)
            elif item in self._drawn:
                item.setData([], [])
                self._drawn.discard(item)
