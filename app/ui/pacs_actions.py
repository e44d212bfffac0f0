"""The viewer's PACS menu items: File ▸ Open from PACS… (the study browser) and File ▸ Send results to
PACS… (the study's SR, SEG and Encapsulated PDF by C-STORE or STOW-RS, built in a worker from the report as
the user signed it: app.report.from_study.study_results). The last node used is remembered in the settings."""

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
            self.browser.opened.connect(
                lambda _paths: self.settings().setValue("pacs_node", self.browser.node_edit.text())
            )
        self.browser.show()
        self.browser.raise_()
        return self.browser

    def ask_and_send(self) -> GeneratorWorker | None:
        if self._still_sending():
            return None
        text, ok = QInputDialog.getText(self.window, "Send results to PACS", f"Node ({NODE_HINT}):",
                                        QLineEdit.EchoMode.Normal, self.last_node())
        if not ok or not text.strip():
            return None
        sent: list[GeneratorWorker | None] = []  # the results sent are those of the edits' re-tracked GLS
        if self.window.edits.once_settled("send", lambda: sent.append(self.send(text)), "send") is None:
            self.window.notice("A send to the PACS already waits for the edits' GLS re-tracking: it sends the "
                               "results as they are then")
        return sent[0] if sent else None

    def send(self, node_text: str) -> GeneratorWorker | None:
        """Build the DICOM results of the report as signed (or as preliminary, and saying so) and store them on
        `node_text`, in a worker; once stored, the study remembers them so that the next send amends them."""
        if self._still_sending():
            return None
        study = self.window.study

        def job(_cancel):
            from app.pacs.nodes import resolve_node
            from app.report.dicom_results import send_results
            from app.report.from_study import study_results

            node = resolve_node(node_text.strip())
            results = study_results(study)
            n = send_results(results, node)
            status = f"signed by {results.signed_by}" if results.signed_by else "preliminary: no reviewer named yet"
            yield f"Stored {n} objects (SR, SEG, PDF) on {node.label}, {status}", results.record()

        def succeeded(result) -> None:
            text, sent = result
            study.record_sent(sent)  # on the GUI thread: the next send amends these
            self.settings().setValue("pacs_node", node_text.strip())
            self.window.statusBar().showMessage(text, 10000)

        self.window.controller.save_now()
        worker = GeneratorWorker(job, "send", parent=self.window)
        worker.succeeded.connect(succeeded)
        worker.failed.connect(lambda text: dialogs.show_error(self.window, "Could not send to the PACS", text))
        worker.finished.connect(self._finished)
        self.worker = worker
        worker.start()
        return worker

    def _still_sending(self) -> bool:
        """A send is running (one at a time: the next amends what it stores): say so."""
        if self.worker is None:
            return False
        self.window.notice("A send to the PACS is still running: send again once the status bar says it was stored")
        return True

    def _finished(self) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
