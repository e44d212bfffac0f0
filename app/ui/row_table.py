"""The read-only table of rows the panels beside the curves share (a stack's slices, a clip's beats): column
headers with tooltips, no row numbers, no cell editing, one row selected at a time."""

from __future__ import annotations

from PySide6.QtWidgets import QTableWidget


class RowTable(QTableWidget):
    def __init__(self, headers, tips, tooltip: str, parent=None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        for col, tip in enumerate(tips):
            header = self.horizontalHeaderItem(col)
            assert header is not None  # set just above
            header.setToolTip(tip)
        self.setToolTip(tooltip)
