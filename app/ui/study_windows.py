"""One patient per study: which window a recording being opened goes to.

Each MainWindow holds one study (one patient, one exam). A recording whose patient ID, name, birth date
or Study Instance UID differs from the study's (app.workflow.patients) opens in the window of its own
study, or a new one; a recording without any identity (an anonymous file, a video) joins only when the
user says so. An empty window takes any recording.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.ui import dialogs
from app.workflow.patients import DIFFERENT, SAME, compare, describe, identity, study_identity


def window_identity(window):
    return study_identity(st.recording.patient for st in window.study.recordings)


def study_windows(window) -> list:
    """The visible study windows, `window` first."""
    others = [w for w in QApplication.topLevelWidgets()
              if w is not window and type(w) is type(window) and w.isVisible()]
    return [window] + others


def choose_window(window, recording, source_name: str = ""):
    """The window whose study `recording` belongs to: `window`, another open study window, a new window
    (another patient), or None when the user cancels."""
    if not len(window.study):
        return window
    new = identity(recording.patient)
    for candidate in study_windows(window):
        if len(candidate.study) and compare(window_identity(candidate), new)[0] == SAME:
            return candidate
    verdict, field = compare(window_identity(window), new)
    who_new = describe(recording.patient, source_name)
    who_study = describe(window.study[0].recording.patient, window.study[0].name)
    if verdict == DIFFERENT:
        window.statusBar().showMessage(f"{who_new} is not the patient or exam of this study (different {field}): "
                                       "opened as a separate study", 10000)
        return new_study_window(window)
    answer = dialogs.ask_join_study(window, who_new, who_study)
    if answer == "join":
        return window
    return new_study_window(window) if answer == "separate" else None


def new_study_window(window):
    """An empty study window like `window` (same analysis settings), shown beside it."""
    other = type(window)()
    other.controller.segmenter_for = window.controller.segmenter_for
    other.controller.with_strain = window.controller.with_strain
    other.resize(window.size())
    window.study_windows.append(other)  # keep it alive
    other.show()
    return other
