"""The measurements panel's "PDF report…" and "Export…" buttons (app.report.from_study), run in workers.

The report is built from the study state as edited (app.report.from_study uses the viewer's contours and
measurements); the buttons stay disabled, with a tooltip saying why, until a recording is analyzed.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from app.ui import dialogs
from app.ui.workers import GeneratorWorker

NOT_ANALYSED_TIP = "Analyze a recording first"
EXPORT_DIR_KEY = "export_dir"  # QSettings: the folder of the last report or export


class ReportActions:
    def __init__(self, window) -> None:
        self.window = window
        panel = window.measurements
        self.report_button, self.export_button = panel.report_button, panel.export_button
        self.report_button.clicked.connect(self.write_report)
        self.export_button.clicked.connect(self.export)
        self.worker: GeneratorWorker | None = None
        self.available = _report_module_available()
        self.update()

    def update(self) -> None:
        """Enable the buttons when the report module is present and something is analyzed."""
        analyzed = any(st.analyzed and st.analysis is not None for st in self.window.study.recordings)
        busy = self.worker is not None
        for button, tip in ((self.report_button, "Write the PDF report of the study (edits included)"),
                            (self.export_button, "Write report, measurements CSV/JSON, contours, masks, cine")):
            button.setEnabled(self.available and analyzed and not busy)
            button.setToolTip(tip if self.available and analyzed else
                              (NOT_ANALYSED_TIP if self.available else "The report module is not in this build"))

    def _default_dir(self) -> str:
        """The folder the user last wrote a report or export to, else their documents folder: never the
        recordings' folder (a PACS cache, a shared data folder: a named patient's report does not go there)."""
        from PySide6.QtCore import QStandardPaths

        from app.ui import actions

        last = str(actions.settings().value(EXPORT_DIR_KEY, "") or "")
        if last and Path(last).is_dir() and os.access(last, os.W_OK):
            return last
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        return documents if documents and Path(documents).is_dir() else str(Path.home())

    def _remember_dir(self, folder: str | Path) -> None:
        from app.ui import actions

        actions.settings().setValue(EXPORT_DIR_KEY, str(folder))

    def edit_conclusion(self) -> None:
        """Report > Comment / Conclusion: the text and reviewer printed on page 1."""
        study = self.window.study
        typed = dialogs.edit_conclusion(self.window, study.conclusion, study.reviewer)
        if typed is not None:
            study.set_conclusion(*typed)
            self.window.statusBar().showMessage("Conclusion saved; it is printed on page 1 of the report", 5000)

    def write_report(self) -> None:
        if not self.report_button.isEnabled():
            self.window.statusBar().showMessage(self.report_button.toolTip(), 5000)
            return
        from app.report.from_study import default_report_name

        name = default_report_name(self.window.study)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save the PDF report",
                                              str(Path(self._default_dir()) / name), "PDF (*.pdf)")
        if path:
            self._remember_dir(Path(path).parent)
            self.run_when_settled(lambda: _write_report(self.window.study, path), "report")

    def export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export the study into a folder", self._default_dir())
        if folder:
            self._remember_dir(folder)
            self.run_when_settled(lambda: _export(self.window.study, folder), "export")

    def run_when_settled(self, fn, label: str) -> None:
        """run(fn, label) once the edits' pending work has ended (EditActions.once_settled: one report or export
        waiting at a time)."""
        if self.window.edits.once_settled("report", lambda: self.run(fn, label), label) is None:
            self.window.notice(f"A report or export already waits for the edits' GLS re-tracking; ask for this "
                               f"{label} again when it is written")

    def run(self, fn, label: str) -> GeneratorWorker:
        """Run fn() in a worker; report the written paths in the status bar, errors in a dialog."""
        def job(_cancel):
            yield fn()

        self.window.controller.save_now()
        worker = GeneratorWorker(job, label, parent=self.window)
        worker.succeeded.connect(lambda paths: self.window.statusBar().showMessage(f"Wrote {paths}", 10000))
        worker.failed.connect(lambda text: dialogs.show_error(self.window, f"Could not write the {label}", text))
        worker.finished.connect(self._finished)
        self.worker = worker
        self.update()
        worker.start()
        return worker

    def _finished(self) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self.update()


def _report_module_available() -> bool:
    try:
        import app.report.from_study  # noqa: F401
    except ImportError:
        return False
    return True


def _write_report(study, path: str) -> str:
    from app.report.from_study import write_study_report

    return str(write_study_report(study, path))


def _export(study, folder: str) -> str:
    from app.report.from_study import export_study

    written = export_study(study, folder)
    return f"{len(written)} files in {folder}"
