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
With `room` set (the window: what the open recordings hold, app.workflow.open_budget), a recording that would pass
the memory budget is not opened: refused before it is read when its header's size cannot fit, else once read and
before its saved work is restored. A refusal is checked again against what is open when it arrives (a recording
closed meanwhile makes room: it is read again), and is reported with the failures, all of a batch in one paragraph.
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
from app.workflow.open_budget import NAMES_SHOWN, OpenMemory, Refusal, header_bytes, refusal_text

if TYPE_CHECKING:
    from app.data.recording import Recording, SeriesInfo

MOUSE_RETRY_MS = 100


def failures_text(failures: tuple[tuple[Path, str | Refusal], ...]) -> str:
    """One message for the reads that failed: the path and its reason, or, for several, each file's name and
    reason under one heading (the folder is named once when they share it). The recordings refused for lack of
    memory (a Refusal in place of the reason) are one paragraph naming them, the last NAMES_SHOWN counted."""
    refused = [(path, why) for path, why in failures if isinstance(why, Refusal)]
    errors = [(path, why.removeprefix(f"{path}: ")) for path, why in failures  # a LoadError's text names the file
              if not isinstance(why, Refusal)]
    if len(failures) == 1:
        path = failures[0][0]
        return f"{path}\n\n{refusal_text([refused[0][1]]) if refused else errors[0][1]}"
    folders = {path.parent for path, _ in failures}
    where = f" in {folders.pop()}" if len(folders) == 1 else ""
    lines = [f"{path.name if where else path}: {reason}" for path, reason in errors]
    if refused:
        names = [str(path.name if where else path) for path, _ in refused]
        if len(names) > NAMES_SHOWN + 1:
            names = [*names[:NAMES_SHOWN], f"{len(names) - NAMES_SHOWN} more"]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
        lines.append(f"{listed}: {refusal_text([why for _, why in refused])}")
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
        self._failures: list[tuple[Path, str | Refusal]] = []
        # run on each recording in the worker, after the read (the window: its saved work restored and
        # measured, app.workflow.reopen); `loaded` then carries what it returns
        self.prepare: Callable[[Recording], object] | None = None
        # what the open recordings hold now, asked on the GUI thread as each read starts and as a refusal arrives
        # (the window: every open study window's, app.workflow.open_budget); None: no memory budget
        self.room: Callable[[], OpenMemory] | None = None
        self._listed: dict[tuple[Path, str], SeriesInfo] = {}  # a folder's series, listed for the user to choose

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
        self._listed.clear()
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
        room = None if self.room is None else self.room()  # what is open as this read starts
        listed = None if key is None else self._listed.pop((path, key), None)

        def job(cancel):
            from app.data.readers import list_series, load_recording

            series: tuple = (listed,) if listed is not None else ()
            if key is None and path.is_dir():
                series = tuple(list_series(path, cancel=cancel))  # 0.4 s for the demo's 128-file MR folder
                if len(series) > 1:
                    yield series
                    return
            if room is not None:  # one that cannot fit is not read at all
                least = header_bytes(path, series[0] if len(series) == 1 else None)
                refused = None if least is None else room.refusal(least, estimated=True)
                if refused is not None:
                    yield refused
                    return
            recording = load_recording(path, series_key=key, cancel=cancel)
            refused = None if room is None else room.refusal(recording.image_bytes)
            if refused is not None:  # let go before its saved work (and label maps) is restored
                yield refused
                return
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

    def refuse(self, path: Path, refusal: Refusal) -> None:
        """A recording handed on and then not opened for lack of memory: reported with this batch's failures."""
        self._failures.append((path, refusal))

    def _refused(self, path: Path, key: str | None, refusal: Refusal) -> None:
        """A refusal made against what was open when its read started: checked again against what is open now
        (a recording closed meanwhile may make room: then it is read again)."""
        now = None if self.room is None else self.room().refusal(refusal.new_bytes, refusal.estimated)
        if now is None and self.room is not None:
            self.queue.appendleft((path, key))
        else:
            self.refuse(path, now or refusal)

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
            self._listed.update(((path, info.key), info) for info in result)
            self.series_found.emit(path, result)
        elif isinstance(result, Refusal):
            self._refused(path, key, result)
        elif result is not None:
            self.loaded.emit(path, key, result)
        self._next()
        if self._failures and not self.busy():
            failures, self._failures = tuple(self._failures), []
            self.failed.emit(failures)
