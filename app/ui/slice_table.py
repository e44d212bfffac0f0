"""Per-slice volume table of a short-axis stack: slice, LV cavity area at ED and ES (cm²) and the slab volumes
(ml = area x slice spacing), with a check box per slice to include it in EDV/ESV/EF (and the mass and RV) or
leave it out (e.g. a basal slice in the atrium). Unticking emits include_changed(slice, False); the window
turns it into an undoable app.workflow.study_edits.SliceSelectionEdit.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTableWidgetItem

from app.ui.row_table import RowTable
from app.workflow.study_edits import slice_volumes

HEADERS = ("Use", "Slice", "ED cm²", "ES cm²", "ED ml", "ES ml")  # LV cavity area and slab volume


def _text(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


class SliceVolumeTable(RowTable):
    """include_changed(slice_index, include: bool); slice_clicked(slice_index)."""

    include_changed = Signal(int, bool)
    slice_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(HEADERS, ("included in the volumes", "1 = base", "LV cavity area at ED",
                                   "LV cavity area at ES", "area x slice spacing at ED", "area x slice spacing at ES"),
                         "Untick a slice to leave it out of EDV, ESV, EF, the mass and the RV (Ctrl+Z undoes)", parent)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # fits the panel: no horizontal scrolling
        for col in (0, 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.itemChanged.connect(self._item_changed)
        self.cellClicked.connect(lambda row, col: self.slice_clicked.emit(row) if col > 0 else None)
        self._filling = False

    def show_state(self, state) -> None:
        """Fill from a RecordingState of a stack (areas at its first ED and ES frames)."""
        rows = slice_volumes(state)
        self._filling = True
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            use = QTableWidgetItem()
            use.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            use.setCheckState(Qt.CheckState.Checked if row.included else Qt.CheckState.Unchecked)
            self.setItem(r, 0, use)
            cells = (str(row.slice_index + 1), _text(_cm2(row.ed_area_mm2), 1), _text(_cm2(row.es_area_mm2), 1),
                     _text(row.ed_ml, 1), _text(row.es_ml, 1))
            for c, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if not row.included:
                    item.setForeground(Qt.GlobalColor.gray)
                self.setItem(r, c, item)
        self._filling = False

    def included(self, slice_index: int) -> bool:
        item = self.item(slice_index, 0)
        assert item is not None  # a row per slice
        return item.checkState() == Qt.CheckState.Checked

    def _item_changed(self, item: QTableWidgetItem) -> None:
        if not self._filling and item.column() == 0:
            self.include_changed.emit(item.row(), item.checkState() == Qt.CheckState.Checked)


def _cm2(value_mm2: float | None) -> float | None:
    return None if value_mm2 is None else value_mm2 / 100.0
