"""The main window: study header, recordings, cine view with overlays and editing, curves, measurements.

It only wires views to the StudyController; the study state itself is Qt-free (app/workflow/study.py).
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QSignalBlocker, QTimer
from PySide6.QtWidgets import QLabel, QMainWindow

from app.data.dicom_dates import display_date
from app.data.recording import view_title
from app.ui import dialogs
from app.ui.actions import build_actions
from app.ui.analysis_actions import AnalysisActions
from app.ui.beat_table import BeatTable
from app.ui.cine_view import CineView
from app.ui.closing import close_window
from app.ui.contour_editor import ContourEditor
from app.ui.curves_panel import CurvesPanel
from app.ui.edit_actions import EditActions
from app.ui.handles import size_handles
from app.ui.measurements_panel import MeasurementsPanel
from app.ui.messages import NOTICE_MS, StatusMessages
from app.ui.open_actions import OpenActions
from app.ui.overlays import OverlayLayer
from app.ui.report_actions import ReportActions
from app.ui.side_panel import RecordingsPanel, ToolsPanel
from app.ui.stack_panels import StackPanels
from app.ui.status import StatusArea
from app.ui.study_actions import StudyActions
from app.ui.study_controller import StudyController
from app.ui.values_view import ValuesView
from app.ui.window_layout import central_widget
from app.ui.workers import GeneratorWorker
from app.workflow.patients import describe


class MainWindow(QMainWindow):
    def __init__(self, controller: StudyController | None = None) -> None:
        super().__init__()
        self.setWindowTitle("CardioTrace")
        self.setAcceptDrops(True)
        self.controller = controller or StudyController(parent=self)
        self.study = self.controller.study
        self.index: int | None = None
        self.slice_index = 0
        self._pending: set[str] = set()
        self.study_windows: list = []  # windows this one opened for other patients' studies
        self._build()
        self.values = ValuesView(self)
        self.study_actions = StudyActions(self)
        self.window_actions = build_actions(self)
        self.opening = OpenActions(self)
        self.opener = self.opening.opener
        self._connect()

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = QLabel("Open a recording: File ▸ Open, or drop a file here")
        self.header.setStyleSheet("font-size: 13px; padding: 4px")
        self.header.setWordWrap(True)  # a long reader note wraps instead of widening the window
        self.recordings = RecordingsPanel()
        self.cine = CineView()
        self.overlays = OverlayLayer(self.cine.plot, self.cine.px_to_view)
        self.editor = ContourEditor(self.cine.plot, self.cine.px_to_view, self.cine.view_to_px)
        self.tools = ToolsPanel()
        self.measurements = MeasurementsPanel()
        self.curves = CurvesPanel()
        self.stack = StackPanels(self)  # slice strip + per-slice volume table (short-axis stacks only)
        self.beats = BeatTable()  # per-beat values of a 2D+t recording, beside the curves
        self.beats.setVisible(False)
        self.setCentralWidget(central_widget(self))  # app/ui/window_layout.py
        self.status = StatusArea(self)
        self.messages = StatusMessages(self)  # notices and routine words in the status bar
        self.progress, self.cancel_button = self.status.progress, self.status.cancel_button
        self.reports = ReportActions(self)

    def _connect(self) -> None:
        ev = self.study.events
        ev.recording_added.connect(self._recording_added)
        def contours_changed() -> None:
            self.refresh_frame()
            self.stack.contours_changed()

        ev.contours_changed.connect(lambda i, keys: self._if_current(i, contours_changed))
        ev.analysis_changed.connect(lambda i: self._if_current(i, lambda: self._later("all")))
        ev.measurements_changed.connect(self._measurements_changed)
        ev.edes_changed.connect(lambda i: self._if_current(i, lambda: self._refresh_unless_pending(self.refresh_frame)))
        ev.view_changed.connect(self._view_changed)
        ev.calibration_changed.connect(lambda i: self._if_current(i, self._calibration_changed))
        c = self.controller
        c.error.connect(lambda title, text: dialogs.show_error(self, title, text))
        self.beats.frame_clicked.connect(self.cine.go_to)
        self.analysis = AnalysisActions(self)  # the analyze buttons, and a running analysis's first results
        self.recordings.recording_selected.connect(self.show_recording)
        self.recordings.slice_changed.connect(self._slice_changed)
        self.cine.frame_changed.connect(lambda f: self.refresh_frame())
        self.curves.frame_requested.connect(self.cine.set_frame)
        self.tools.overlay_toggled.connect(self.overlays.set_visible)
        def kind_changed(kind: str) -> None:
            self.editor.set_kind(kind)
            self.refresh_frame()

        self.tools.kind_changed.connect(kind_changed)
        self.tools.mode_changed.connect(self.editor.set_mode)
        self.tools.patient_requested.connect(self.study_actions.edit_patient)
        self.edits = EditActions(self)
        self.editor.drag_started.connect(lambda: self.cine.set_playing(False))
        # control points sized (and thinned out) to the contour on screen: small slices keep their outline visible
        self.cine.plot.getPlotItem().vb.sigRangeChanged.connect(lambda *a: size_handles(self.editor, self.cine))

    # -- opening (app/ui/open_actions.py) -------------------------------------------------------
    def open_paths(self, paths) -> None:
        """Open files and folders; they are read (a folder listed) in a worker."""
        self.opening.open_paths(paths)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.open_paths(paths)

    def _recording_added(self, index: int) -> None:
        self.recordings.set_item_text(index, self._item_text(index))
        self.show_recording(index, panels_later=True)

    def _item_text(self, index: int) -> str:
        st = self.study[index]
        mode = "" if st.recording.image_mode == "2D" else st.recording.image_mode  # colour Doppler: not measured
        return " · ".join(x for x in (view_title(st.recording.view), mode, st.name) if x)

    # -- display ----------------------------------------------------------------------------
    @property
    def state(self):
        return None if self.index is None else self.study[self.index]

    def _if_current(self, index: int, fn) -> None:
        if index == self.index:
            fn()

    def notice(self, text: str, ms: int = NOTICE_MS) -> None:
        """A word the user must read: routine messages wait for it (app/ui/messages.py)."""
        self.messages.notice(text, ms)

    def show_recording(self, index: int, panels_later: bool = False) -> None:
        """Show recording `index`: its frames and its panels, these in the next turn of the event loop with
        panels_later (a recording just added: its first frame is painted before its curves and tables)."""
        if index < 0 or index >= len(self.study):
            return
        changed = index != self.index
        self.index = index
        if self.recordings.list.currentRow() != index:
            with QSignalBlocker(self.recordings.list):  # not shown a second time, from the list's own signal
                self.recordings.list.setCurrentRow(index)
        if changed:
            rec = self.state.recording
            self.slice_index = self._default_slice()
            self.recordings.set_slices(rec.n_slices, self.slice_index)
            self.cine.set_recording(rec, self.slice_index)
        if panels_later:
            self._later("all")
        else:
            self.refresh_all()

    def _default_slice(self) -> int:
        """A stack opens on its middle contoured slice (the middle slice before any analysis)."""
        st = self.state
        slices = sorted({s for s, _ in st.contours})
        return slices[len(slices) // 2] if slices else st.recording.n_slices // 2

    def _slice_changed(self, slice_index: int) -> None:
        self.slice_index = slice_index
        self.cine.set_recording(self.state.recording, slice_index, self.cine.frame, keep_view=True)  # keeps zoom
        self.refresh_all()

    def _later(self, what: str) -> None:
        """Coalesce refreshes: several model events in one turn of the event loop -> one repaint."""
        if not self._pending:
            QTimer.singleShot(0, self._flush_pending)
        self._pending.add(what)

    def _measurements_changed(self, index: int) -> None:
        self._refresh_unless_pending(self.refresh_measurements)

    def _flush_pending(self) -> None:
        pending, self._pending = self._pending, set()
        if "all" in pending:
            self.refresh_all()

    def refresh_all(self) -> None:
        if self.state is None:
            return
        self._update_header()
        self.reports.update()
        self.tools.show_view(self.state.recording.view)
        self.tools.show_modality(self.state.recording.modality)
        self.refresh_measurements()
        self.refresh_frame()

    def refresh_frame(self) -> None:
        st = self.state
        if st is None or self.cine.recording is None:
            return
        frame = self.cine.frame
        key = (self.slice_index, frame)
        controls = st.contours.get(key)
        traced = self.controller.traced(self.index).get(key) if controls is None else None
        if traced is not None:  # the running analysis has traced this frame: drawn before it ends
            self.overlays.show_traced(traced)
        else:
            centerline = getattr(st.strain, "centerline_px", None)
            self.overlays.update(st.recording, controls, frame in st.ed_frames or frame in st.es_frames,
                                 None if centerline is None else np.asarray(centerline)[frame],
                                 getattr(st.analysis, "rv_left_out", {}).get(key))
        self.editor.show(st.contour(key, self.editor.kind),
                         self.cine.image.mapRectToParent(self.cine.image.boundingRect()), key)
        size_handles(self.editor, self.cine)
        self.curves.set_frame(frame, playing=self.cine.playing)
        self.cine.set_loop_range(self._beat_range(frame))

    def refresh_measurements(self) -> None:
        self.values.refresh()

    def _beat_range(self, frame: int) -> tuple[int, int] | None:
        ed = sorted(self.state.ed_frames)
        starts = [f for f in ed if f <= frame]
        ends = [f for f in ed if f > frame]
        if not starts or not ends:
            return None
        return (starts[-1], ends[0] - 1)

    def _update_header(self) -> None:
        rec = self.state.recording
        p = rec.patient
        rate = f"{rec.frame_rate_hz:.0f} fps" if rec.frame_rate_hz and not rec.frame_times_nominal else "timing unknown"
        cal = f"{rec.spacing_mm[1]:.2f}×{rec.spacing_mm[0]:.2f} mm/px" if rec.calibrated else "UNCALIBRATED"
        who = " · ".join(x for x in (p.name.replace("^", " "), p.patient_id, p.sex, display_date(p.study_date)) if x)
        who = who or "no patient data"
        self.setWindowTitle(f"CardioTrace · {describe(p, self.study[0].name)}")
        view = (view_title(rec.view) or "view not set") + ("" if rec.image_mode == "2D" else f" · {rec.image_mode}")
        self.header.setText(f"<b>{who}</b> &nbsp; | &nbsp; {rec.modality.upper()} {view} · "
                            f"{rec.n_frames} frames · {rate} · {cal}"
                            + (f" · {rec.n_slices} slices" if rec.is_stack else "")
                            + "".join(f" · <span style='color:#c0392b'>{html.escape(note)}</span>"
                                      for note in rec.reader_notes))  # e.g. a video that ends early

    def _view_changed(self, index: int) -> None:
        self.recordings.set_item_text(index, self._item_text(index))
        self._if_current(index, self._refresh_unless_pending)

    def _calibration_changed(self) -> None:
        self.cine.recording = self.state.recording  # same frames, new pixel size
        self.cine.update_geometry()
        self.cine.fit()
        self._refresh_unless_pending()

    def _refresh_unless_pending(self, refresh=None) -> None:
        """`refresh` (default refresh_all) now, unless a full refresh is coming in this turn of the event loop."""
        if "all" not in self._pending:
            (refresh or self.refresh_all)()

    # -- edits (app/ui/edit_actions.py) ---------------------------------------------------------
    def mark_current(self, which: str) -> None:
        self.edits.mark_current(which)

    def jump_to_mark(self, direction: int) -> None:
        """Show the nearest ED or ES mark before (direction -1) or after (+1) the current frame."""
        st = self.state
        if st is None:
            return
        frame = self.cine.frame
        marks = sorted(set(st.ed_frames) | set(st.es_frames))
        ahead = [f for f in marks if f > frame] if direction > 0 else [f for f in reversed(marks) if f < frame]
        if ahead:
            self.cine.go_to(ahead[0])

    # -- analysis (app/ui/analysis_actions.py), closing (app/ui/closing.py) ------------------------
    def analyze_current(self) -> None:
        """Analyze the recording on screen; with hand corrections, ask whether to keep them first."""
        self.analysis.analyze_current()

    def load_device_label(self) -> GeneratorWorker:
        return self.status.load_device_label()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        close_window(self, event)
