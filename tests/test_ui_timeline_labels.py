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
