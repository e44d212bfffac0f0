"""Turn what the user does on the views into undoable edit commands (app/workflow/edits.py).

Contour edits from the editor, ED/ES marker moves on the timeline and keys on the current frame, the
view label, and the calibration line (asks for its true length). Each goes through the controller's
QUndoStack; the measurements recompute at once through the study state.
"""

from __future__ import annotations

import numpy as np

from app.ui import dialogs
from app.workflow.edits import (BodySizeEdit, CalibrationEdit, ContourEdit, EdEsEdit, ViewEdit, mark_frame, move_marker,
                                spacing_from_line)


class EditActions:
    def __init__(self, window) -> None:
        self.window = window
        window.editor.edit_requested.connect(self.contour_edit)
        window.editor.line_drawn.connect(self.calibration_line)
        window.curves.marker_moved.connect(self.marker_moved)
        window.tools.view_chosen.connect(lambda view: self.push(lambda i: ViewEdit(i, view)))
        window.tools.body_size_chosen.connect(lambda h, w: self.push(lambda i: BodySizeEdit(i, h, w)))

    def push(self, make_command) -> None:
        """make_command(recording index) -> EditCommand, pushed for the recording on screen."""
        w = self.window
        if w.index is not None:
            w.controller.push(make_command(w.index))

    def contour_edit(self, kind: str, new, text: str) -> None:
        """An edit proposed by the editor, on the contour (and frame) it was showing."""
        w = self.window
        key = w.editor.key or (w.slice_index, w.cine.frame)
        old = w.state.contour(key, kind)
        radius = w.tools.propagate.value()
        self.push(lambda i: ContourEdit(i, key, kind, new, old, radius, text=text))

    def marker_moved(self, which: str, old: int, new: int) -> None:
        st = self.window.state
        ed, es = move_marker(st.ed_frames, st.es_frames, which, old, new)
        self.push(lambda i: EdEsEdit(i, ed, es, text=f"move {which.upper()}"))

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
