"""Where the main window's panels sit: recordings | cine over the slice strip | measurements over the tools, and
below them the curves beside a stack's slice table or a clip's beat table, the study header above all.

Only the arrangement and its starting sizes live here; the window creates the panels and wires them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget


def central_widget(w) -> QWidget:
    """The window's central widget, holding the panels `w` (a MainWindow) has created."""
    main = QSplitter(Qt.Orientation.Vertical)
    main.addWidget(_top(w))
    main.addWidget(_bottom(w))
    main.setStretchFactor(0, 3)
    main.setStretchFactor(1, 1)
    main.setSizes([640, 270])
    w.curves.setMinimumHeight(200)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addWidget(w.header)
    layout.addWidget(main, 1)
    return central


def _top(w) -> QSplitter:
    """Recordings, the viewer (which alone stretches) and the measurements over the tools."""
    right = QSplitter(Qt.Orientation.Vertical)
    right.addWidget(w.measurements)
    tools_scroll = QScrollArea()  # the tools must not force the window taller than the screen
    tools_scroll.setWidget(w.tools)
    tools_scroll.setWidgetResizable(True)
    tools_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    right.addWidget(tools_scroll)
    right.setSizes([330, 420])
    viewer = QWidget()
    viewer_layout = QVBoxLayout(viewer)
    viewer_layout.setContentsMargins(0, 0, 0, 0)
    viewer_layout.addWidget(w.cine, 1)
    viewer_layout.addWidget(w.stack.strip)
    top = QSplitter(Qt.Orientation.Horizontal)
    for widget, stretch in ((w.recordings, 0), (viewer, 1), (right, 0)):
        top.addWidget(widget)
        top.setStretchFactor(top.count() - 1, stretch)
    top.setSizes([190, 800, 330])
    return top


def _bottom(w) -> QSplitter:
    """The curves (which alone stretch), and beside them a stack's slice table or a clip's beat table."""
    bottom = QSplitter(Qt.Orientation.Horizontal)
    bottom.addWidget(w.curves)
    bottom.addWidget(w.stack.table)
    bottom.addWidget(w.beats)
    bottom.setStretchFactor(0, 1)
    bottom.setSizes([1000, 420, 420])
    return bottom
