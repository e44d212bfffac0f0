"""Reading the recordings the user opens in a worker, so the window never freezes on a file.

`FileOpener.request(path, series_key)` queues a read; the reads run one at a time in a GeneratorWorker
(app/ui/workers.py: the app's one progress / cancel protocol; the reader stops at its next step when
cancelled) and each recording is handed on by `loaded(path, series_key, Recording)` on the GUI thread, in
the order asked (the first recording of a study decides its window, as when the reads were synchronous).
With `prepare` set, the worker also runs it on each recording and `loaded` carries its result: the window
restores the saved work there (app.workflow.reopen), which on the GUI thread stalled the window on reopening.
A folder is listed in the worker too: when it holds several series they come back as
`series_found(path, tuple of SeriesInfo)` for the user to choose, and are then requested by key.
Reads that fail are reported together once nothing is left to read, `failed(((path, one clear line), ...))`,
so that opening ten files of which three are broken is one dialog, not three in a row.
While a mouse button is held (a contour being dragged), a recording that arrives waits until it is released:
the window switches to it only between two edits.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

from app.ui.workers import GeneratorWorker

if TYPE_CHECKING:
    from app.data.recording import Recording

MOUSE_RETRY_MS = 100


def failures_text(failures: tuple[tuple[Path, str], ...]) -> str:
    """One message for the reads that failed: the path and its reason, or, for several, each file's name and
    reason under one heading (the folder is named once when they share it)."""
    reasons = [text.removeprefix(f"{path}: ") for path, text in failures]  # a LoadError's text names the file
    if len(failures) == 1:
        return f"{failures[0][0]}\n\n{reasons[0]}"
    folders = {path.parent for path, _ in failures}
    where = f" in {folders.pop()}" if len(folders) == 1 else ""
    lines = [f"{path.name if where else path}: {reason}" for (path, _), reason in zip(failures, reasons, strict=True)]
    return f"{len(failures)} recordings could not be opened{where}:\n\n" + "\n\n".join(lines)


class FileOpener(QObject):
    """Queued reads of recordings off the GUI thread (see the module docstring)."""

    loaded = Signal(object, object, object)  # path, series key (or None), Recording (or what `prepare` made of it)
    failed = Signal(tuple)  # ((path, message), ...): the reads that failed, once the queue is empty
    series_found = Signal(object, tuple)  # folder path, its SeriesInfo (more than one)
    started = Signal(object)  # path

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.queue: deque[tuple[Path, str | None]] = deque()
        self.current: tuple[Path, str | None] | None = None  # being read, or read and waiting for the mouse
        self.worker: GeneratorWorker | None = None
        self._held = None  # what the read returned (a Recording, or a folder's series), until handed on
        self._failures: list[tuple[Path, str]] = []
        # run on each recording in the worker, after the read (the window: its saved work restored and
        # measured, app.workflow.reopen); `loaded` then carries what it returns
        self.prepare: Callable[[Recording], object] | None = None

    def request(self, path: str | Path, series_key: str | None = None) -> bool:
        """Queue the read of `path`; False when the same recording is already queued or being read."""
        ident = (Path(path), series_key)
        if ident == self.current or ident in self.queue:
            return False
        self.queue.append(ident)
        self._next()
        return True

    def busy(self) -> bool:
        """A read is queued, running, or its recording has not been handed on yet."""
        return bool(self.queue) or self.current is not None

    def cancel(self, timeout_ms: int = 10000) -> None:
        """Drop the queued reads, stop the running one and wait for its thread (window close); nothing read
        before is handed on after this."""
        self.queue.clear()
        self._failures.clear()
        self.current, self._held, worker, self.worker = None, None, self.worker, None
        if worker is not None:
            worker.cancel()
            worker.wait(timeout_ms)

    def wait_opened(self, timeout_s: float = 120.0) -> bool:
        """Process events until every requested recording is handed on and shown, its panels too (they are
        drawn in the turn of the event loop after its first frame) (scripts: screenshots, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while self.busy() and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)
        QApplication.processEvents()
        return not self.busy()

    def _next(self) -> None:
        if self.current is not None or not self.queue:
            return
        path, key = self.current = self.queue.popleft()

        def job(cancel):
            from app.data.readers import list_series, load_recording

            if key is None and path.is_dir():
                series = tuple(list_series(path, cancel=cancel))  # 0.4 s for the demo's 128-file MR folder
                if len(series) > 1:
                    yield series
                    return
            recording = load_recording(path, series_key=key, cancel=cancel)
            yield recording if self.prepare is None else self.prepare(recording)

        worker = GeneratorWorker(job, label=f"opening {path.name}", parent=self)
        worker.succeeded.connect(lambda recording: self._arrived(worker, recording))

        def failed(text: str) -> None:
            if worker is self.worker:
                self._failures.append((path, text))

        worker.failed.connect(failed)
        worker.finished.connect(lambda: self._finished(worker))
        self.worker = worker
        self.started.emit(path)
        worker.start()

    def _arrived(self, worker: GeneratorWorker, result) -> None:
        if worker is self.worker:  # not a read cancelled meanwhile
            self._held = result

    def _finished(self, worker: GeneratorWorker) -> None:
        worker.deleteLater()
        if worker is self.worker:
            self.worker = None
            self._hand_on()

    def _hand_on(self) -> None:
        if self.current is None:
            return
        if self._held is not None and QApplication.mouseButtons() != Qt.NoButton:
            QTimer.singleShot(MOUSE_RETRY_MS, self._hand_on)  # an edit is being dragged: after it
            return
        (path, key), result, self.current, self._held = self.current, self._held, None, None
        if isinstance(result, tuple):
            self.series_found.emit(path, result)
        elif result is not None:
            self.loaded.emit(path, key, result)
        self._next()
        if self._failures and not self.busy():
            failures, self._failures = tuple(self._failures), []
            self.failed.emit(failures)
