"""Recordings and helpers for the viewer and study tests (import the fixtures into test modules).

`synthetic_echo` draws a beating LV as labels (half-ellipse cavity, myocardium band, LA below) and a
grey image from them, so tests have exact truth without any model or file reader.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.data.recording import PatientInfo, Recording, uniform_frame_times


def synthetic_labels(n_frames: int = 24, shape=(160, 128), beats: float = 1.0) -> np.ndarray:
    """(T, H, W) uint8 labels: 1 cavity, 2 myocardium, 3 LA; apex at the top, ED at frame 0."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, base = w / 2.0, 0.68 * h
    phase = np.arange(n_frames) / n_frames * 2 * np.pi * beats
    squeeze = 0.5 * (1 - np.cos(phase))  # 0 at ED, 1 at ES
    labels = np.zeros((n_frames, h, w), np.uint8)
    for t in range(n_frames):
        a = 0.22 * w * (1 - 0.22 * squeeze[t])
        b = 0.52 * h * (1 - 0.12 * squeeze[t])
        wall = 6.0 + 2.5 * squeeze[t]
        upper = rows <= base
        cavity = upper & (((cols - cx) / a) ** 2 + ((rows - base) / b) ** 2 <= 1)
        body = upper & (((cols - cx) / (a + wall)) ** 2 + ((rows - base) / (b + wall)) ** 2 <= 1)
        la = (rows > base) & (((cols - cx) / (0.8 * a)) ** 2 + ((rows - base - 0.12 * h) / (0.12 * h)) ** 2 <= 1)
        labels[t][la] = 3
        labels[t][body] = 2
        labels[t][cavity] = 1
    return labels


def image_from_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """(T, H, W) uint8 echo-like grey frames: dark blood, bright wall, speckle noise."""
    rng = np.random.default_rng(seed)
    grey = np.choose(labels, [60, 15, 170, 15]).astype(np.float64)
    grey += rng.normal(0, 12, labels.shape)
    return np.clip(grey, 0, 255).astype(np.uint8)


def synthetic_echo(n_frames: int = 24, shape=(160, 128), path: Path | None = None, view: str = "a4c",
                   calibrated: bool = True) -> tuple[Recording, np.ndarray]:
    labels = synthetic_labels(n_frames, shape)
    rec = Recording(
        frames=image_from_labels(labels),
        spacing_mm=(0.5, 0.5) if calibrated else (1.0, 1.0),
        frame_times_s=uniform_frame_times(n_frames, 30.0),
        modality="echo",
        view=view,
        calibrated=calibrated,
        patient=PatientInfo(name="Test^Patient", patient_id="T001", sex="M", study_date="20261122"),
        source_path=path,
        series_description="synthetic",
    )
    return rec, labels


def fake_analysis(labels: np.ndarray, ed_frames=(0,), es_frames=None, flagged=()):
    """A RecordingAnalysis-like object from labels (used only where the pipeline is not under test, with a
    toy measure_fn: the study measures it itself)."""
    from app.analysis.contours import extract_all
    from app.workflow.results import FrameContours

    n = len(labels)
    es_frames = es_frames if es_frames is not None else (n // 2,)
    return types.SimpleNamespace(
        contours=FrameContours.of(extract_all(labels)),
        confidence=np.linspace(1.0, 0.8, n),
        flagged_frames=tuple(flagged),
        measurements=types.SimpleNamespace(ed_frames=tuple(ed_frames), es_frames=tuple(es_frames)),
        strain=None, strain_error="", segmenter="", segmenter_flags={}, view_check=None,
    )


def area_measure(state) -> dict:
    """A small real measurement for model tests: cavity area (px^2) per frame from the editable contours."""
    from app.analysis.contours import polygon_area_px2
    from app.workflow.contour_adapter import lv_contours_per_frame

    areas = [None if c is None else polygon_area_px2(c.endo_px) for c in lv_contours_per_frame(state)]
    return {"area_px2": areas, "edited": state.edited_values()}


@pytest.fixture
def echo_file(tmp_path) -> Path:
    """A path standing for the recording's file (the sidecar is written beside it)."""
    path = tmp_path / "case.dcm"
    path.write_bytes(b"placeholder for fingerprinting")
    return path


# -- viewer fixtures (pytest-qt) ------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_worker_left(qtbot):
    """Fail the test when a worker thread is still running at its end."""
    yield
    from app.ui.workers import active_workers

    qtbot.waitUntil(lambda: not active_workers(), timeout=10000)


@pytest.fixture
def dialogs_seen(monkeypatch):
    """Record message boxes instead of blocking on them."""
    from PySide6.QtWidgets import QMessageBox

    seen = []
    for name in ("critical", "warning", "information"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda parent, title, text, *a, _n=name, **k:
                                                            seen.append((_n, title, text))))
    return seen


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch, dialogs_seen):
    from PySide6.QtCore import QSettings

    import app.ui.actions as actions
    from app.ui import dialogs

    monkeypatch.setattr(dialogs, "ask_unsaved", lambda parent, detail: "discard")  # never block at teardown
    monkeypatch.setenv("CARDIOTRACE_DATA_DIR", str(tmp_path / "userdata"))
    monkeypatch.setattr(actions, "settings", lambda: QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))

    def make():
        from app.ui.main import create_app
        from app.ui.main_window import MainWindow

        create_app()
        window = MainWindow()
        window.resize(1300, 900)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    return make


@pytest.fixture
def analyzed(make_window, tmp_path, qtbot):
    """A window with one synthetic recording (backed by a file path) and its analysis."""
    src = tmp_path / "case.dcm"
    src.write_bytes(b"stand-in for the recording file")
    rec, labels = synthetic_echo(24, path=src)
    window = make_window()
    index = window.controller.add_recording(rec)
    window.study.set_analysis(index, fake_analysis(labels, ed_frames=(0,), es_frames=(12,), flagged=(5,)))
    qtbot.wait(100)  # let the layout settle: positions below are mapped through the current view range
    return window, labels


def widget_pos(plot, x_view: float, y_view: float) -> QPoint:
    scene = plot.getPlotItem().vb.mapViewToScene(QPointF(x_view, y_view))
    return plot.mapFromScene(scene)


def drag(qtbot, plot, start: QPoint, end: QPoint, steps: int = 8) -> None:
    viewport = plot.viewport()
    qtbot.mousePress(viewport, Qt.LeftButton, pos=start)
    for k in range(1, steps + 1):
        p = start + (end - start) * (k / steps)
        qtbot.mouseMove(viewport, pos=QPoint(int(p.x()), int(p.y())))
        qtbot.wait(15)  # pyqtgraph drops mouse moves faster than its 100 Hz rate limit
    qtbot.mouseRelease(viewport, Qt.LeftButton, pos=end)


def analyzed_window(make_window, qtbot, recording, labels, timeout_ms: int = 30000):
    """A new window with `recording` analyzed, its segmentation being `labels` (no network)."""
    window = make_window()
    window.controller.segmenter_for = lambda r: (lambda rr: labels)
    window.controller.add_recording(recording)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=timeout_ms):
        window.analyze_current()
    qtbot.wait(30)
    return window
