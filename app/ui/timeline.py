"""Timeline items on a curve plot: the frame cursor, draggable ED/ES markers, flagged-frame marks, and the
frames whose contours were changed, as squares on the curve's points: edited by hand (filled) or reached by a
propagated edit (hollow).

x is the frame index. Markers snap to whole frames; moving one reports (which, old_frame, new_frame).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from app.report.palette import (
    ED_RGB as ED_COLOUR,  # the PDF uses the same
    ES_RGB as ES_COLOUR,
)

FLAG_COLOUR = (255, 150, 0)
EDIT_COLOUR = (0, 210, 255)
# ED and ES marker lines made (hidden) with the plot: making one with its label costs the GUI thread ~6 ms on a
# laptop CPU, and a running analysis' first values came with all of them at once while its strain held both cores
MARKERS_MADE_AHEAD = 4


def edit_marks(state, slice_index: int = 0) -> tuple[list[int], list[int]]:
    """(frames edited by hand, frames a propagated edit reached) of one slice of a RecordingState."""
    keys = [k for k in state.edited_keys if k[0] == slice_index]
    propagated = sorted(f for s, f in keys if (s, f) in state.propagated_keys)
    return sorted(f for s, f in keys if (s, f) not in state.propagated_keys), propagated


class Timeline(QObject):
    """frame_requested(int) when the cursor is dragged; marker_moved(which 'ed'|'es', old, new)."""

    frame_requested = Signal(int)
    marker_moved = Signal(str, int, int)

    def __init__(self, plot: pg.PlotWidget) -> None:
        super().__init__()
        self.plot = plot
        self.n_frames = 0
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen("w", width=2),
                                      hoverPen=pg.mkPen("y", width=3))
        self.cursor.setZValue(30)
        self.cursor.sigPositionChanged.connect(self._cursor_moved)
        plot.addItem(self.cursor)
        self.markers: list[pg.InfiniteLine] = []  # those shown, ED then ES
        self._lines: dict[str, list[pg.InfiniteLine]] = {
            which: [self._new_marker(which) for _ in range(MARKERS_MADE_AHEAD)] for which in ("ed", "es")}
        self.flags = pg.ScatterPlotItem(symbol="t1", size=11, brush=pg.mkBrush(FLAG_COLOUR), pen=None)
        self.flags.setZValue(25)
        self.flags.setToolTip("frames flagged by the models (low confidence, temporal error)")
        plot.addItem(self.flags)
        self.hand_edits = pg.ScatterPlotItem(symbol="s", size=10, brush=pg.mkBrush(EDIT_COLOUR), pen=None)
        self.hand_edits.setToolTip("frames whose contour was edited by hand")
        self.propagated = pg.ScatterPlotItem(symbol="s", size=10, brush=pg.mkBrush(0, 0, 0, 0),
                                             pen=pg.mkPen(EDIT_COLOUR, width=1.5))
        self.propagated.setToolTip("frames a hand edit was carried to (propagated along the motion)")
        for item in (self.hand_edits, self.propagated):
            item.setZValue(26)
            plot.addItem(item)
        self._updating = False
        self._shown: tuple[tuple[int, ...], tuple[int, ...], int] | None = None
        self._deferred: tuple[tuple[int, ...], tuple[int, ...]] | None = None  # marks not shown during a drag

    def set_frame_count(self, n_frames: int) -> None:
        self.n_frames = n_frames
        self.cursor.setBounds((0, max(n_frames - 1, 0)))

    def set_cursor(self, frame: int) -> None:
        self._updating = True
        self.cursor.setValue(frame)
        self._updating = False

    def _cursor_moved(self) -> None:
        if not self._updating:
            self.frame_requested.emit(int(round(self.cursor.value())))

    def set_markers(self, ed_frames, es_frames) -> None:
        if any(getattr(m, "moving", False) for m in self.markers):
            # a marker is being dragged: replacing it now would leave the mouse dragging a removed item, whose
            # release reported a frame far from the pointer (a correction's spread landing mid-drag); later
            self._deferred = (tuple(ed_frames), tuple(es_frames))
            return
        self._deferred = None
        wanted = (tuple(ed_frames), tuple(es_frames), self.n_frames)
        if wanted == self._shown and all(m.value() == m.frame for m in self.markers):
            return  # unchanged: keep the items (re-creating them costs a repaint of the plot)
        self._shown = wanted
        self.markers = []
        for which, frames in (("ed", ed_frames), ("es", es_frames)):
            lines = self._lines[which]
            lines.extend(self._new_marker(which) for _ in range(len(frames) - len(lines)))
            for line, frame in zip(lines, frames, strict=False):
                self._place(line, int(frame))
                self.markers.append(line)
            for line in lines[len(frames):]:
                line.setVisible(False)

    def _new_marker(self, which: str) -> pg.InfiniteLine:
        """A hidden ED or ES marker line (shown by _place), reused as the marks change."""
        colour = ED_COLOUR if which == "ed" else ES_COLOUR
        line = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen(colour, width=2),
                               hoverPen=pg.mkPen(colour, width=4), label=which.upper(),
                               labelOpts={"position": 0.92, "color": colour, "movable": False})
        line.setZValue(20)
        line.which, line.frame = which, 0
        line.sigPositionChangeFinished.connect(self._marker_released)
        line.setVisible(False)
        self.plot.addItem(line)
        return line

    def _place(self, line: pg.InfiniteLine, frame: int) -> None:
        # the label sits beside a marker on the first/last frame, not centred half outside the plot; it hangs below
        # its point whichever half of the plot the marker is in (pyqtgraph's second anchor, for the right half, put
        # it above the top edge: no label on the later marks)
        side = 1.0 if frame >= self.n_frames - 1 else 0.0 if frame <= 0 else 0.5
        line.setVisible(True)
        line.setBounds((0, max(self.n_frames - 1, 0)))
        line.frame = frame
        line.setValue(frame)
        line.label.anchors = [(side, 0), (side, 0)]
        line.label.valueChanged()  # the anchors, also where the value did not change

    def marker(self, which: str, frame: int) -> pg.InfiniteLine | None:
        return next((m for m in self.markers if m.which == which and m.frame == frame), None)

    def _marker_released(self, line: pg.InfiniteLine) -> None:
        new = int(np.clip(round(line.value()), 0, max(self.n_frames - 1, 0)))
        if new == line.frame:
            line.setValue(line.frame)
        else:
            self.marker_moved.emit(line.which, line.frame, new)  # the edit shows its marks (set_markers)
        if self._deferred is not None:  # marks that came during the drag, not shown since
            self.set_markers(*self._deferred)

    def set_flags(self, frames, y_value: float) -> None:
        frames = list(frames)
        self.flags.setData(frames, [y_value] * len(frames))

    def set_edits(self, hand_frames, propagated_frames, curve=None, y_default: float = 0.0) -> None:
        """Mark the frames edited by hand and those a propagated edit reached, on the curve's point of that
        frame (y_default where the curve has none), so they stand apart from the ED/ES labels at the top."""
        values = np.asarray(curve, dtype=float) if curve is not None else np.array([])

        def height(f: int) -> float:
            return float(values[f]) if 0 <= f < len(values) and np.isfinite(values[f]) else y_default

        for item, frames in ((self.hand_edits, list(hand_frames)), (self.propagated, list(propagated_frames))):
            item.setData(frames, [height(f) for f in frames])
