"""Menus, keyboard shortcuts and the recent-files list (QSettings) of the main window."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

MAX_RECENT = 10
PAGE_FRAMES = 10  # PgUp / PgDn step
STEADY_MARGIN = 0.2  # label hysteresis of "Steady echo contours" (README: evaluate echo-seg, base+h2)
FILE_FILTER = "Recordings (*.dcm *.DCM *.nii *.nii.gz *.mhd *.avi *.mp4 *);;All files (*)"


def settings() -> QSettings:
    return QSettings("CardioTrace", "CardioTrace")


class WindowActions:
    """Builds the menu bar of `window` (a MainWindow) and keeps the recent-files menu current."""

    def __init__(self, window) -> None:
        self.window = window
        w = window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        self._add(file_menu, "&Open file…", QKeySequence.StandardKey.Open, self.open_file)
        self._add(file_menu, "Open &folder…", "Ctrl+Shift+O", self.open_folder)
        self.recent_menu = file_menu.addMenu("Open &recent")
        from app.ui.pacs_actions import PacsActions

        self.pacs = PacsActions(w, settings)
        self._add(file_menu, "Open from &PACS…", "Ctrl+Shift+P", self.pacs.open_browser)
        self._add(file_menu, "Send results to PA&CS…", "Ctrl+Shift+S", self.pacs.ask_and_send)
        self._add(file_menu, "&Save now", QKeySequence.StandardKey.Save, w.controller.save_now)
        file_menu.addSeparator()
        self._add(file_menu, "&Close recording", "Ctrl+W", w.study_actions.close_recording)
        self._add(file_menu, "Close s&tudy", "Ctrl+Shift+W", w.study_actions.close_study)
        file_menu.addSeparator()
        self._add(file_menu, "&Quit", QKeySequence.StandardKey.Quit, w.close)
        edit = bar.addMenu("&Edit")
        self.undo = w.controller.undo_stack.createUndoAction(w, "&Undo")
        self.undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo = w.controller.undo_stack.createRedoAction(w, "&Redo")
        self.redo.setShortcuts(redo_keys())
        edit.addAction(self.undo)
        edit.addAction(self.redo)
        edit.addSeparator()
        self._add(edit, "Mark frame as &ED", "E", lambda: w.mark_current("ed"))
        self._add(edit, "Mark frame as E&S", "S", lambda: w.mark_current("es"))
        self._add(edit, "&Calibrate by a known length", "Ctrl+L", lambda: w.tools.set_mode("calibrate"))
        self._add(edit, "Re&draw contour", "Ctrl+D", lambda: w.tools.set_mode("redraw"))
        self._add(edit, "Drag &points", "Escape", lambda: w.tools.set_mode("edit"))
        edit.addSeparator()
        self._add(edit, "Patient &height, weight and sex…", "Ctrl+I", w.study_actions.edit_patient)
        view = bar.addMenu("&View")
        self._add(view, "&Play / pause", "Space", w.cine.toggle_playing)
        self._add(view, "&Next frame", "Right", lambda: w.cine.step(1))
        self._add(view, "P&revious frame", "Left", lambda: w.cine.step(-1))
        self._add(view, "First frame", "Home", lambda: w.cine.go_to(0))
        self._add(view, "Last frame", "End", lambda: w.cine.go_to(w.cine.n_frames - 1))
        self._add(view, f"Back {PAGE_FRAMES} frames", "PgUp", lambda: w.cine.go_to(w.cine.frame - PAGE_FRAMES))
        self._add(view, f"Forward {PAGE_FRAMES} frames", "PgDown", lambda: w.cine.go_to(w.cine.frame + PAGE_FRAMES))
        self._add(view, "Previous ED/ES mark", "Ctrl+Left", lambda: w.jump_to_mark(-1))
        self._add(view, "Next ED/ES mark", "Ctrl+Right", lambda: w.jump_to_mark(1))
        self._add(view, "&Fit image", "F", lambda: w.cine.fit())
        up = self._add(view, "Previous slice (towards the base)", "Ctrl+Up", lambda: w.stack.step(-1))
        up.setShortcuts([QKeySequence("Ctrl+Up"), QKeySequence("Up")])
        down = self._add(view, "Next slice (towards the apex)", "Ctrl+Down", lambda: w.stack.step(1))
        down.setShortcuts([QKeySequence("Ctrl+Down"), QKeySequence("Down")])
        report = bar.addMenu("&Report")
        self._add(report, "&Comment / Conclusion…", "Ctrl+K", w.reports.edit_conclusion)
        self._add(report, "&PDF report…", "Ctrl+P", w.reports.write_report)
        analysis = bar.addMenu("&Analysis")
        self._add(analysis, "&Analyze recording", "Ctrl+R", w.analyze_current)
        self._add(analysis, "Analyze a&ll recordings", "Ctrl+Shift+R", w.study_actions.analyze_all)
        self._add(analysis, "&Cancel analysis", "Ctrl+.", lambda: w.controller.cancel_analysis())
        join = self._add(analysis, "&Join one-phase recordings (one file per phase)", "Ctrl+J",
                         w.study_actions.join_phases)
        join.setToolTip("Still echo frames or short-axis stacks of one phase each (e.g. CAMUS's or ACDC's ED and ES "
                        "files) become one recording of those phases per view: its analysis gives EDV, ESV and EF, "
                        "ED being the larger LV")
        analysis.addSeparator()
        self.steady = self._add(analysis, "&Steady echo contours (label hysteresis)", "Ctrl+H", self.toggle_steady)
        self.steady.setCheckable(True)
        self.steady.setToolTip("Hold a pixel's label until another class is clearly more probable: far less "
                               "flicker in the cine loop, EF about 1.5 points lower. Applies to the next analysis.")
        self.steady.setChecked(bool(settings().value("steady_contours", False, type=bool)))
        self._apply_steady()
        from app.ui.site_actions import SiteModelAction

        self.site_model = SiteModelAction(w, analysis)
        analysis.setToolTipsVisible(True)  # the options' tooltips say what they change (Qt hides menu tooltips)
        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "&About CardioTrace", QKeySequence.StandardKey.HelpContents, w.study_actions.about)
        self.refresh_recent()

    def toggle_steady(self) -> None:
        """Called after Qt flipped the check mark: remember it and use it from the next analysis."""
        settings().setValue("steady_contours", self.steady.isChecked())
        self._apply_steady()
        state = "on" if self.steady.isChecked() else "off"
        self.window.statusBar().showMessage(
            f"Steady echo contours {state}: re-run the analysis (Ctrl+R) to apply", 5000
        )

    def _apply_steady(self) -> None:
        self.window.controller.echo_hysteresis = STEADY_MARGIN if self.steady.isChecked() else 0.0

    def _add(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        action.triggered.connect(lambda checked=False: slot())
        menu.addAction(action)
        self.window.addAction(action)  # shortcuts work whichever child has the focus
        return action

    # -- opening ----------------------------------------------------------------------------
    def open_file(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.window, "Open recordings", self._last_dir(), FILE_FILTER)
        if paths:
            self.window.open_paths(paths)

    def open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.window, "Open a DICOM folder", self._last_dir())
        if path:
            self.window.open_paths([path])

    def _last_dir(self) -> str:
        recent = self.recent()
        return str(__import__("pathlib").Path(recent[0]).parent) if recent else ""

    # -- recent files -----------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = settings().value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in cast(list[object], value or [])]  # QSettings: a list, or one string

    def add_recent(self, path: str) -> None:
        items = [path] + [p for p in self.recent() if p != path]
        settings().setValue("recent", items[:MAX_RECENT])
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        for path in items:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.window.open_paths([p]))
        self.recent_menu.setEnabled(bool(items))


def build_actions(window) -> WindowActions:
    return WindowActions(window)


def redo_keys() -> list[QKeySequence]:
    """The platform's Redo keys with Ctrl+Y and Ctrl+Shift+Z, each once: a key bound twice to one action is
    ambiguous to Qt, which then does nothing (the platforms whose Redo already is Ctrl+Y)."""
    keys: list[QKeySequence] = []
    for key in [*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Y"),
                QKeySequence("Ctrl+Shift+Z")]:
        if not key.isEmpty() and all(key != k for k in keys):
            keys.append(key)
    return keys

