"""The short-axis stack's own panels in the main window: the slice strip under the cine view and the per-slice
volume table beside the measurements; both are hidden for anything but a stack. Slice steps keep the zoom.
"""

from __future__ import annotations

from app.ui.slice_strip import SliceStrip
from app.ui.slice_table import SliceVolumeTable
from app.workflow.study_edits import SliceSelectionEdit


class StackPanels:
    """Owns `strip` and `table` of `window` (a MainWindow) and keeps them on the shown recording."""

    def __init__(self, window) -> None:
        self.window = window
        self.strip = SliceStrip()
        self.table = SliceVolumeTable()
        # (state id, ED frame, contours id, excluded) the thumbnails were drawn for
        self._thumb_key: tuple[object, ...] | None = None
        self.strip.slice_chosen.connect(self.show_slice)
        self.table.slice_clicked.connect(self.show_slice)
        self.table.include_changed.connect(self._include_changed)
        self.set_visible(False)

    def set_visible(self, on: bool) -> None:
        self.strip.setVisible(on)
        self.table.setVisible(on)

    def refresh(self) -> None:
        """Show the current recording's slices (hidden unless it is a stack)."""
        st = self.window.state
        stack = st is not None and st.recording.is_stack
        self.set_visible(stack)
        if not stack:
            return
        ed = st.ed_frames[0] if st.ed_frames else 0
        key = (id(st), ed, id(st.contours), len(st.contours), st.excluded_slices, st.recording.n_slices)
        if key != self._thumb_key:  # thumbnails are redrawn when the slices' ED picture changes, not per frame
            self._thumb_key = key
            self.strip.show_stack(st, ed)
        self.strip.set_current(self.window.slice_index)
        self.table.show_state(st)
        self.table.selectRow(self.window.slice_index)

    def contours_changed(self) -> None:
        self._thumb_key = None
        self.refresh()

    def show_slice(self, slice_index: int) -> None:
        """Show a slice (the recordings panel's spin box drives the window, as when the user types it)."""
        st = self.window.state
        if st is None or not st.recording.is_stack:
            return
        slice_index = max(0, min(slice_index, st.recording.n_slices - 1))
        if slice_index != self.window.slice_index:
            self.window.recordings.slice.setValue(slice_index + 1)

    def step(self, delta: int) -> None:
        """Up/Down: the previous/next slice in the stack's order."""
        self.show_slice(self.window.slice_index + delta)

    def _include_changed(self, slice_index: int, include: bool) -> None:
        w = self.window
        if w.index is not None:
            w.controller.push(SliceSelectionEdit(w.index, slice_index, include))
            self._thumb_key = None
            self.refresh()
