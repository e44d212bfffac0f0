"""Viewer editing details: add/remove/redraw, short-axis stacks, folders, drag and drop, closing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.data.recording import Recording, uniform_frame_times
from tests.ui_fixtures import analyzed, dialogs_seen, make_window, no_worker_left, widget_pos  # noqa: F401

pytest.importorskip("pytestqt")


def sax_stack(n_slices=4, n_frames=10, size=64):
    """(Recording, labels (S, T, H, W)): rings shrinking in systole and towards the apex."""
    rows, cols = np.mgrid[0:size, 0:size]
    d = np.hypot(rows - size / 2, cols - size / 2)
    labels = np.zeros((n_slices, n_frames, size, size), np.uint8)
    for s in range(n_slices):
        for t in range(n_frames):
            r = 10 - 3 * np.sin(np.pi * t / n_frames) - s
            labels[s, t][d < r + 4] = 2
            labels[s, t][d < r] = 1
    rec = Recording(frames=(labels * 60 + 20).astype(np.uint8), spacing_mm=(1.5, 1.5),
                    frame_times_s=uniform_frame_times(n_frames, 20.0), modality="mri", view="sax",
                    slice_spacing_mm=8.0)
    return rec, labels


def test_double_click_adds_and_ctrl_click_removes_a_point(analyzed, qtbot):
    window, _ = analyzed
    window.cine.set_frame(0)
    st = window.study[0]
    ctrl = st.contour((0, 0), "endo").points_px
    n = len(ctrl)
    mid = (ctrl[4] + ctrl[5]) / 2  # between two control points, on the curve (nearly)
    dense = st.contour((0, 0), "endo").dense()
    on_curve = dense[np.argmin(np.hypot(*(dense - mid).T))]
    pos = widget_pos(window.cine.plot, *window.cine.px_to_view(on_curve[None])[0])
    qtbot.mouseDClick(window.cine.plot.viewport(), Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(window.cine.plot.viewport(), Qt.LeftButton, pos=pos)  # Qt 6 QTest sends no release
    assert len(st.contour((0, 0), "endo").points_px) == n + 1
    new_ctrl = st.contour((0, 0), "endo").points_px
    assert np.hypot(*(new_ctrl[5] - on_curve)) < 2.0  # inserted between points 4 and 5
    qtbot.wait(600)  # not a double click
    p = widget_pos(window.cine.plot, *window.cine.px_to_view(new_ctrl[8:9])[0])
    qtbot.mouseClick(window.cine.plot.viewport(), Qt.LeftButton, Qt.ControlModifier, pos=p)
    assert len(st.contour((0, 0), "endo").points_px) == n
    window.controller.undo_stack.undo()
    window.controller.undo_stack.undo()
    np.testing.assert_allclose(st.contour((0, 0), "endo").points_px, ctrl)


def test_redraw_replaces_the_contour(analyzed):
    window, _ = analyzed
    window.cine.set_frame(2)
    st = window.study[0]
    window.tools.set_mode("redraw")
    assert window.editor.draw.isVisible() and not window.editor.points.isVisible()
    theta = np.linspace(np.pi, 0, 60)  # an arch from left to right, apex up
    path_px = np.column_stack([64 + 20 * np.cos(theta), 100 - 60 * np.sin(theta)])
    window.editor.finish_drawing(window.cine.px_to_view(path_px))
    c = st.contour((0, 2), "endo")
    assert len(c.points_px) == 20 and c.points_px[:, 1].min() == pytest.approx(40, abs=1.5)
    assert (0, 2) in st.edited_keys


def test_short_axis_stack_slices_and_edit(make_window, qtbot):
    rec, labels = sax_stack()
    window = make_window()
    window.controller.segmenter_for = lambda r: (lambda rr: labels)
    window.controller.add_recording(rec)
    assert window.recordings.slice.isVisibleTo(window) and window.recordings.slice.maximum() == 4
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000):
        window.analyze_current()
    qtbot.wait(20)
    st = window.study[0]
    assert st.measurements.method == "slice-summation" and st.strain is None
    assert set(s for s, _ in st.contours) == {0, 1, 2, 3}
    window.recordings.slice.setValue(3)  # slice index 2
    assert window.slice_index == 2
    r_slice2 = np.ptp(window.overlays.items["endo"].getData()[0]) / 2 / 1.5
    window.recordings.slice.setValue(1)
    r_slice0 = np.ptp(window.overlays.items["endo"].getData()[0]) / 2 / 1.5
    assert r_slice0 > r_slice2 + 1.0  # the base is wider than the apex
    edv = st.measurements.edv_ml
    ed = st.ed_frames[0]
    window.cine.set_frame(ed)
    old = st.contour((0, ed), "endo")
    assert old.closed
    centre = old.points_px.mean(axis=0)
    window.editor.edit_requested.emit("endo", old.with_points(centre + 1.3 * (old.points_px - centre)), "grow")
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)  # measured with its propagation
    assert st.measurements.edv_ml > edv + 1.0


def test_open_folder_asks_which_series(make_window, tmp_path, monkeypatch):
    from app.data.writers import write_recording
    from app.ui import dialogs
    from tests.ui_fixtures import synthetic_echo

    folder = tmp_path / "study"
    folder.mkdir()
    for view in ("a4c", "a2c"):
        rec, _ = synthetic_echo(6, view=view)
        write_recording(rec, folder / f"{view}.dcm")
    seen = []

    def choose(parent, series):
        seen.append(series)
        return [s.key for s in series]

    monkeypatch.setattr(dialogs, "choose_series", choose)
    window = make_window()
    window.open_paths([str(folder)])
    assert window.opener.wait_opened()  # the file is read in a worker
    assert len(seen) == 1 and len(seen[0]) == 2
    assert len(window.study) == 2 and window.recordings.list.count() == 2
    assert window.window_actions.recent()[0] == str(folder)


def test_drop_a_file_opens_it(make_window, tmp_path, monkeypatch):
    window = make_window()
    opened = []
    monkeypatch.setattr(window, "open_paths", lambda paths: opened.extend(paths))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "clip.dcm"))])
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert opened == [str(tmp_path / "clip.dcm")]


def test_close_with_unsaved_edits_asks(analyzed, monkeypatch):
    from app.ui import dialogs
    from app.workflow import autosave

    window, _ = analyzed
    window.mark_current("es")  # an edit, pending in the debounce timer

    def failing_save(data, source_path, series=""):
        raise OSError("disk full")

    monkeypatch.setattr(autosave, "save", failing_save)
    answers = ["cancel", "discard"]
    asked = []
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda parent, detail: (asked.append(detail), answers.pop(0))[1])
    assert not window.close()  # cancelled: the window stays open
    assert window.isVisible() and "disk full" in asked[0]
    assert window.close()
    assert len(asked) == 2


def test_uncalibrated_clip_gets_volumes_after_calibration(make_window, monkeypatch, qtbot):
    from app.ui import dialogs
    from tests.ui_fixtures import fake_analysis, synthetic_echo

    rec, labels = synthetic_echo(12, calibrated=False)
    window = make_window()
    window.controller.add_recording(rec)
    window.study.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)))
    qtbot.wait(20)  # the views refresh in the next turn of the event loop
    st = window.study[0]
    assert st.measurements.edv_ml is None and st.measurements.ef_pct > 0  # EF from pixel units
    assert "uncalibrated" in window.measurements.method.text() and "px" in window.cine.plot.getAxis("left").labelText
    monkeypatch.setattr(dialogs, "ask_length_mm", lambda parent, length_px: length_px * 0.5)  # 0.5 mm/px
    window.tools.set_mode("calibrate")
    window.editor.finish_drawing(window.cine.px_to_view(np.array([[10.0, 10.0], [70.0, 90.0]])))
    assert st.recording.calibrated and st.recording.spacing_mm == pytest.approx((0.5, 0.5))
    assert st.measurements.edv_ml > 0 and "mm" in window.cine.plot.getAxis("left").labelText
    assert "calibration" in st.edited_values()


def test_unexpected_exception_becomes_a_message(make_window, monkeypatch, dialogs_seen):
    import sys

    from app.ui.main import install_error_dialog

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    window = make_window()
    install_error_dialog(window)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert dialogs_seen[-1][1] == "Unexpected error" and "boom in a slot" in dialogs_seen[-1][2]


def test_the_wheel_over_the_side_panel_does_not_change_the_drag_radius(make_window, qtbot):
    """Issue 54: scrolling the side panel with the mouse wheel changed the drag radius it passed over."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    window = make_window()
    box = window.tools.drag_radius
    before = box.value()

    def wheel() -> None:
        centre = QPointF(box.rect().center())
        event = QWheelEvent(centre, QPointF(box.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                            Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
        QApplication.sendEvent(box, event)

    wheel()
    assert box.value() == before
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    wheel()
    assert box.value() != before  # clicked into, the field takes the wheel as any spin box does
