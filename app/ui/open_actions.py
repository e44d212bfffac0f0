"""Opening recordings in the main window: File ▸ Open, recent files, dropped files, the PACS browser and the
command line all come here (MainWindow.open_paths).

Each path is read in a worker (app/ui/file_open.py) and placed in the study of its patient: this window's,
another open window's, or a new one's (app/ui/study_windows.py). A recording open already is focused instead of
read again; a folder of several series asks which to open; reads that fail are reported together in one
dialog once nothing is left to read.

Every recording open in this process counts against one memory budget, the rule `analyze` applies to a study
(app.workflow.open_budget: limits.StudyBudget), counted from the studies open now in every study window: one that
would pass it is not opened, and the user is told how many are open and what to do, with the other failures.
"""

from __future__ import annotations

from pathlib import Path

from app.ui import dialogs
from app.ui.file_open import FileOpener, failures_text
from app.ui.study_windows import choose_window, study_windows
from app.workflow.open_budget import OpenMemory, open_memory
from app.workflow.reopen import Reopened


class OpenActions:
    def __init__(self, window) -> None:
        self.window = window
        self.opener = FileOpener(window)  # files are read in a worker, handed on by _place
        self.opener.prepare = window.controller.reopen  # with their saved work restored there
        self.opener.room = self.open_memory  # none read beyond the memory the open recordings leave
        bar = window.statusBar()
        self.opener.started.connect(lambda path: bar.showMessage(f"Opening {path.name}…"))
        self.opener.loaded.connect(self._place)
        self.opener.series_found.connect(self._choose_series)
        self.opener.failed.connect(self._open_failed)

    def open_paths(self, paths) -> None:
        """Open files and folders; they are read (a folder listed) in a worker, see open_one."""
        for path in map(Path, paths):
            self.open_one(path, None)

    def open_one(self, path: Path, key: str | None) -> None:
        """Open one recording in the study of its patient (this window, another, or a new one): focus it when
        it is open already, else read it in a worker; _place takes it from there."""
        if self._focus_open(path, key):
            return
        if not self.opener.request(path, key):
            self.window.statusBar().showMessage(f"{path.name} is being opened", 4000)

    def open_memory(self) -> OpenMemory:
        """What the recordings open in every study window hold now (closed ones and closed windows hold nothing)."""
        return open_memory(window.study for window in study_windows(self.window))

    def _open_failed(self, failures: tuple) -> None:
        self.window.statusBar().clearMessage()  # not "Opening …" left standing
        self.window.controller.error.emit("Cannot open", failures_text(failures))

    def _choose_series(self, folder: Path, series: tuple) -> None:
        """A folder of several series: the user picks which to open."""
        for key in dialogs.choose_series(self.window, list(series)):
            self.open_one(folder, key)

    def _focus_open(self, path: Path, key: str | None) -> bool:
        for window in study_windows(self.window):
            existing = window.study.index_of_path(path) if key is None else None
            if existing is not None:
                window.show_recording(existing)
                window.raise_()
                return True
        return False

    def _place(self, path: Path, key: str | None, read) -> None:
        """A recording read by the opener (with its saved work: app.workflow.reopen): into its patient's study,
        on screen. The edits of the recordings open so far are saved first (the pending autosave), and stay in
        their studies."""
        window = self.window
        reopened = read if isinstance(read, Reopened) else None
        recording = read.recording if isinstance(read, Reopened) else read
        if self._focus_open(path, key):  # opened meanwhile (e.g. from another window)
            return
        refused = self.open_memory().refusal(recording.image_bytes)  # another window may have opened some
        if refused is not None:
            self.opener.refuse(path, refused)
            return
        window.controller.save_now()
        if window.statusBar().currentMessage().startswith("Opening "):
            window.statusBar().clearMessage()
        target = choose_window(window, recording, path.name)
        if target is None:
            return
        index = target.controller.add_recording(recording, reopened)
        window.window_actions.add_recent(str(path))
        if target.index != index:  # shown when added, unless the study showed another one meanwhile
            target.show_recording(index)
        target.study_actions.hint_join()
        if target is not window:
            target.raise_()
            target.activateWindow()
