"""Long jobs off the GUI thread: a QThread that runs a task (app.tasks) and reports by Qt signals.

The task yields app.tasks.Progress and finally its result (or returns it); cancel is the worker's Event.
Signals are queued to the GUI thread. Every started worker is registered so
tests (and the window on close) can check that none is left running.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from typing import Callable, Iterator

from PySide6.QtCore import QThread, Signal

from app.tasks import Progress

_ACTIVE: "weakref.WeakSet[GeneratorWorker]" = weakref.WeakSet()


def active_workers() -> list["GeneratorWorker"]:
    """Workers whose thread is still running (a wrapper whose Qt object was deleted is not running: one the
    collector no longer walks, app/ui/heap.py, can outlive its deleteLater)."""
    from shiboken6 import isValid

    return [w for w in list(_ACTIVE) if isValid(w) and w.isRunning()]


class GeneratorWorker(QThread):
    """Runs `make_generator(cancel_event)` in its own thread.

    Signals: progress(fraction 0..1, message), succeeded(result), failed(message), cancelled().
    Exactly one of succeeded / failed / cancelled is emitted, then QThread.finished.
    """

    progress = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, make_generator: Callable[[threading.Event], Iterator], label: str = "", parent=None):
        super().__init__(parent)
        self._make = make_generator
        self.label = label
        self.cancel_event = threading.Event()
        _ACTIVE.add(self)

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:  # runs in the worker thread
        result = None
        try:
            task = self._make(self.cancel_event)
            while True:
                try:
                    item = next(task)
                except StopIteration as stop:
                    result = stop.value if stop.value is not None else result
                    break
                time.sleep(0)  # let the GUI thread take the GIL between steps of the job
                if self.cancel_event.is_set():
                    break
                if isinstance(item, Progress):
                    self.progress.emit(float(item.fraction), item.message)
                else:
                    result = item
        except Exception as exc:  # noqa: BLE001 - every error reaches the user as a message
            if self.cancel_event.is_set():
                self.cancelled.emit()
                return
            traceback.print_exc()
            self.failed.emit(error_text(exc))
            return
        if self.cancel_event.is_set():
            self.cancelled.emit()
        elif result is None:
            self.failed.emit(f"{self.label or 'the job'} ended without a result")
        else:
            self.succeeded.emit(result)


def error_text(exc: BaseException) -> str:
    """One clear line: the message of our own error types, the type name added for unexpected ones."""
    name = type(exc).__name__
    if name in ("AnalysisError", "LoadError", "StudyFileError", "ValueError", "PacsError", "DicomResultError"):
        return str(exc)
    return f"{name}: {exc}"
