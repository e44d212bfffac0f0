"""Words in the status bar: a notice the user must read holds back the routine messages that follow it, and an
undo or redo says what it changed, on the recording it changed."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer

NOTICE_MS = 10000  # how long a notice stays before routine messages take the status bar
ROUTINE_MS = 6000  # how long a routine message (autosaved, re-tracking...) or an undo's word stays


class StatusMessages:
    def __init__(self, window) -> None:
        self.window = window
        self._notice_until = 0.0  # monotonic time until which routine messages wait (notice)
        self._held = ""  # the latest routine message that waits for a notice
        c = window.controller
        c.message.connect(self.routine)
        c.notice.connect(self.notice)
        c.stepped.connect(self.undo_stepped)

    def notice(self, text: str, ms: int = NOTICE_MS) -> None:
        """A word the user must read (an edit not done as asked, a wait, a history cleared): the routine messages
        that follow (autosaved, re-tracking...) wait until it has been shown for `ms` (they had replaced it within
        a second)."""
        self._notice_until = time.monotonic() + ms / 1000.0
        self.window.statusBar().showMessage(text, ms)

    def routine(self, text: str) -> None:
        left_s = self._notice_until - time.monotonic()
        if left_s <= 0:
            self.window.statusBar().showMessage(text, ROUTINE_MS)
            return
        self._held = text  # the latest, shown when the notice's time is up
        # the window as the timer's context: a window closed (and deleted) before then drops the timer
        QTimer.singleShot(int(left_s * 1000) + 1, self.window, self._show_held)

    def _show_held(self) -> None:
        text, self._held = self._held, ""
        if text:
            self.routine(text)

    def undo_stepped(self, index: int, text: str) -> None:
        """An undo or redo says what it changed (a word about the step before it goes), and one of another
        recording's edit shows that recording (it had changed a view off screen without a word)."""
        w = self.window
        if not 0 <= index < len(w.study):
            return
        if index != w.index:
            w.show_recording(index)
            text = f"{text} on {w.study[index].name}"
        w.statusBar().showMessage(text, ROUTINE_MS)
