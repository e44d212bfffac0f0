"""The order in which a closing main window stops its work: the workers that change the study end first, so that
the save that follows holds all they did; a save that fails asks whether to close anyway; only a window that closes
waits for its device-label worker and a report being written, then lets go of its recordings."""

from __future__ import annotations


def close_window(w, event) -> None:
    """Qt's closeEvent of `w` (a MainWindow): accept it once its workers have ended, or ignore it (the user kept
    the window open when told what could not be saved)."""
    w.edits.propagation.settle()  # a correction still carried: its frames reach the study (and the autosave)
    w.cine.set_playing(False)
    w.opener.cancel()
    w.controller.wait_for_workers()
    w.edits.wait()
    if not w.study_actions.saved_or_confirmed():
        event.ignore()
        return
    w.status.wait()
    if w.reports.worker is not None:
        w.reports.worker.wait()
    event.accept()
    w.study_actions.release()  # a closed study window holds no recording: its memory is the others'
