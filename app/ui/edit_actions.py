"""Turn what the user does on the views into undoable edit commands (app/workflow/edits.py).

Contour edits from the editor (propagated in a worker over the frames set in the tools panel: ± N
frames or up to the neighbouring ED/ES, app/ui/propagation_runner.py), ED/ES marker moves on the timeline and keys on
the current frame, the view label, and the calibration line (asks for its true length). Each goes through the
controller's QUndoStack; the measurements recompute at once through the study state, the strain is re-tracked in a
worker (app/ui/strain_retrack.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QTimer

from app.ui import dialogs
from app.ui.propagation_runner import PropagationRunner
from app.ui.strain_retrack import StrainRetracker
from app.workflow.edits import (
    CalibrationEdit,
    ContourEdit,
    EdEsEdit,
    ViewEdit,
    spacing_from_line,
)
from app.workflow.marks import mark_frame, move_marker
from app.workflow.propagate import PropagationRange, range_to_marks

SETTLED_POLL_MS = 200  # how often a waiting report or send looks whether the edits' pending work has ended


class EditActions:
    def __init__(self, window) -> None:
        self.window = window
        self.retrack = StrainRetracker(window.controller)
        self.propagation = PropagationRunner(window.controller)
        self.propagation.finished.connect(self._propagated)
        self.propagation.started.connect(lambda index: self.show_spreading())
        window.editor.edit_requested.connect(self.contour_edit)
        window.editor.line_drawn.connect(self.calibration_line)
        window.curves.marker_moved.connect(self.marker_moved)
        window.tools.view_chosen.connect(lambda view: self.push(lambda i: ViewEdit(i, view)))
        window.tools.drag_radius.valueChanged.connect(self._drag_radius)
        self._drag_radius(window.tools.drag_radius.value())
        window.cine.frame_changed.connect(lambda f: self.show_frame_status())
        self._waiting: set[str] = set()  # the kinds of request waiting for the edits' pending work (once_settled)
        window.study.events.contours_changed.connect(lambda i, keys: self.show_frame_status())
        self.retrack.retracked.connect(lambda i, ok: window.refresh_measurements() if i == window.index else None)

    def _drag_radius(self, radius_mm: float) -> None:
        self.window.editor.drag_radius_mm = float(radius_mm)

    def push(self, make_command) -> None:
        """make_command(recording index) -> EditCommand, pushed for the recording on screen."""
        w = self.window
        if w.index is not None:
            w.controller.push(make_command(w.index))

    def propagation_range(self, frame: int) -> PropagationRange:
        """The frames a correction on `frame` is carried to, as set in the tools panel."""
        tools, st = self.window.tools, self.window.state
        if tools.propagate_to_marks.isChecked():
            return range_to_marks(frame, st.recording.n_frames, (*st.ed_frames, *st.es_frames))
        n = tools.propagate.value()
        return PropagationRange(n, n)

    def contour_edit(self, kind: str, new, text: str) -> None:
        """An edit proposed by the editor, on the contour (and frame) it was showing."""
        w = self.window
        if w.state is None:
            return
        key = w.editor.key or (w.slice_index, w.cine.frame)
        old = w.state.contour(key, kind)
        self.propagation.push(ContourEdit(w.index, key, kind, new, old, self.propagation_range(key[1]), text=text))

    def show_spreading(self) -> None:
        """Say with the values whether they wait for a correction's spread: the correction is measured once
        carried to its neighbouring frames, and until then the EF shown is that of before it."""
        w = self.window
        w.measurements.set_pending(w.index is not None and self.propagation.spreading(w.index))

    def _propagated(self, command, frames: list[int]) -> None:
        self.show_spreading()
        if frames:
            self.window.statusBar().showMessage(
                f"{command.text}: carried to frames {frames[0]}–{frames[-1]} (one undo step)", 6000)

    def busy(self) -> bool:
        """A correction is still being carried to its neighbouring frames, or a GLS re-tracked on the edits."""
        return self.propagation.busy() or any(self.retrack.busy(i) for i in range(len(self.window.study)))

    def when_settled(self, then: Callable[[], object], what: str) -> bool:
        """Call `then` now when no correction's spread or GLS re-tracking is pending (True); else say so and call
        it once they have ended (False): a report or a send waits for the numbers the edits make (it had printed
        the GLS of before the edit, starred as edited). Polled: a re-track dropped before it started (its
        recording closed) ends the wait as surely as one that reports."""
        if not self.busy():
            then()
            return True
        self.window.notice(f"The {what} waits for the edits' GLS re-tracking (or their spread to the neighbouring "
                           "frames) to end…")
        timer = QTimer(self.window)
        timer.setInterval(SETTLED_POLL_MS)

        def check() -> None:
            if self.busy():
                return
            timer.stop()
            timer.deleteLater()
            then()

        timer.timeout.connect(check)
        timer.start()
        return False

    def once_settled(self, kind: str, then: Callable[[], object], what: str) -> bool | None:
        """when_settled(then, what), one request of a `kind` waiting at a time: None (nothing done, nothing said)
        while one of that kind waits; else when_settled's answer."""
        if kind in self._waiting:
            return None
        self._waiting.add(kind)

        def go() -> None:
            self._waiting.discard(kind)
            then()

        return self.when_settled(go, what)

    def wait(self) -> None:
        """Join the workers (window close)."""
        self.propagation.wait()
        self.retrack.wait()

    def show_frame_status(self) -> None:
        """Say whether the frame on screen was corrected by hand or by a propagated correction."""
        w = self.window
        st = w.state
        key = (w.slice_index, w.cine.frame)
        text = ""
        if st is not None and key in st.propagated_keys:
            text = "This frame: edited (propagated)"
        elif st is not None and key in st.edited_keys:
            text = "This frame: edited by hand"
        w.tools.frame_status.setText(text)

    def marker_moved(self, which: str, old: int, new: int) -> None:
        st = self.window.state
        ed, es = move_marker(st.ed_frames, st.es_frames, which, old, new)
        before, after = (st.ed_frames, ed) if which == "ed" else (st.es_frames, es)
        placed = sorted(set(after) - (set(before) - {old}))
        self.push(lambda i: EdEsEdit(i, ed, es, text=f"move {which.upper()}"))
        if placed and placed[0] != new:  # stopped at its beat's edge: say so (it had acted silently)
            self.window.notice(f"{which.upper()} kept within its beat: frame {placed[0]}, not {new} (a beat's marks "
                               "stay between the marks of the other kind around it)")

    def mark_current(self, which: str) -> None:
        w = self.window
        if w.state is None:
            return
        ed, es = mark_frame(w.state.ed_frames, w.state.es_frames, which, w.cine.frame)
        self.push(lambda i: EdEsEdit(i, ed, es, text=f"mark {which.upper()}"))

    def calibration_line(self, p0, p1) -> None:
        w = self.window
        length_px = float(np.hypot(p1[0] - p0[0], p1[1] - p0[1]))
        length_mm = dialogs.ask_length_mm(w, length_px)
        w.tools.set_mode("edit")
        if length_mm is None:
            return
        try:
            spacing = spacing_from_line(p0, p1, length_mm)
        except ValueError as exc:
            dialogs.show_error(w, "Calibration", str(exc))
            return
        self.push(lambda i: CalibrationEdit(i, spacing))
