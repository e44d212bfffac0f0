"""The ED/ES markers' labels on the curve plot: every one inside the plot, whichever half of it the marker is in.
pyqtgraph's second label anchor (used for lines right of the view's centre) put the text above the plot's top
edge, so on a clinical clip only the first three or four marks said ED or ES."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")


@pytest.mark.parametrize("height", [150, 320])
def test_every_marker_label_lies_inside_the_plot(qtbot, height):
    import pyqtgraph as pg

    from app.ui.timeline import Timeline

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(1000, height)
    plot.show()
    timeline = Timeline(plot)
    frames = np.arange(131)
    plot.plot(frames, 20 + 10 * np.sin(frames / 8.0))
    timeline.set_frame_count(131)
    timeline.set_markers((0, 34, 65, 99, 130), (15, 48, 81, 112))
    qtbot.wait(50)
    view = plot.getPlotItem().vb
    box = view.mapRectToScene(view.boundingRect())
    for marker in timeline.markers:
        label = marker.label
        rect = label.mapRectToScene(label.boundingRect())
        assert label.isVisible() and label.toPlainText() == marker.which.upper()
        assert box.top() - 1 <= rect.top() and rect.bottom() <= box.bottom() + 1, (marker.which, marker.frame)
        assert box.left() - 1 <= rect.left() and rect.right() <= box.right() + 1, (marker.which, marker.frame)


def test_marks_that_arrive_while_a_marker_is_dragged_wait_for_its_release(qtbot):
    """A correction's spread landing mid-drag re-created the markers: the mouse went on dragging a removed line,
    whose release reported frame 86 for a drag from 60 to 62."""
    import pyqtgraph as pg

    from app.ui.timeline import Timeline

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    timeline = Timeline(plot)
    timeline.set_frame_count(40)
    timeline.set_markers((0, 20), (10, 30))
    moved = []
    timeline.marker_moved.connect(lambda which, old, new: moved.append((which, old, new)))
    line = timeline.marker("es", 10)
    line.moving = True  # pyqtgraph's own flag while the mouse drags it
    line.setValue(11.6)
    timeline.set_markers((0, 20), (10, 31))  # the study remeasured meanwhile
    assert timeline.marker("es", 10) is line and line in plot.getPlotItem().items  # still the one dragged
    line.moving = False
    line.setValue(12.2)
    line.sigPositionChangeFinished.emit(line)
    assert moved == [("es", 10, 12)]
    assert sorted(m.frame for m in timeline.markers if m.which == "es") == [10, 31]  # then the marks that came


def test_markers_are_lines_made_with_the_plot_and_reused_as_the_marks_change(qtbot):
    """Making a marker line with its label costs the GUI thread milliseconds; a running analysis' first values
    brought them all at once while its strain held the cores (a stall of 130-190 ms on a 2-core laptop CPU)."""
    import pyqtgraph as pg

    from app.ui.timeline import Timeline

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    timeline = Timeline(plot)
    timeline.set_frame_count(100)
    items = list(plot.getPlotItem().items)
    timeline.set_markers((0, 40, 80), (15, 55, 95))
    assert list(plot.getPlotItem().items) == items  # no line made, none removed
    first = list(timeline.markers)
    timeline.set_markers((0, 41), (16, 56))  # a mark fewer, the others moved
    assert timeline.markers == first[:2] + first[3:5] and [m.frame for m in timeline.markers] == [0, 41, 16, 56]
    assert [m.value() for m in timeline.markers] == [0, 41, 16, 56] and all(m.isVisible() for m in timeline.markers)
    assert not first[2].isVisible() and not first[5].isVisible()  # the spare lines hidden, not removed
    many = tuple(range(0, 100, 10))
    timeline.set_markers(many, tuple(f + 5 for f in many))  # more marks than lines: lines are made
    assert [m.frame for m in timeline.markers if m.which == "ed"] == list(many)
    assert all(m.label.toPlainText() == m.which.upper() for m in timeline.markers)
