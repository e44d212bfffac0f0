"""Curves linked to the frame cursor: LV volume (or cavity area: one short-axis slice, uncalibrated), the RV
volume of a short-axis MRI stack (violet, the RV overlay's colour), and strain.

Clicking a curve plot jumps to that frame; the timeline (cursor, ED/ES markers, flags) sits on the
volume plot; the strain plot shares its x axis and appears when a strain result is present.
"""

from __future__ import annotations

import time
from collections.abc import Collection

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.data.recording import view_title
from app.ui.overlays import LAYERS, SEGMENT_COLOURS
from app.ui.timeline import Timeline
from app.workflow.lv_curves import SHORT_AXIS_VIEWS, no_disks_view

STRAIN_TITLE = "strain: GLS (white) and the six segments"
# While the clip plays, the cursors move at most this often: each move repaints both plots (a third of the GUI
# thread's work per played frame on a laptop CPU), and 25 moves a second read as smooth on a curve of a few beats
PLAYING_CURSOR_INTERVAL_S = 0.04


class CurvesPanel(QWidget):
    """frame_requested(int) on a click or cursor drag; marker_moved(which, old, new) from the timeline."""

    frame_requested = Signal(int)
    marker_moved = Signal(str, int, int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.volume_plot = pg.PlotWidget()
        self.volume_plot.setMenuEnabled(False)
        self.volume_plot.setLabel("bottom", "frame (first = 0)")
        self.volume_plot.setMouseEnabled(x=False, y=False)
        self.volume_curve = self.volume_plot.plot([], [], pen=pg.mkPen((255, 214, 0), width=2), symbol="o",
                                                  symbolSize=4, symbolBrush=(255, 214, 0))
        rv_colour = LAYERS["rv"][1]
        self.rv_curve = self.volume_plot.plot([], [], pen=pg.mkPen(rv_colour, width=2), symbol="o", symbolSize=4,
                                              symbolBrush=rv_colour)
        self.timeline = Timeline(self.volume_plot)
        # said in the plot itself, where the curve will be: an empty 0-1 axis reads as a curve of zeros
        self.empty_text = pg.TextItem("no LV curve: not analyzed", color=(170, 170, 170),
                                      anchor=(0.5, 0.5))
        self.volume_plot.addItem(self.empty_text, ignoreBounds=True)
        self.strain_plot = pg.PlotWidget()
        self.strain_plot.setMenuEnabled(False)
        self.strain_plot.setLabel("left", "strain (%)")
        self.strain_plot.setXLink(self.volume_plot)
        self.strain_plot.setMouseEnabled(x=False, y=False)
        self.strain_plot.setTitle(STRAIN_TITLE, size="9pt")
        self.strain_cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("w", width=1))
        self.strain_plot.addItem(self.strain_cursor)
        # GLS and the segments: made once, their data replaced (re-made, they cost a repaint of the plot each edit)
        self.gls_curve = self.strain_plot.plot([], [], pen=pg.mkPen("w", width=2))
        self.segment_curves: list[pg.PlotDataItem] = []
        self.strain_plot.setVisible(False)
        self.strain_source = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.volume_plot, 3)
        layout.addWidget(self.strain_plot, 2)
        self.timeline.frame_requested.connect(self.frame_requested)
        self.timeline.marker_moved.connect(self.marker_moved)
        for plot in (self.volume_plot, self.strain_plot):
            plot.scene().sigMouseClicked.connect(lambda ev, p=plot: self._clicked(p, ev))
        self._cursor_frame = 0
        self._cursor_moved_s = float("-inf")
        self._cursor_timer = QTimer(self)  # the latest frame's cursor, once the interval has passed
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.timeout.connect(self._move_cursors)

    def _clicked(self, plot: pg.PlotWidget, ev) -> None:
        if self.timeline.n_frames == 0 or ev.isAccepted():
            return
        pos = plot.getPlotItem().vb.mapSceneToView(ev.scenePos())
        self.frame_requested.emit(int(np.clip(round(pos.x()), 0, self.timeline.n_frames - 1)))

    def set_frame(self, frame: int, playing: bool = False) -> None:
        """Move the cursors to `frame`: at once, or while `playing` at most every PLAYING_CURSOR_INTERVAL_S (the
        latest frame's cursor then follows when the interval has passed)."""
        self._cursor_frame = frame
        wait_s = self._cursor_moved_s + PLAYING_CURSOR_INTERVAL_S - time.monotonic() if playing else 0.0
        if wait_s <= 0:
            self._move_cursors()
        elif not self._cursor_timer.isActive():
            self._cursor_timer.start(max(1, int(wait_s * 1000)))

    def _move_cursors(self) -> None:
        self._cursor_timer.stop()
        self._cursor_moved_s = time.monotonic()
        self.timeline.set_cursor(self._cursor_frame)
        self.strain_cursor.setValue(self._cursor_frame)

    def show_measurements(self, n_frames: int, measurements, ed_frames, es_frames, flagged, title: str = "",
                          edits: tuple[Collection[int], Collection[int]] = ((), ())) -> None:
        """Plot the volume (or area) curve, ED/ES markers, flagged frames and edited frames (hand, propagated:
        app.ui.timeline.edit_marks) of one recording; `title` names what the curve is of (a stack, a slice, a view)."""
        self.volume_plot.setTitle(title or None, size="9pt")
        self.timeline.set_frame_count(n_frames)
        self.volume_plot.setXRange(-0.5, max(n_frames - 0.5, 1), padding=0.01)
        curve, label = _volume_or_area(measurements)
        lv_curve = curve
        self.empty_text.setVisible(curve is None and n_frames > 0)
        if curve is None:
            self.volume_curve.setData([], [])
            self.empty_text.setPos((n_frames - 1) / 2.0, 0.5)
            self.volume_plot.setYRange(0.0, 1.0, padding=0.0)
            self.volume_plot.getAxis("left").setStyle(showValues=False)  # no values where there is no curve
        else:
            if not self.volume_plot.getAxis("left").style["showValues"]:  # once, not on every re-measurement
                self.volume_plot.getAxis("left").setStyle(showValues=True)
                self.volume_plot.enableAutoRange(axis="y")  # (the empty plot's fixed 0-1 range released)
            ok = np.isfinite(curve)
            self.volume_curve.setData(np.arange(len(curve))[ok], curve[ok])
        rv = getattr(measurements, "rv_volume_curve_ml", None) if curve is not None and label.endswith("(ml)") else None
        if rv is None or not np.isfinite(rv).any():
            self.rv_curve.setData([], [])
        else:
            rv = np.asarray(rv, float)
            ok = np.isfinite(rv)
            self.rv_curve.setData(np.arange(len(rv))[ok], rv[ok])
            label = "LV (yellow) / RV (violet) volume (ml)"
            assert curve is not None  # an RV curve is shown only beside the LV's
            curve = np.fmin(curve, rv)  # the flags sit at the lower curve's bottom
        self.volume_plot.setLabel("left", label)
        self.timeline.set_markers(ed_frames, es_frames)
        low = float(np.nanmin(curve)) if curve is not None and np.isfinite(curve).any() else 0.0
        self.timeline.set_flags(flagged, low)
        self.timeline.set_edits(*edits, lv_curve, low)

    def show_strain(self, strain) -> None:
        """GLS and segmental curves of a StrainResult (or hide the plot when None). A segment whose tracking failed
        (segment_ok False) is dashed and left out of the y range, so its runaway curve (hundreds of per cent on a
        clinical clip) neither reads as a measurement nor squeezes the others flat; a withheld GLS says so."""
        self.strain_source = strain
        gls = getattr(strain, "strain_curve_pct", None)
        if strain is None or gls is None:
            self.strain_plot.setVisible(False)
            return
        self.strain_plot.setVisible(True)
        gls = np.asarray(gls, float)
        self.gls_curve.setData(gls)
        seg = getattr(strain, "segmental_strain_pct", None)
        seg = np.zeros((len(gls), 0)) if seg is None else np.asarray(seg, float)
        judged = tuple(getattr(strain, "segment_ok", None) or ())
        ok = judged[:seg.shape[1]] + (True,) * (seg.shape[1] - len(judged))  # a segment not judged counts as tracked
        while len(self.segment_curves) < seg.shape[1]:
            i = len(self.segment_curves)
            self.segment_curves.append(self.strain_plot.plot([], []))
        for i, curve in enumerate(self.segment_curves):
            shown = i < seg.shape[1]
            curve.setData(seg[:, i] if shown else [])
            curve.setVisible(shown)
            if shown:
                curve.setPen(_segment_pen(i, ok[i]))
        self.strain_plot.setTitle(_strain_title(getattr(strain, "withheld", ""), not all(ok)), size="9pt")
        self._strain_y_range(gls, [seg[:, i] for i in range(seg.shape[1]) if ok[i]],
                             tracked_poorly=not all(ok))

    def _strain_y_range(self, gls: np.ndarray, reliable: list[np.ndarray], tracked_poorly: bool) -> None:
        """Auto range when every segment tracked; else the range of the GLS and the segments that did."""
        view = self.strain_plot.getPlotItem().vb
        if not tracked_poorly:
            view.enableAutoRange(axis=pg.ViewBox.YAxis)
            return
        values = np.concatenate([gls, *reliable]) if reliable else gls
        values = values[np.isfinite(values)]
        if values.size == 0:
            return
        view.setYRange(float(values.min()), float(values.max()), padding=0.1)


def _segment_pen(index: int, tracked: bool):
    """A segment's colour; dashed where its tracking failed."""
    colour = SEGMENT_COLOURS[index % 6]
    return pg.mkPen(colour, width=1) if tracked else pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine)


def _strain_title(withheld: str, tracked_poorly: bool) -> str:
    if withheld:
        return "strain: GLS not reported (see the notes); curves for review, dashed = segment tracked poorly"
    if tracked_poorly:
        return "strain: GLS (white) and the six segments; dashed = tracked poorly, not to be read"
    return STRAIN_TITLE


def _volume_or_area(m) -> tuple[np.ndarray | None, str]:
    """The LV curve and its axis label: volume, or (one short-axis slice, or uncalibrated) cavity area."""
    curve, unit = m.lv_curve() if m is not None else (None, "")
    if curve is None:
        return None, "LV volume"
    if unit == "ml":
        return curve, "LV volume (ml)"
    return curve, f"LV area ({unit}{', uncalibrated' if unit == 'px²' else ''})"


def curve_title(recording, slice_index: int) -> str:
    """What the volume plot shows, in the recording's own words (a stack, one MRI slice, or an echo view)."""
    if recording.is_stack:
        return f"short-axis stack: volumes by slice summation ({recording.n_slices} slices)"
    if recording.modality == "mri":
        return f"short-axis slice {slice_index + 1}: LV cavity area"
    if recording.view in SHORT_AXIS_VIEWS:
        return f"{recording.view.upper()}: LV cavity area"
    volume = recording.calibrated and not no_disks_view(recording)  # (a PLAX clip: its area, no volume)
    what = f"LV {'volume' if volume else 'cavity area' if recording.calibrated else 'cavity area (uncalibrated)'}"
    return f"{view_title(recording.view)}: {what}" if view_title(recording.view) else what
