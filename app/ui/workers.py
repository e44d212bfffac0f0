"""Long jobs off the GUI thread: a QThread that runs a task (app.tasks) and reports by Qt signals.

The task yields app.tasks.Progress and finally its result (or returns it); cancel is the worker's Event.
Signals are queued to the GUI thread. Partial results (Progress.partial) are gathered in the worker and
emitted in batches at most every PARTIAL_INTERVAL_S (`partials(tuple)`), so the GUI thread redraws at most
~10 times a second however fast they come; the last batch goes before `succeeded`, none after a cancel.
Every started worker is registered so tests (and the window on close) can check that none is left running.
"""

from __future__ import annotations

import threading
import time
import traceback
import weakref
from typing import Callable, Iterator

from PySide6.QtCore import QThread, Signal

from app.tasks import Progress

PARTIAL_INTERVAL_S = 0.1
_ACTIVE: "weakref.WeakSet[GeneratorWorker]" = weakref.WeakSet()


def active_workers() -> list["GeneratorWorker"]:
    """Workers whose thread is still running (a wrapper whose Qt object was deleted is not running: one the
    collector no longer walks, app/workflow/warmup.py, can outlive its deleteLater)."""
    from shiboken6 import isValid

    return [w for w in list(_ACTIVE) if isValid(w) and w.isRunning()]


class GeneratorWorker(QThread):
    """Runs `make_generator(cancel_event)` in its own thread.

    Signals: progress(fraction 0..1, message), partials(tuple of Progress.partial, oldest first),
    succeeded(result), failed(message), cancelled().
    Exactly one of succeeded / failed / cancelled is emitted, then QThread.finished.
    """

    progress = Signal(float, str)
    partials = Signal(tuple)
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
        batch = _PartialBatch(self.partials.emit)
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
                    batch.add(item.partial)
                    self.progress.emit(float(item.fraction), item.message)
                else:
                    result = item
        except Exception as exc:  # noqa: BLE001 - every error reaches the user as a message
            if self.cancel_event.is_set():
                self.cancelled.emit()
                return
            if not expected_error(exc):  # a bug: its traceback on stderr for the report
                traceback.print_exc()
            self.failed.emit(error_text(exc))
            return
        if self.cancel_event.is_set():
            self.cancelled.emit()
        elif result is None:
            self.failed.emit(f"{self.label or 'the job'} ended without a result")
        else:
            batch.flush()
            self.succeeded.emit(result)


class _PartialBatch:
    """Partial results gathered between two emissions, sent at most every PARTIAL_INTERVAL_S."""

    def __init__(self, emit: Callable[[tuple], None]) -> None:
        self.emit = emit
        self.items: list = []
        self.last_s = float("-inf")  # the first partial goes at once

    def add(self, partial) -> None:
        if partial is not None:
            self.items.append(partial)
        if self.items and time.monotonic() - self.last_s >= PARTIAL_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if self.items:
            items, self.items = tuple(self.items), []
            self.emit(items)
        self.last_s = time.monotonic()


_EXPECTED = ("AnalysisError", "LoadError", "LoadCancelled", "StudyFileError", "ValueError", "PacsError",
             "DicomResultError")


def expected_error(exc: BaseException) -> bool:
    """One of our own error types (bad input, an unreadable file), not a bug."""
    return type(exc).__name__ in _EXPECTED


def error_text(exc: BaseException) -> str:
    """One clear line: the message of our own error types, the type name added for unexpected ones."""
    return str(exc) if expected_error(exc) else f"{type(exc).__name__}: {exc}"
