"""Start the viewer: `run_gui(paths)` creates the application and the main window and opens `paths`."""

from __future__ import annotations

import os
import sys
from typing import cast

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def create_app() -> QApplication:
    import pyqtgraph as pg

    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))  # instance(): this one
    app.setApplicationName("CardioTrace")
    app.setOrganizationName("CardioTrace")
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")  # contours ask for it themselves
    return app


def install_error_dialog(parent) -> None:
    """Unexpected exceptions in the GUI show a message (and the traceback on stderr), never a crash."""
    import traceback

    from app.ui import dialogs

    showing: list[bool] = []

    def hook(exc_type, exc, tb):
        traceback.print_exception(exc_type, exc, tb)
        if showing or issubclass(exc_type, KeyboardInterrupt):
            return
        showing.append(True)
        try:
            dialogs.show_error(parent, "Unexpected error",
                               f"{exc_type.__name__}: {exc}\n\nThe viewer keeps running; your edits are autosaved.")
        finally:
            showing.clear()

    sys.excepthook = hook


def run_gui(paths: list[str]) -> int:
    """Open the main window on `paths` (files or folders); returns the application's exit code."""
    app = create_app()
    from app.ui.main_window import MainWindow

    window = MainWindow()
    window.resize(1500, 950)
    install_error_dialog(window)
    window.show()
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths(paths))
    QTimer.singleShot(300, window.load_device_label)  # torch loads after the window is up
    if os.environ.get("CARDIOTRACE_EXIT_AFTER_SHOW") == "1":  # start-up timing (installer smoke test)
        QTimer.singleShot(0, window.close)  # after open_paths; closeEvent waits for the workers
    code = int(app.exec())
    join_workers()
    return code


def join_workers(timeout_ms: int = 10000) -> None:
    """Cancel and join any worker still running when the event loop ends (e.g. the device probe started
    by its timer just as the window closed): Qt aborts when a running QThread is destroyed."""
    from app.ui.workers import active_workers

    for worker in active_workers():
        worker.cancel()
        worker.wait(timeout_ms)
