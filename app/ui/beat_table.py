"""Per-beat table of a 2D+t recording, beside the curves: each beat's ED and ES frames, EDV, ESV, EF, RR interval
and whether it counts in the EDV/ESV/EF shown (app.analysis.beat_trust: the means over the trusted beats). A
beat left out is greyed, and says why in its Counted cell and tooltip ("RR 0.21 s outside 0.3-2.0 s", "cut by
the clip's end"), the rows of the PDF report's beats table (app.report.model.beat_rows). Clicking an ED or ES
cell shows that frame (frame_clicked); hidden for stacks and recordings without beats.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTableWidgetItem

from app.data.recording import view_title
from app.report.model import BeatRow, beat_rows, format_value
from app.ui.row_table import RowTable

HEADERS = ("Beat", "ED", "ES", "EDV ml", "ESV ml", "EF %", "RR s", "Counted")
TIPS = ("beat number", "end-diastolic frame (click to show)", "end-systolic frame (click to show)",
        "LV volume at this beat's ED", "LV volume at this beat's ES", "ejection fraction of this beat",
        "time from this beat's ED to the next ED", "counted in the EDV, ESV and EF shown (their means)")
FRAME_COLUMNS = {1: "ed_frame", 2: "es_frame"}


def _text(value, decimals: int = 1) -> str:
    return "—" if value is None else format_value(value, decimals)


class BeatTable(RowTable):
    """frame_clicked(frame) when an ED or ES cell is clicked."""

    frame_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(HEADERS, TIPS, "EDV, ESV and EF are the means over the counted beats", parent)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(HEADERS) - 1, QHeaderView.ResizeMode.Stretch)  # the reason a beat is left out
        self.cellClicked.connect(self._clicked)
        self.rows: list[BeatRow] = []

    def show_measurements(self, measurements, view: str = "") -> None:
        """Fill from a Measurements (no rows when None); `view` names whose beats they are ("A4C beat": the
        measurements table may show a biplane result beside them)."""
        first = self.horizontalHeaderItem(0)
        assert first is not None  # set by RowTable
        first.setText(f"{view_title(view)} beat" if view_title(view) else HEADERS[0])
        self.rows = beat_rows(measurements) if measurements is not None else []
        fac = any(row.fac_pct is not None for row in self.rows)  # one short-axis slice: its area change per beat
        self._set_header(5, "FAC %" if fac else HEADERS[5],
                         "fractional area change of this beat" if fac else TIPS[5])
        self.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            counted = "yes" if row.counted else f"no: {row.why_not_counted or 'not counted'}"
            cells = (str(row.index + 1), str(row.ed_frame), str(row.es_frame), _text(row.edv_ml), _text(row.esv_ml),
                     _text(row.fac_pct if fac else row.ef_pct), _text(row.duration_s, 2), counted)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                side = Qt.AlignmentFlag.AlignLeft if c == len(cells) - 1 else Qt.AlignmentFlag.AlignRight
                item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | side)
                if not row.counted:
                    item.setForeground(Qt.GlobalColor.gray)
                    item.setToolTip(counted)
                self.setItem(r, c, item)

    def _set_header(self, col: int, text: str, tip: str) -> None:
        item = self.horizontalHeaderItem(col)
        assert item is not None  # set by RowTable
        item.setText(text)
        item.setToolTip(tip)

    def cell_text(self, row: int, col: int) -> str:
        item = self.item(row, col)
        return item.text() if item else ""

    def _clicked(self, row: int, col: int) -> None:
        if col in FRAME_COLUMNS and row < len(self.rows):
            self.frame_clicked.emit(int(getattr(self.rows[row], FRAME_COLUMNS[col])))
