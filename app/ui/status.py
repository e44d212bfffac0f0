"""Status bar: analysis progress with Cancel, and the compute device (found in a worker: torch is slow
to import, so the window shows first)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from app.ui.workers import GeneratorWorker


class StatusArea:
    def __init__(self, window) -> None:
        self.window = window
        bar = window.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running analysis")
        self.cancel_button.clicked.connect(lambda: window.controller.cancel_analysis())
        self.device_label = QLabel("device: …")
        for w in (self.progress, self.cancel_button):
            w.setVisible(False)
            bar.addPermanentWidget(w)
        bar.addPermanentWidget(self.device_label)
        self.device_worker: GeneratorWorker | None = None
        c = window.controller
        c.analysis_progress.connect(self.analysis_progress)
        c.analysis_done.connect(self.analysis_done)

    def analysis_started(self) -> None:
        self.progress.setValue(0)
        for w in (self.progress, self.cancel_button):
            w.setVisible(True)

    def analysis_progress(self, index: int, fraction: float, text: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.window.statusBar().showMessage(f"{self.window.study[index].name}: {text}")

    def analysis_done(self, index: int, ok: bool) -> None:
        if set(self.window.controller.workers) <= {index}:
            for w in (self.progress, self.cancel_button):
                w.setVisible(False)

    def load_device_label(self) -> GeneratorWorker:
        def job(cancel):
            from app.ml.engines import device_label
            from app.workflow.warmup import warm_up

            # the imports first (torch's library loaded without the interpreter lock, then the heap frozen):
            # the first analysis then imports nothing on its way, and nothing here stalls the GUI thread
            yield from warm_up(cancel)
            return device_label()

        worker = GeneratorWorker(job, "device", parent=self.window)
        worker.succeeded.connect(lambda text: self.device_label.setText(f"device: {text}"))
        worker.failed.connect(lambda text: self.device_label.setText("device: unavailable"))
        self.device_worker = worker
        worker.start()
        return worker

    def wait(self) -> None:
        if self.device_worker is not None:
            self.device_worker.wait(10000)
