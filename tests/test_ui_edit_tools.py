"""The viewer's editing tools with pytest-qt: a smooth mouse drag, propagation from the tools panel, GLS
re-tracked in a worker after an edit and labelled by view, the study's mean GLS."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from tests.ui_fixtures import analyzed, dialogs_seen, drag, make_window, no_worker_left, widget_pos  # noqa: F401

pytest.importorskip("pytestqt")


def _correct_frame_6(window) -> None:
    """Move frame 6's LV border 3 px right, carried 5 frames either way (a propagation then runs)."""
    st = window.study[0]
    window.tools.propagate.setValue(5)
    window.cine.set_frame(6)
    old = st.contour((0, 6), "endo")
    window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [3.0, 0.0]), "move endo point")


def test_an_undo_while_the_propagation_runs_drops_it(analyzed, qtbot):
    window, _ = analyzed
    st = window.study[0]
    before = {f: st.contour((0, f), "endo").points_px.copy() for f in range(24)}
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000) as done:
        _correct_frame_6(window)
        window.window_actions.undo.trigger()
    assert done.args[1] == [] and "not carried" in window.statusBar().currentMessage()
    assert all(np.array_equal(st.contour((0, f), "endo").points_px, before[f]) for f in range(24))
    assert not st.edited_keys and not st.propagated_keys


def test_an_es_mark_set_while_the_propagation_runs_keeps_its_reach(analyzed, qtbot):
    """S pressed within a few seconds of a correction had dropped the correction's reach to the neighbouring
    frames ("the study changed meanwhile"): a mark leaves the contours the motion was computed from as they were."""
    from app.workflow.edits import EdEsEdit

    window, _ = analyzed
    st = window.study[0]
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000) as done:
        _correct_frame_6(window)
        window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, (13,)))
    assert done.args[1] and st.propagated_keys and st.es_frames == (13,)
    window.window_actions.undo.trigger()  # the mark
    window.window_actions.undo.trigger()  # the correction and all it reached, one step
    assert not st.edited_keys and not st.propagated_keys


def test_the_values_say_they_wait_for_a_correction_being_carried_to_its_neighbours(analyzed, qtbot):
    """The correction is measured once carried to its neighbouring frames: for 1-3 s the panel showed the EF of
    before it without a word (a PDF written meanwhile waits, and was right)."""
    from app.ui.measurements_panel import PENDING_TEXT

    window, _ = analyzed
    title = window.measurements.title
    assert PENDING_TEXT not in title.text()
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000):
        _correct_frame_6(window)
        assert title.text().endswith(PENDING_TEXT) and "carried to the neighbouring frames" in title.toolTip()
        shown = window.state.measurements.volume_curve_ml.copy()
    assert PENDING_TEXT not in title.text() and not title.toolTip()
    now = window.state.measurements.volume_curve_ml
    assert now[6] != shown[6] and now[8] != shown[8]  # measured once, with the frames the correction reached


def test_a_long_file_name_in_the_values_title_does_not_widen_the_panel(analyzed, qtbot):
    """The title named the recording in full: a long file name widened the panel by 241 px (329 with
    "(updating…)") and shrank the image by as much; it is elided in its middle, its whole text kept."""
    window, _ = analyzed
    window.resize(1500, 950)
    qtbot.wait(20)
    panel, widths = window.measurements, (window.measurements.width(), window.cine.width())
    scope = "A4C · a-rather-long-clinical-file-name-from-the-archive-of-the-hospital-0001.dcm"
    panel.set_scope(scope)
    panel.set_pending(True)
    qtbot.wait(20)
    assert (panel.width(), window.cine.width()) == widths
    assert panel.title.text().endswith(f"{scope} (updating…)")
    shown = QLabel.text(panel.title)
    assert "…" in shown and shown.endswith("(updating…)") and shown.startswith("Measurements")
    assert panel.title.toolTip().endswith(f"\n{panel.title.text()}")  # why it is updating, then the whole title
    panel.set_pending(False)
    assert panel.title.toolTip() == panel.title.text()
    labels = [panel.table.item(r, 0) for r in range(panel.table.rowCount())]
    assert labels and all(item.toolTip() == item.text() for item in labels)  # a label the column cuts, whole


def test_a_redo_or_undo_that_fails_is_said_and_leaves_the_history(analyzed, qtbot, dialogs_seen):  # noqa: F811
    """An exception inside an edit's redo (called by Qt's undo stack) left the stack counting the step done though
    the study never changed: a later undo reverted what was never applied. The step now leaves the history, the
    study stays as it was, and the error is said."""
    from app.workflow.edits import EdEsEdit

    window, _ = analyzed
    st, stack = window.study[0], window.controller.undo_stack
    marks = (st.ed_frames, st.es_frames)
    window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, (13,)))
    count = stack.count()
    window.window_actions.undo.trigger()
    assert (st.ed_frames, st.es_frames) == marks
    command = stack.command(count - 1).command

    def refused(study):
        raise ValueError("ED/ES frames must lie in 0..23")

    command.apply = refused
    window.window_actions.redo.trigger()
    assert (st.ed_frames, st.es_frames) == marks and not stack.canRedo() and stack.count() == count - 1
    assert any(title == "Redo not done" and "no longer in the undo history" in text for _, title, text in dialogs_seen)


def test_a_mouse_drag_moves_the_neighbours_smoothly_and_is_one_undo_step(analyzed, qtbot):
    window, _ = analyzed
    window.tools.propagate.setValue(0)
    window.tools.drag_radius.setValue(15)
    window.cine.set_frame(0)
    st = window.study[0]
    ctrl = st.contour((0, 0), "endo").points_px.copy()
    i = 6
    outward = 1 if ctrl[i, 0] > ctrl[:, 0].mean() else -1
    x0, y0 = window.cine.px_to_view(ctrl[i:i + 1])[0]
    drag(qtbot, window.cine.plot, widget_pos(window.cine.plot, x0, y0),
         widget_pos(window.cine.plot, x0 + outward * 5.0, y0))  # 5 mm = 10 px outwards
    moved = st.contour((0, 0), "endo").points_px
    shift = np.hypot(*(moved - ctrl).T)
    assert shift[i] == pytest.approx(10.0, abs=1.5)
    assert shift[i] > shift[i + 1] > shift[i + 2] > 0.5 and shift[i] > shift[i - 1] > shift[i - 2] > 0.5
    assert np.all(shift[i + 5:] == 0) and shift[0] == 0  # beyond 15 mm, and the annulus, stay
    assert window.tools.frame_status.text() == "This frame: edited by hand"
    window.window_actions.undo.trigger()
    np.testing.assert_allclose(st.contour((0, 0), "endo").points_px, ctrl)
    assert window.tools.frame_status.text() == ""


def test_propagation_to_the_neighbouring_marks_from_the_tools_panel(analyzed, qtbot):
    window, _ = analyzed
    st = window.study[0]  # ED 0, ES 12 of 24 frames
    window.tools.propagate_to_marks.setChecked(True)
    assert not window.tools.propagate.isEnabled()
    before = {f: st.contour((0, f), "endo").points_px.copy() for f in range(24)}
    window.cine.set_frame(6)
    old = st.contour((0, 6), "endo")
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000) as done:
        window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [3.0, 0.0]), "move endo point")
        assert (0, 6) in st.edited_keys and window.edits.propagation.busy()  # this frame at once, the rest after
    assert done.args[1] == [f for f in range(1, 12) if f != 6]
    changed = {f for f in range(24) if not np.array_equal(st.contour((0, f), "endo").points_px, before[f])}
    assert changed == set(range(1, 12))  # up to, not including, ED 0 and ES 12
    assert st.propagated_keys == {(0, f) for f in changed - {6}}
    window.cine.set_frame(8)
    assert window.tools.frame_status.text() == "This frame: edited (propagated)"
    assert "carried to frames 1–11" in window.statusBar().currentMessage()
    window.window_actions.undo.trigger()  # one step undoes them all
    assert all(np.array_equal(st.contour((0, f), "endo").points_px, before[f]) for f in range(24))
    assert not st.edited_keys and not st.propagated_keys


@pytest.fixture(scope="module")
def phantom_views():
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    def case(view):
        params = EchoPhantomParams(heart=HeartParams(edv_ml=120, esv_ml=50), view=view, beats=1,
                                   frame_rate_hz=25.0, image_shape_px=(128, 128), quality="good")
        return make_echo(params, seed=3)

    return case("a4c"), case("a2c")


def _analyze_all(window, qtbot, cases):
    labels = {id(c.recording): c.truth.labels for c in cases}
    window.controller.segmenter_for = lambda recording: (lambda r: labels[id(recording)])
    for case in cases:
        index = window.controller.add_recording(case.recording)
        window.show_recording(index)
        with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
            window.analyze_current()


def test_gls_is_retracked_in_a_worker_after_an_edit_and_says_its_view(make_window, qtbot, phantom_views):
    window = make_window()
    _analyze_all(window, qtbot, phantom_views)
    a2c, a4c = window.study[1], window.study[0]
    for st, case in zip(
        (a4c, a2c), phantom_views, strict=False
    ):  # tracked on the exact labels: measured -0.99 (A4C), -0.15 (A2C)
        assert st.strain.gls_pct == pytest.approx(float(case.truth.gls_pct.min()), abs=1.5)
    window.show_recording(0)
    table = window.measurements
    assert table.table.item([r[0] for r in table.rows].index("gls_pct"), 0).text() == "GLS A4C"
    mean_row = [r[0] for r in table.rows].index("gls_mean_pct")
    assert table.table.item(mean_row, 0).text() == "GLS (mean of A4C, A2C)"
    assert table.cell_text("gls_mean_pct") == f"{(a4c.strain.gls_pct + a2c.strain.gls_pct) / 2:.1f} %"
    gls0, strain0 = a4c.strain.gls_pct, a4c.strain
    ed = a4c.ed_frames[0]
    window.tools.propagate.setValue(0)
    window.cine.set_frame(ed)
    old = a4c.contour((0, ed), "endo")
    inward = old.with_points(old.points_px + 0.12 * (old.points_px.mean(axis=0) - old.points_px))
    with qtbot.waitSignal(window.edits.retrack.retracked, timeout=30000) as done:
        t0 = time.perf_counter()
        window.editor.edit_requested.emit("endo", inward, "shrink ED")
        edit_s = time.perf_counter() - t0
        assert window.edits.retrack.busy(0) and a4c.strain is strain0  # the worker runs; the GUI goes on
        qtbot.waitUntil(lambda: "re-tracking" in table.method.text(), timeout=500)
    assert done.args == [0, True] and edit_s < 1.0
    assert a4c.strain is not strain0 and abs(a4c.strain.gls_pct - gls0) > 0.3
    assert table.cell_text("gls_pct") == f"{a4c.strain.gls_pct:.1f} %"
    assert "GLS re-tracked on the edited contours" in table.method.text()
    assert table.cell_text("gls_mean_pct") == f"{(a4c.strain.gls_pct + a2c.strain.gls_pct) / 2:.1f} %"
    assert window.curves.strain_source is a4c.strain
    edited_strain = a4c.strain
    with qtbot.waitSignal(window.edits.retrack.retracked, timeout=30000):
        window.window_actions.undo.trigger()
    assert a4c.strain.gls_pct == pytest.approx(gls0, abs=1e-6)  # no edits: the analysis' own labels again
    # Issue 54: the undo takes back the strain of those contours at once (no run), and the overlay with it.
    assert a4c.strain is strain0 and not window.edits.retrack.busy(0)
    qtbot.waitUntil(lambda: window.curves.strain_source is strain0, timeout=1000)
    with qtbot.waitSignal(window.edits.retrack.retracked, timeout=1000):
        window.window_actions.redo.trigger()
    assert a4c.strain is edited_strain and not window.edits.retrack.busy(0)


def test_a_newer_edit_cancels_the_running_retrack(make_window, qtbot, phantom_views):
    window = make_window()
    _analyze_all(window, qtbot, phantom_views[:1])
    st = window.study[0]
    retrack = window.edits.retrack
    retrack.timer.setInterval(0)
    ends = []
    retrack.retracked.connect(lambda i, ok: ends.append(ok))
    ed = st.ed_frames[0]
    window.tools.propagate.setValue(0)
    window.cine.set_frame(ed)
    for _ in (1, 2):
        old = st.contour((0, ed), "endo")
        window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [0.0, 1.0]), "move")
        qtbot.waitUntil(lambda: 0 in retrack.workers, timeout=5000)
    qtbot.waitUntil(lambda: not retrack.busy(0), timeout=30000)
    assert ends[-1] is True and ends.count(True) == 1  # the first run was cancelled or dropped


def test_a_burst_of_corrections_gives_the_event_loop_a_turn_between_result_and_next_push(analyzed, qtbot):
    """Taking a propagation's result and pushing the next queued correction are two remeasurements on the GUI
    thread: the next one starts from the event loop, so a timer (a repaint) runs between them."""
    window, _ = analyzed
    st, runner = window.study[0], window.edits.propagation
    window.tools.propagate.setValue(2)
    events = []
    runner.finished.connect(lambda command, frames: (events.append(("result", command.key[1])),
                                                     QTimer.singleShot(0, lambda: events.append(("tick", None)))))
    window.controller.undo_stack.indexChanged.connect(lambda i: events.append(("push", i)))
    for frame in (4, 10, 16):
        old = st.contour((0, frame), "endo")
        window.cine.set_frame(frame)
        window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [2.0, 0.0]), "move endo point")
    qtbot.waitUntil(lambda: not runner.busy(), timeout=30000)
    results = [i for i, e in enumerate(events) if e[0] == "result"]
    assert len(results) == 3
    for i in results[:-1]:  # after a result, the timer queued then fires before the next correction is pushed
        after = [e[0] for e in events[i + 1:] if e[0] in ("tick", "push")]
        assert after[:2] == ["tick", "push"], events
    assert {(0, f) for f in (4, 10, 16)} <= st.edited_keys and {(0, 3), (0, 11), (0, 17)} <= st.propagated_keys


def test_the_start_up_warm_up_freezes_the_long_lived_heap(make_window, qtbot):
    """Full garbage collections walk only what the session made after start-up (gc.freeze): a full collection
    of the imported modules took 150-400 ms with the GIL held, the one edit stall of over 100 ms."""
    import gc

    from app.workflow import warmup

    window = make_window()
    worker = window.load_device_label()
    try:
        qtbot.waitUntil(worker.isFinished, timeout=120000)
        assert warmup._frozen and gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen > 10000
        # once per process: a second call freezes nothing new (frozen objects may be freed meanwhile, never added)
        assert warmup.freeze_long_lived() <= frozen
        qtbot.waitUntil(lambda: window.status.device_label.text() != "device: …", timeout=5000)
        assert "unavailable" not in window.status.device_label.text()  # the device is named after the warm-up
    finally:  # the other tests of this process collect their windows as before
        gc.unfreeze()
        warmup._frozen = False


def test_the_timeline_marks_frames_edited_by_hand_and_propagated_apart(analyzed, qtbot):
    window, _ = analyzed
    st, timeline = window.study[0], window.curves.timeline
    window.tools.propagate.setValue(2)
    assert timeline.hand_edits.data.size == 0 and timeline.propagated.data.size == 0
    window.cine.set_frame(6)
    old = st.contour((0, 6), "endo")
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000):
        window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [3.0, 0.0]), "move endo point")
    hand = sorted(timeline.hand_edits.data["x"])
    propagated = sorted(timeline.propagated.data["x"])
    assert hand == [6] and propagated == [4, 5, 7, 8]
    assert timeline.hand_edits.opts["brush"].color().alpha() == 255  # filled
    assert timeline.propagated.opts["brush"].color().alpha() == 0  # hollow: a different mark
    window.window_actions.undo.trigger()
    assert timeline.hand_edits.data.size == 0 and timeline.propagated.data.size == 0


def test_a_propagated_correction_is_measured_once_with_the_frames_it_reached(analyzed, qtbot):
    """The edited frame's contour is drawn at once; its remeasurement waits for the propagation (tens of ms), so a
    correction costs one remeasurement on the GUI thread, not two. Without a propagation it is measured at once."""
    window, _ = analyzed
    st = window.study[0]
    measured = []
    window.study.events.measurements_changed.connect(lambda i: measured.append(st.measurements))
    drawn = []
    window.study.events.contours_changed.connect(lambda i, keys: drawn.append(keys))
    window.tools.propagate.setValue(2)
    es = st.es_frames[0]
    window.cine.set_frame(es)
    old = st.contour((0, es), "endo")
    before = st.measurements.esv_ml
    window.editor.edit_requested.emit("endo", old.with_points(old.points_px + 0.1 * (old.points_px.mean(axis=0)
                                                                                      - old.points_px)), "shrink")
    assert drawn == [[(0, es)]] and measured == []  # drawn now, measured with the propagation
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)
    assert len(measured) == 1 and measured[0].esv_ml < before - 0.5
    assert {(0, es + k) for k in (-2, -1, 1, 2)} <= st.propagated_keys
    window.window_actions.undo.trigger()
    assert st.measurements.esv_ml == pytest.approx(before)
    window.window_actions.redo.trigger()  # a redo is measured at once
    assert st.measurements.esv_ml == pytest.approx(measured[0].esv_ml) and len(measured) == 3
    window.tools.propagate.setValue(0)
    measured.clear()
    old = st.contour((0, es), "endo")
    window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [1.0, 0.0]), "move")
    assert len(measured) == 1  # no propagation: measured at once


def test_closing_while_a_correction_is_carried_waits_for_it(analyzed, qtbot):
    """Ctrl+W a second after a drag saved the corrected frame alone: the frames its propagation had not reached
    yet were lost without a word. Closing now waits (one line in the status bar) and keeps every frame."""
    window, _ = analyzed
    st = window.study[0]
    with qtbot.waitSignal(window.edits.propagation.finished, timeout=20000) as done:
        _correct_frame_6(window)
        assert window.edits.propagation.busy()
        assert not window.study_actions.close_recording(0) and not window.study_actions.close_study()
        assert len(window.study) == 1 and "carried to the neighbouring frames" in window.statusBar().currentMessage()
    reached = done.args[1]
    assert reached and {(0, f) for f in reached} <= st.propagated_keys
    assert window.study_actions.close_recording(0) and len(window.study) == 0


def test_closing_a_recording_whose_strain_is_being_retracked_touches_no_other(make_window, qtbot, phantom_views,
                                                                           dialogs_seen):
    """The re-track's timer fired for a closed recording's index: an 'IndexError' dialog, or the next recording's
    strain re-tracked as if edited. Closing stops that recording's runs; the other's go on at its new index."""
    window = make_window()
    _analyze_all(window, qtbot, phantom_views)
    qtbot.waitUntil(lambda: not window.controller.workers, timeout=30000)  # the analyses' threads have ended
    retrack = window.edits.retrack
    a2c = window.study[1]
    strain_a2c = a2c.strain
    window.tools.propagate.setValue(0)
    window.show_recording(0)
    ed = window.study[0].ed_frames[0]
    window.cine.set_frame(ed)
    old = window.study[0].contour((0, ed), "endo")
    window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [0.0, 1.0]), "move")
    assert retrack.busy(0) and not retrack.busy(1)
    assert window.study_actions.close_recording(0)
    assert window.study[0] is a2c and not retrack.busy(0)
    qtbot.wait(2 * retrack.timer.interval() + 200)
    qtbot.waitUntil(lambda: not retrack.workers, timeout=30000)
    assert a2c.strain is strain_a2c and not dialogs_seen


def test_the_status_bar_gives_the_gls_as_reported_not_a_withheld_one(make_window, qtbot, phantom_views):
    """A re-track whose tracking failed in every segment has its GLS withheld (the table says '—' and why); the
    status bar said 'Strain re-tracked: GLS A4C -16.5 %' all the same."""
    from dataclasses import replace

    window = make_window()
    _analyze_all(window, qtbot, phantom_views[:1])
    retrack, st = window.edits.retrack, window.study[0]
    failed = replace(st.strain, segment_ok=(False,) * len(st.strain.segment_names))
    retrack._succeeded(0, retrack._generation.get(0, 0), failed, True)
    assert st.strain.gls_pct is None and st.strain.withheld
    assert window.statusBar().currentMessage() == "Strain re-tracked: GLS A4C not reported (see the notes)"
    retrack._succeeded(0, retrack._generation.get(0, 0), replace(failed, segment_ok=(True,) * len(failed.segment_ok)),
                       True)
    assert window.statusBar().currentMessage() == f"Strain re-tracked: GLS A4C {st.strain.gls_pct:.1f} %"


def test_closing_the_window_while_a_correction_is_carried_keeps_its_frames(analyzed, qtbot):
    """The window's close used to cancel the propagation still running: the corrected frame alone was saved."""
    window, _ = analyzed
    st = window.study[0]
    window.tools.propagate.setValue(5)
    window.cine.set_frame(6)
    old = st.contour((0, 6), "endo")
    window.editor.edit_requested.emit("endo", old.with_points(old.points_px + [3.0, 0.0]), "move endo point")
    assert window.edits.propagation.busy()
    window.close()
    assert not window.edits.propagation.busy() and (0, 6) in st.edited_keys
    assert {(0, f) for f in (4, 5, 7, 8)} <= st.propagated_keys
