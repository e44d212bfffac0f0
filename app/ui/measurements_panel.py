"""Measurements table: EDV, ESV, SV, EF, GLS, heart rate with normal ranges; on cine MRI also the LV mass and
the RV's EDV, ESV, SV and EF; values indexed to body surface area when the height and weight are known.
Out-of-range values are highlighted and values depending on a manual edit are marked "edited"."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.data.recording import may_have_gls, view_title
from app.report.plain_words import contour_model
from app.workflow.indexed import INDEXED
from app.workflow.reference_ranges import FLAGS, range_sex, reference_range
from app.workflow.results import HR_FROM_FILE, HR_FROM_GATED_CYCLE

ROWS = (  # (name, label, unit, decimals): the report's decimals, so the screen shows and flags what is signed
    ("edv_ml", "EDV", "ml", 1),
    ("esv_ml", "ESV", "ml", 1),
    ("sv_ml", "SV", "ml", 1),
    ("ef_pct", "EF", "%", 1),
    ("gls_pct", "GLS", "%", 1),
    ("heart_rate_bpm", "Heart rate", "bpm", 0),
)
HR_SOURCE_NOTES = {HR_FROM_FILE: "from the file", HR_FROM_GATED_CYCLE: "gated cycle"}
FAC_ROW = ("fac_pct", "FAC", "%", 1)  # one short-axis slice: (EDA - ESA) / EDA
MRI_ROWS = (
    ("lv_mass_g", "LV mass", "g", 1),
    ("rv_edv_ml", "RV EDV", "ml", 1),
    ("rv_esv_ml", "RV ESV", "ml", 1),
    ("rv_sv_ml", "RV SV", "ml", 1),
    ("rv_ef_pct", "RV EF", "%", 1),
)
LA_ROWS = (  # the study's LA volume (app.workflow.la_volume), with the biplane values or on its one view
    ("la_volume_ml", "LA volume", "ml", 0),
    ("la_volume_index_ml_m2", "LA volume index", "ml/m²", 0),
)
INDEXED_ROWS = (  # shown when the body surface area is known (app.workflow.indexed)
    ("bsa_m2", "BSA", "m²", 2),
    ("edv_index_ml_m2", "EDV index", "ml/m²", 1),
    ("esv_index_ml_m2", "ESV index", "ml/m²", 1),
    ("sv_index_ml_m2", "SV index", "ml/m²", 1),
    ("lv_mass_index_g_m2", "LV mass index", "g/m²", 1),
    ("rv_edv_index_ml_m2", "RV EDV index", "ml/m²", 1),
    ("rv_esv_index_ml_m2", "RV ESV index", "ml/m²", 1),
    ("rv_sv_index_ml_m2", "RV SV index", "ml/m²", 1),
)


def rows_for(modality: str, indexed=None, la=None, view: str = "", single_slice: bool = False) -> tuple:
    """The table's rows: the common ones (GLS on echo of a view that can have one), the fractional area change of
    one short-axis slice, the mass and RV on cine MRI, the indexed ones with a BSA (echo: no RV)."""
    gls = modality == "echo" and may_have_gls(view)
    rows = tuple(r for r in ROWS if r[0] != "gls_pct" or gls)
    if single_slice:  # its one value, which the report and the JSON give too
        at = [r[0] for r in rows].index("ef_pct") + 1
        rows = rows[:at] + (FAC_ROW,) + rows[at:]
    if modality == "mri":
        rows += MRI_ROWS
    if indexed is not None and indexed.bsa_m2 is not None:
        rows += tuple(r for r in INDEXED_ROWS if modality == "mri" or not r[0].startswith(("rv_", "lv_mass")))
    if la is not None:
        has_bsa = indexed is not None and indexed.bsa_m2 is not None
        plane = "" if len(la.views) > 1 else f" (single-plane {la.views[0].upper()})"
        rows += tuple((n, label + plane, u, d) for n, label, u, d in LA_ROWS if has_bsa or "_index_" not in n)
    return rows
OUT_OF_RANGE = QColor(255, 120, 90)
EDITED_TEXT = "edited"
SEX_UNKNOWN_NOTE = "sex not given: each range spans both sexes' (a value is flagged only outside both)"
PENDING_TEXT = "(updating…)"  # the title's word while a correction is carried to its neighbouring frames
PENDING_TOOLTIP = ("The values are from before the last correction: it is being carried to the neighbouring frames, "
                   "and they are measured again once it has been")
REPORT_TOOLTIP = "Available once the PDF report module is part of this build"


class WrappedLabel(QLabel):
    """A word-wrapped label that claims the height its text needs at its width, so a splitter or layout
    squeezed for room cannot draw it over its neighbours (a QLabel's minimum ignores its wrapped lines)."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        needed = self.heightForWidth(self.width()) if self.width() > 0 else -1
        if needed > 0 and needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def _cell(text: str) -> QTableWidgetItem:
    """A table cell whose tooltip is its text: the fixed columns cut a long label ("LA volume (single-…")."""
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    return item


class ElidedLabel(QLabel):
    """A one-line label that elides its text in the middle to fit its width, where a QLabel would widen its panel
    (and shrink the image) for a long file name; text() is the whole text, which the tooltip gives when elided,
    after the label's `note` (set_note)."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._whole, self._note = "", ""
        self.setText(text)

    def set_note(self, note: str) -> None:
        """A tooltip of the label's own ("" for none)."""
        self._note = note
        self._elide()

    def text(self) -> str:
        return self._whole

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._whole = text
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.ensurePolished()  # the style sheet's font
        shown = self.fontMetrics().elidedText(self._whole, Qt.TextElideMode.ElideMiddle, max(1, self.width()))
        if shown != super().text():
            super().setText(shown)
        tip = "\n".join(x for x in (self._note, self._whole if shown != self._whole else "") if x)
        if tip != self.toolTip():
            self.setToolTip(tip)


class MeasurementsPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = ElidedLabel()
        self.title.setStyleSheet("font-weight: bold")
        self.title.setText("Measurements")
        self.rows = ROWS
        self.table = QTableWidget(len(ROWS), 4)
        self.table.setHorizontalHeaderLabels(["", "Value", "Normal", "Note"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        for row, (_, label, _, _) in enumerate(ROWS):
            self.table.setItem(row, 0, _cell(label))
        # fixed column layout: a changing value must not resize the panel (and rescale the image)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(self.table.verticalHeader().defaultSectionSize() * (len(ROWS) + 1) + 6)
        self.method = WrappedLabel()
        self._scope, self._pending = "", False  # the title's parts (set_scope, set_pending)
        self.report_button = QPushButton("PDF report…")
        self.export_button = QPushButton("Export…")
        for b in (self.report_button, self.export_button):
            b.setEnabled(False)
            b.setToolTip(REPORT_TOOLTIP)
        buttons = QHBoxLayout()
        buttons.addWidget(self.report_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.method)
        layout.addLayout(buttons)
        self.values: dict[str, float | None] = {}

    def set_pending(self, pending: bool) -> None:
        """Say in the title that the values are from before an edit still being applied (its tooltip says which),
        as "(analyzing)" says it of a running analysis: a line of its own would squeeze the table."""
        self._pending = pending
        self.title.set_note(PENDING_TOOLTIP if pending else "")
        self._title()

    def set_scope(self, text: str) -> None:
        """Say whose values the table shows (the selected recording, or the study's biplane result)."""
        self._scope = text
        self._title()

    def _title(self) -> None:
        text = " · ".join(x for x in ("Measurements", self._scope) if x) + (f" {PENDING_TEXT}" if self._pending else "")
        if text != self.title.text():
            self.title.setText(text)

    def show_measurements(self, measurements, sex: str = "", strain=None, error: str = "",
                          biplane=None, modality: str = "echo", edes_source: str = "", view_note: str = "",
                          indexed=None, la=None, view: str = "", study_gls=None, strain_note: str = "",
                          contour_source: str = "", refused: str = "") -> None:
        """Fill the table from a Measurements (biplane preferred when given) and a StrainResult.

        view_note: the view classifier's warning (app.workflow.view_step.view_note), shown below the table;
        indexed: app.workflow.indexed.IndexedValues of the recording (rows per BSA when it has one);
        la: the study's app.workflow.la_volume.LaVolume (LA rows, with the biplane values);
        view: the recording's view (the GLS row says whose GLS it is); study_gls: app.workflow.study_result.StudyGls
        (a row with the mean of two or more apical views); strain_note: what the GLS shown is (re-tracked);
        contour_source: which model drew the contours (contours_text); refused: why the analysis cannot take
        this recording (app.workflow.analyze.refusal), said instead of "Not analyzed yet"."""
        m = biplane if biplane is not None else measurements
        edited = set(getattr(m, "edited", ()) or ())
        edited |= {"gls_pct"} & set(getattr(measurements, "edited", ()) or ())  # the GLS is this recording's
        edited |= {name for name, attr, _ in INDEXED if attr in edited}  # an index is edited with what it divides
        edited -= {"la_volume_ml"}  # the LA rows are the study's: edited when a view it is traced on was
        edited |= {"la_volume_ml", "la_volume_index_ml_m2"} if getattr(la, "edited", False) else set()
        if study_gls is not None and study_gls.edited:
            edited.add("gls_mean_pct")
        single_slice = getattr(m, "method", "") == "single-slice"
        mean_row = study_gls is not None and len(study_gls.by_view) > 1 and modality == "echo"
        self._set_rows(tuple((n, f"GLS {view_title(view)}" if n == "gls_pct" and view_title(view) else label, u, d)
                             for n, label, u, d in rows_for(modality, indexed, la, view, single_slice))
                       + ((("gls_mean_pct", study_gls.label, "%", 1),) if mean_row else ()))
        self.values = {}
        for row, (name, _, unit, decimals) in enumerate(self.rows):
            value = study_gls.mean_pct if name == "gls_mean_pct" else _value(m, strain, name, indexed, la)
            self.values[name] = value
            text = "—" if value is None else f"{value:.{decimals}f} {unit}"
            rng = reference_range("gls_pct" if name == "gls_mean_pct" else name, sex, modality)
            status = rng.flag(value, decimals) if rng else ""  # judged as shown
            note = [EDITED_TEXT] if name in edited else []
            if name == "heart_rate_bpm" and (source := HR_SOURCE_NOTES.get(getattr(m, "heart_rate_source", ""))):
                note.append(source)  # not measured from the beats: say whose value it is
            if status in FLAGS:
                grade = rng.grade(value, decimals) if rng else ""
                note.insert(0, f"{status} ({grade})" if grade else status)
            self._set(row, 1, text, status in FLAGS)
            self._set(row, 2, rng.label() if rng else "", False)
            self._set(row, 3, ", ".join(note), status in FLAGS)
        method = getattr(m, "method", "")
        parts = [f"Method: {method}" if method else f"Not analyzed: {refused}" if refused else "Not analyzed yet"]
        if edes_source:
            parts.append(edes_source)
        parts += list(getattr(measurements, "notes", ()) or ())  # why a value is missing or how it was made
        if biplane is not None:  # which of several clips of a view the study's values come from
            parts += [n for n in getattr(biplane, "notes", ()) or () if n not in parts]
        low = [n.replace("_", " ") for n, ok in zip(getattr(strain, "segment_names", ()),
                                                     getattr(strain, "segment_ok", ()), strict=False) if not ok]
        if low:
            parts.append("strain tracking poor in: " + ", ".join(low))
        if getattr(strain, "withheld", ""):
            parts.append(strain.withheld)
        if strain_note:
            parts.append(strain_note)
        if error:
            parts.append(f"Measurement problem: {error}")
        if view_note:
            parts.append(view_note)
        if not range_sex(sex) and any(self.cell_text(n, 2) for n, *_ in self.rows):
            parts.append(SEX_UNKNOWN_NOTE)
        lines = [contour_source] if contour_source else []  # a line of its own: the site's model or the shipped one
        self.method.setText("\n".join(lines + [" · ".join(parts)]))

    def _set_rows(self, rows: tuple) -> None:
        if rows == self.rows:
            return
        self.rows = rows
        self.table.setRowCount(len(rows))
        self.table.setMinimumHeight(self.table.verticalHeader().defaultSectionSize() * (len(rows) + 1) + 6)
        for row, (_, label, _, _) in enumerate(rows):
            self.table.setItem(row, 0, _cell(label))

    def _set(self, row: int, col: int, text: str, highlight: bool) -> None:
        item = _cell(text)
        side = Qt.AlignmentFlag.AlignRight if col == 1 else Qt.AlignmentFlag.AlignLeft
        item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | side)
        if highlight:
            item.setForeground(QBrush(OUT_OF_RANGE))
            font = item.font()
            font.setBold(True)
            item.setFont(font)
        self.table.setItem(row, col, item)

    def cell_text(self, name: str, col: int = 1) -> str:
        row = [r[0] for r in self.rows].index(name)
        item = self.table.item(row, col)
        return item.text() if item else ""


def measurement_scope(state, biplane: bool) -> str:
    """The panel's title for a RecordingState: biplane (A4C + A2C), or its view and name."""
    view = view_title(state.recording.view)
    if biplane:
        return f"biplane A4C + A2C (selected: {view})"
    return " · ".join(x for x in (view, state.name) if x) + ("" if state.analyzed else " (not analyzed)")


def _value(m, strain, name: str, indexed=None, la=None) -> float | None:
    if name.startswith("la_volume"):
        bsa = None if indexed is None else indexed.bsa_m2
        value = None if la is None else la.volume_ml if name == "la_volume_ml" else (
            None if bsa is None else la.volume_ml / bsa)
    elif name == "gls_pct":
        value = getattr(strain, "gls_pct", None)
    elif name == "bsa_m2" or "_index_" in name:
        value = None if indexed is None else (indexed.bsa_m2 if name == "bsa_m2" else indexed.get(name))
    else:
        value = getattr(m, name, None)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


EDES_METHOD_TEXT = {"tempreg": "ED/ES: TempReg-Net", "tempreg+area": "ED/ES: TempReg-Net refined on the LV curve",
                    "area_curve": "ED/ES: LV curve extrema", "manual": "ED/ES: set by hand",
                    "restored": "ED/ES: as saved"}


def edes_source_text(method: str, fallback: str = "", edited: bool = False) -> str:
    """One line for the user: where the ED/ES frames come from (and why the model was not used)."""
    if edited:
        return EDES_METHOD_TEXT["manual"]
    text = EDES_METHOD_TEXT.get(method, "")
    return f"{text} ({fallback})" if text and fallback else text


def contours_text(segmenter: str, edited: bool = False) -> str:
    """One line for the user: which model drew the contours ('' before any analysis). The site's own echo model
    and the shipped one can both be in use (Analysis menu), so the line names the one this analysis ran."""
    return f"Contours: {contour_model(segmenter, edited)}" if segmenter else ""
