"""The viewer's PACS menu items: File ▸ Open from PACS… (the study browser) and File ▸ Send results to
PACS… (the study's SR, SEG and Encapsulated PDF by C-STORE or STOW-RS, built in a worker from the study
as edited). The last node used is remembered in the settings."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit

from app.ui import dialogs
from app.ui.pacs_browser import NODE_HINT, PacsBrowser
from app.ui.workers import GeneratorWorker


class PacsActions:
    def __init__(self, window, settings) -> None:
        self.window = window
        self.settings = settings
        self.browser: PacsBrowser | None = None
        self.worker: GeneratorWorker | None = None

    def last_node(self) -> str:
        return str(self.settings().value("pacs_node", "") or "")

    def open_browser(self) -> PacsBrowser:
        """Show the study browser (not modal: the window stays usable)."""
        if self.browser is None:
            self.browser = PacsBrowser(self.window, self.last_node())
            self.browser.opened.connect(lambda _paths: self.settings().setValue("pacs_node", self.browser.node_edit.text()))
        self.browser.show()
        self.browser.raise_()
        return self.browser

    def ask_and_send(self) -> GeneratorWorker | None:
        text, ok = QInputDialog.getText(self.window, "Send results to PACS", f"Node ({NODE_HINT}):",
                                        QLineEdit.Normal, self.last_node())
        return self.send(text) if ok and text.strip() else None

    def send(self, node_text: str) -> GeneratorWorker | None:
        """Build the study's DICOM results and store them on `node_text`, in a worker."""
        if self.worker is not None:
            return None
        study = self.window.study

        def job(_cancel):
            from app.pacs.nodes import resolve_node
            from app.report.dicom_results import build_results, send_results
            from app.report.from_study import analyses_from_study

            node = resolve_node(node_text.strip())
            analyses, measurements = analyses_from_study(study)
            if not analyses:
                raise ValueError("no analysed recording in the study: run the analysis first")
            n = send_results(build_results(analyses, study=measurements), node)
            yield f"Stored {n} objects (SR, SEG, PDF) on {node.label}"

        self.window.controller.save_now()
        worker = GeneratorWorker(job, "send", parent=self.window)
        worker.succeeded.connect(lambda text: (self.settings().setValue("pacs_node", node_text.strip()),
                                               self.window.statusBar().showMessage(text, 10000)))
        worker.failed.connect(lambda text: dialogs.show_error(self.window, "Could not send to the PACS", text))
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()
        return worker

    def _finished(self) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
