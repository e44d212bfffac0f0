"""The debounced autosave written by a thread of its own, so the GUI thread never waits for the disk.

The GUI thread makes each recording's document (StudyState.document: milliseconds, the contours as json_pieces.Lazy
texts, made once by this thread) and hands it to a `BackgroundSaver`; its thread writes the documents one after the
other (autosave.save: temp file, fsync, rename), so the newest document of a recording is always written last, and
a newer document for a recording replaces one still waiting. A write that fails is kept as a failure until the
caller takes it (`take_failure`, or all of them with `wait`) and marks the recording unsaved again. `wait()`
returns when everything handed over is on disk: the explicit saves (closing, reports, sending, Save now) wait for
it and then write what is left on the GUI thread, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.workflow.autosave import save

# done(key, path or None, error or ""): called in the saver's thread after each write
Done = Callable[[str, Path | None, str], None]


class BackgroundSaver:
    """Writes documents (autosave.save(document, key)) in a thread of its own, in the order given."""

    def __init__(self, save_fn: Callable[[dict[str, Any], str], Path] = save) -> None:
        self._save = save_fn
        self._cv = threading.Condition()
        self._waiting: dict[str, tuple[dict[str, Any], Done | None]] = {}  # in the order given
        self._busy = False
        self._failed: dict[str, str] = {}
        self._thread: threading.Thread | None = None

    def submit(self, key: str, document: dict[str, Any], done: Done | None = None) -> None:
        """Write `document` as the saved state of `key`, after what was given before (a document for `key` still
        waiting is replaced: only the newest state matters)."""
        with self._cv:
            self._waiting.pop(key, None)
            self._waiting[key] = (document, done)
            self._failed.pop(key, None)
            if self._thread is None:
                # a daemon: at exit a write cut short leaves the previous file whole (autosave.write_atomic)
                self._thread = threading.Thread(target=self._run, name="cardiotrace-autosave", daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def pending(self) -> bool:
        """Documents given and not written yet."""
        with self._cv:
            return bool(self._waiting) or self._busy

    def wait(self) -> dict[str, str]:
        """Block until every document given is written; the {key: error} of the writes that failed (taken)."""
        with self._cv:
            while self._waiting or self._busy:
                self._cv.wait()
            failed, self._failed = self._failed, {}
        return failed

    def take_failure(self, key: str) -> str | None:
        """The error of the last write of `key` when it failed and nobody took it yet (then taken), else None."""
        with self._cv:
            return self._failed.pop(key, None)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._waiting:
                    self._cv.wait()
                key = next(iter(self._waiting))
                document, done = self._waiting.pop(key)
                self._busy = True
            path, error = None, ""
            try:
                path = self._save(document, key)
            except Exception as exc:  # noqa: BLE001 - any failure is the user's to know; the thread goes on
                error = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
            with self._cv:
                self._busy = False
                if error:
                    self._failed[key] = error
                self._cv.notify_all()
            if done is not None:
                done(key, path, error)
