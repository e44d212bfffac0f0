"""File ▸ Open from PACS…: a study browser on a PACS node (DIMSE or DICOMweb, app/pacs).

Search by patient name / ID, study date range and modality; the studies and the series of the selected
study are listed with descriptions, dates and numbers of images. Every network step (test, search,
series, retrieval) runs in a GeneratorWorker, so the window never blocks; the retrieval shows a progress
bar and can be cancelled, and only complete series (app.pacs.cache) are opened, through the same readers
as files (MainWindow.open_paths). A failing node is one line in the dialog's status, never a crash.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.data.dicom_dates import display_date
from app.ui.workers import GeneratorWorker

NODE_HINT = "AET@HOST:PORT, a DICOMweb URL, or a saved node name"


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _node(text: str, our_aet: str):
    from app.pacs.nodes import resolve_node

    return resolve_node(text, our_aet)


class PacsBrowser(QDialog):
    """Signals: searched(number of studies), opened(list of paths handed to the window), status_changed(text)."""

    searched = Signal(int)
    opened = Signal(list)
    status_changed = Signal(str)

    def __init__(self, window, node_text: str = "", our_aet: str = "CARDIOTRACE") -> None:
        super().__init__(window)
        self.main_window = window
        self.setWindowTitle("Open from PACS")
        self.resize(980, 620)
        self.studies: list = []
        self.series: list = []
        self.worker: GeneratorWorker | None = None
        self._series_wanted = False  # a study was selected while another job ran: list its series after it
        self._build(node_text, our_aet)

    # -- layout -----------------------------------------------------------------------------
    def _build(self, node_text: str, our_aet: str) -> None:
        self.node_edit = QLineEdit(node_text)
        self.node_edit.setPlaceholderText(NODE_HINT)
        self.aet_edit = QLineEdit(our_aet)
        self.aet_edit.setMaximumWidth(140)
        self.test_button = QPushButton("Test")
        self.name_edit, self.id_edit = QLineEdit(), QLineEdit()
        self.name_edit.setPlaceholderText("e.g. DOE^* (wildcards)")
        self.from_edit, self.to_edit = QLineEdit(), QLineEdit()
        for edit in (self.from_edit, self.to_edit):
            edit.setPlaceholderText("YYYYMMDD")
            edit.setMaximumWidth(110)
        self.modality = QComboBox()
        self.modality.addItems(["any", "US", "MR"])
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        grid = QGridLayout()
        grid.addWidget(QLabel("Node"), 0, 0)
        grid.addWidget(self.node_edit, 0, 1, 1, 4)
        grid.addWidget(QLabel("our AE"), 0, 5)
        grid.addWidget(self.aet_edit, 0, 6)
        grid.addWidget(self.test_button, 0, 7)
        grid.addWidget(QLabel("Patient name"), 1, 0)
        grid.addWidget(self.name_edit, 1, 1)
        grid.addWidget(QLabel("Patient ID"), 1, 2)
        grid.addWidget(self.id_edit, 1, 3)
        grid.addWidget(QLabel("Date"), 1, 4)
        dates = QHBoxLayout()
        dates.addWidget(self.from_edit)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.to_edit)
        grid.addLayout(dates, 1, 5)
        grid.addWidget(self.modality, 1, 6)
        grid.addWidget(self.search_button, 1, 7)
        self.study_table = _table(["Date", "Patient", "ID", "Description", "Modalities", "Images"])
        self.series_table = _table(["#", "Modality", "Description", "Images"])
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.open_button = QPushButton("Open")
        self.open_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.status = QLabel("Enter a node and search.")
        self.status.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.open_button)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(QLabel("Studies"))
        layout.addWidget(self.study_table, 3)
        layout.addWidget(QLabel("Series (select the ones to open; none = every US/MR series)"))
        layout.addWidget(self.series_table, 2)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.test_button.clicked.connect(self.test_node)
        self.search_button.clicked.connect(self.search)
        self.study_table.itemSelectionChanged.connect(self._study_selected)
        self.open_button.clicked.connect(self.open_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

    # -- helpers ----------------------------------------------------------------------------
    def _node_fields(self) -> tuple[str, str]:
        """Read in the GUI thread; the workers get plain strings (widgets are not touched off the GUI thread)."""
        return self.node_edit.text().strip(), self.aet_edit.text().strip() or "CARDIOTRACE"

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status_changed.emit(text)

    def busy(self) -> bool:
        return self.worker is not None

    def _run(self, make_generator, label: str, on_result, progress: bool = False) -> GeneratorWorker | None:
        """Start one network job in a worker (one at a time); errors end up in the status line."""
        if self.worker is not None:
            return None
        worker = GeneratorWorker(make_generator, label, parent=self)
        worker.succeeded.connect(on_result)
        worker.failed.connect(lambda text: self.set_status(f"{label} failed: {text}"))
        worker.cancelled.connect(lambda: self.set_status(f"{label} cancelled; nothing of it was kept"))
        worker.progress.connect(self._progress)
        worker.finished.connect(self._finished)
        self.worker = worker
        for button in (self.search_button, self.test_button, self.open_button):
            button.setEnabled(False)
        self.progress.setVisible(progress)
        self.cancel_button.setVisible(progress)
        self.progress.setValue(0)
        self.set_status(f"{label}…")
        worker.start()
        return worker

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        if message:
            self.status.setText(message)

    def _finished(self) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self.progress.hide()
        self.cancel_button.hide()
        self.search_button.setEnabled(True)
        self.test_button.setEnabled(True)
        self.open_button.setEnabled(bool(self.selected_study()))
        if self._series_wanted:
            self._series_wanted = False
            self._study_selected()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    # -- actions ----------------------------------------------------------------------------
    def test_node(self):
        from app.pacs import retrieve

        fields = self._node_fields()

        def job(_cancel):
            node = _node(*fields)
            retrieve.echo(node)
            yield f"{node.label} answers"

        return self._run(job, "Test", self.set_status)

    def search(self):
        from app.pacs import retrieve
        from app.pacs.models import QueryFilter, parse_date_range

        modality = self.modality.currentText()
        dates = f"{self.from_edit.text().strip()}-{self.to_edit.text().strip()}"
        patient_id, patient_name = self.id_edit.text().strip(), self.name_edit.text().strip()
        node_text, aet = self._node_fields()

        def job(_cancel):
            date_from, date_to = parse_date_range(dates if dates != "-" else "")
            flt = QueryFilter(patient_id=patient_id, patient_name=patient_name,
                              modality="" if modality == "any" else modality, date_from=date_from, date_to=date_to)
            yield retrieve.find(_node(node_text, aet), flt, with_series=False)

        return self._run(job, "Search", self._show_studies)

    def _show_studies(self, studies) -> None:
        self.study_table.clearSelection()
        self.studies = list(studies)
        self.study_table.setRowCount(len(self.studies))
        for row, s in enumerate(self.studies):
            values = [display_date(s.date), s.patient_name.replace("^", " "), s.patient_id, s.description,
                      "/".join(s.modalities), "" if s.n_instances is None else str(s.n_instances)]
            for col, text in enumerate(values):
                self.study_table.setItem(row, col, QTableWidgetItem(text))
        self.series_table.setRowCount(0)
        self.set_status(f"{len(self.studies)} studies found" if self.studies else "No study matches.")
        if self.studies:
            self.study_table.selectRow(0)
        self.searched.emit(len(self.studies))

    def selected_study(self):
        rows = {i.row() for i in self.study_table.selectedIndexes()}
        return self.studies[min(rows)] if rows and min(rows) < len(self.studies) else None

    def _study_selected(self) -> None:
        from app.pacs import retrieve

        study = self.selected_study()
        self.series_table.setRowCount(0)
        self.series = []
        if study is None:
            return
        if self.worker is not None:
            self._series_wanted = True
            return

        fields = self._node_fields()

        def job(_cancel):
            yield retrieve.find_series(_node(*fields), study.study_uid)

        self._run(job, "Listing series", self._show_series)

    def _show_series(self, series) -> None:
        self.series = list(series)
        self.series_table.setRowCount(len(self.series))
        for row, s in enumerate(self.series):
            values = ["" if s.number is None else str(s.number), s.modality, s.description,
                      "" if s.n_instances is None else str(s.n_instances)]
            for col, text in enumerate(values):
                self.series_table.setItem(row, col, QTableWidgetItem(text))
        self.set_status(f"{len(self.series)} series")

    def selected_series(self) -> list:
        rows = sorted({i.row() for i in self.series_table.selectedIndexes()})
        chosen = [self.series[r] for r in rows if r < len(self.series)]
        return chosen or [s for s in self.series if s.modality in ("US", "MR")]

    def open_selected(self):
        """Retrieve the chosen series (through the cache) in a worker, then open them in the window."""
        from app.pacs import retrieve

        study, series = self.selected_study(), self.selected_series()
        if study is None or not series:
            self.set_status("Choose a study with US or MR series first.")
            return None

        fields = self._node_fields()

        def job(cancel):
            steps = retrieve.retrieve_study(_node(*fields), study.study_uid, [s.series_uid for s in series],
                                            cancel=cancel)
            while True:
                try:
                    yield next(steps)
                except StopIteration as stop:
                    yield stop.value
                    return

        return self._run(job, "Retrieving", self._open_retrieved, progress=True)

    def _open_retrieved(self, retrieved) -> None:
        paths = []
        for item in retrieved:
            files = sorted(Path(item.folder).glob("*.dcm"))
            paths.append(str(files[0] if len(files) == 1 else item.folder))
        self.set_status(f"Retrieved {sum(r.n_instances for r in retrieved)} images; opening…")
        self.main_window.open_paths(paths)
        self.opened.emit(paths)
        self.set_status(f"Opening {len(paths)} series in the viewer.")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait()
        super().closeEvent(event)
