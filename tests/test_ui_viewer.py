"""The viewer with pytest-qt (offscreen): overlays, curves, mouse edits with undo, markers, autosave."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.ui_fixtures import (  # noqa: F401
    analyzed,
    dialogs_seen,
    drag,
    fake_analysis,
    make_window,
    no_worker_left,
    synthetic_echo,
    widget_pos,
)

pytest.importorskip("pytestqt")


def test_overlays_curves_and_flags_exist(analyzed):
    window, _ = analyzed
    window.cine.set_frame(0)
    endo = window.overlays.items["endo"].getData()
    assert endo[0] is not None and len(endo[0]) > 50
    assert len(window.overlays.items["la"].getData()[0]) > 10
    assert len(window.overlays.disks.getData()[0]) >= 30  # disks shown on the ED frame
    window.cine.set_frame(3)
    assert window.overlays.disks.getData()[0] is None or len(window.overlays.disks.getData()[0]) == 0
    x, y = window.curves.volume_curve.getData()
    assert len(x) == 24 and y[0] > y[12]
    assert list(window.curves.timeline.flags.data["x"]) == [5]
    assert window.measurements.cell_text("ef_pct").endswith("%")
    window.overlays.set_visible("endo", False)
    assert not window.overlays.items["endo"].isVisible()


def test_a_played_frame_sets_each_overlay_once_and_empties_only_what_it_no_longer_shows(analyzed, monkeypatch):
    window, _ = analyzed
    layer = window.overlays
    window.cine.set_frame(0)  # an ED frame: contours, long axis and disks
    calls: list[object] = []
    original = type(layer.disks).setData

    def counted(item, *args, **kwargs):
        calls.append(item)
        return original(item, *args, **kwargs)

    monkeypatch.setattr(type(layer.disks), "setData", counted)
    window.cine.set_frame(3)  # no disks: the long axis and disks emptied, the contours drawn once each
    assert len(calls) == len(set(map(id, calls)))  # no item set twice for one frame (each setData re-measures it)
    assert layer.disks in calls and layer.items["axis"] in calls and layer.items["endo"] in calls
    assert layer.atrium not in calls and layer.items["rv"] not in calls  # empty before and after: left alone
    assert layer.disks.getData()[0] is None or len(layer.disks.getData()[0]) == 0
    assert len(layer.items["endo"].getData()[0]) > 50


def test_while_playing_the_curve_cursors_move_at_most_every_interval_and_end_on_the_frame_shown(qtbot):
    from app.ui.curves_panel import PLAYING_CURSOR_INTERVAL_S, CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.timeline.set_frame_count(100)
    moves: list[float] = []
    panel.strain_cursor.sigPositionChanged.connect(lambda line: moves.append(line.value()))
    panel.set_frame(5)  # stepped: at once
    assert panel.timeline.cursor.value() == 5 and moves == [5]
    for frame in range(6, 16):  # played faster than the interval: the cursors wait
        panel.set_frame(frame, playing=True)
    assert len(moves) <= 2 and panel.timeline.cursor.value() < 15
    qtbot.waitUntil(lambda: panel.strain_cursor.value() == 15, timeout=int(20 * PLAYING_CURSOR_INTERVAL_S * 1000))
    assert panel.timeline.cursor.value() == 15 and len(moves) <= 3  # the latest frame, in one more move
    panel.set_frame(40)  # paused and stepped: at once again
    assert panel.timeline.cursor.value() == 40 and panel.strain_cursor.value() == 40


def test_the_strain_plot_shows_each_new_strain_on_the_same_curves(qtbot):
    """A new strain result (each re-tracking after an edit) replaces the curves' data; no curve is made again."""
    from types import SimpleNamespace

    from app.ui.curves_panel import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    t = np.arange(20, dtype=float)
    first = SimpleNamespace(strain_curve_pct=-t, segmental_strain_pct=np.stack([-t * k for k in range(6)], 1))
    panel.show_strain(first)
    items = list(panel.strain_plot.getPlotItem().listDataItems())
    assert len(items) == 7 and not panel.strain_plot.isHidden()
    second = SimpleNamespace(strain_curve_pct=-2 * t, segmental_strain_pct=np.stack([t * k for k in range(4)], 1))
    panel.show_strain(second)
    assert list(panel.strain_plot.getPlotItem().listDataItems()) == items
    np.testing.assert_array_equal(panel.gls_curve.getData()[1], -2 * t)
    np.testing.assert_array_equal(panel.segment_curves[3].getData()[1], 3 * t)
    assert [c.isVisible() for c in panel.segment_curves] == [True] * 4 + [False] * 2
    panel.show_strain(None)
    assert panel.strain_plot.isHidden()


def test_a_recording_without_a_curve_says_so_in_the_plot_and_a_curve_takes_the_range_back(qtbot):
    """Not analyzed (or refused): no 0-1 axis of values that read as a curve of zeros, but a line saying why it
    is empty; a measured curve then shows its values and sets the range again."""
    from types import SimpleNamespace

    from app.ui.curves_panel import CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.show_measurements(40, None, (), (), ())
    axis = panel.volume_plot.getAxis("left")
    assert panel.empty_text.isVisible() and panel.empty_text.toPlainText() == "no LV curve: not analyzed"
    assert not axis.style["showValues"]
    curve = 100.0 + 40.0 * np.cos(np.arange(40) / 40 * 2 * np.pi)
    measured = SimpleNamespace(lv_curve=lambda: (curve, "ml"), rv_volume_curve_ml=None)
    panel.show_measurements(40, measured, (0,), (20,), ())
    assert not panel.empty_text.isVisible() and axis.style["showValues"]
    view_box = panel.volume_plot.getPlotItem().vb
    qtbot.waitUntil(lambda: view_box.viewRange()[1][1] > 1.0, timeout=3000)  # auto-range runs on the next update
    low, high = view_box.viewRange()[1]
    assert low <= 60.0 + 1 and high >= 140.0 - 1  # the curve's own range, not 0-1


def test_a_segment_tracked_poorly_is_dashed_and_does_not_set_the_strain_range(qtbot):
    """Clinical clip 0X73A06B41: a segment whose tracking failed ran to +400 % and squeezed the GLS flat. It is dashed
    and left out of the y range; a withheld GLS says so in the title; with every segment tracked the range is auto."""
    from types import SimpleNamespace

    from PySide6.QtCore import Qt

    from app.ui.curves_panel import STRAIN_TITLE, CurvesPanel

    panel = CurvesPanel()
    qtbot.addWidget(panel)
    t = np.linspace(0.0, np.pi, 20)
    seg = np.stack([-18 * np.sin(t)] * 6, 1)
    seg[:, 2] = 400 * np.sin(t)  # runaway tracking
    poor = SimpleNamespace(strain_curve_pct=seg.mean(1), segmental_strain_pct=seg, segment_ok=(True, True, False,
                                                                                               True, True, True),
                           withheld="")
    panel.show_strain(poor)
    assert panel.segment_curves[2].opts["pen"].style() == Qt.PenStyle.DashLine
    assert panel.segment_curves[0].opts["pen"].style() == Qt.PenStyle.SolidLine
    low, high = panel.strain_plot.getPlotItem().vb.viewRange()[1]
    assert high < 100 and low < -18 < high  # the reliable curves set the range
    assert "dashed = tracked poorly" in panel.strain_plot.getPlotItem().titleLabel.text
    withheld = SimpleNamespace(**{**vars(poor), "withheld": "GLS not reported: strain tracking poor in every segment",
                                  "segment_ok": (False,) * 6})
    panel.show_strain(withheld)
    assert all(c.opts["pen"].style() == Qt.PenStyle.DashLine for c in panel.segment_curves)
    assert panel.strain_plot.getPlotItem().titleLabel.text.startswith("strain: GLS not reported")
    assert panel.strain_plot.getPlotItem().vb.viewRange()[1][1] < 100  # the GLS alone sets it
    fine = SimpleNamespace(strain_curve_pct=-seg[:, 0], segmental_strain_pct=-np.abs(seg), segment_ok=(True,) * 6)
    panel.show_strain(fine)
    assert panel.strain_plot.getPlotItem().titleLabel.text == STRAIN_TITLE
    assert panel.strain_plot.getPlotItem().vb.autoRangeEnabled()[1]
    assert all(c.opts["pen"].style() == Qt.PenStyle.SolidLine for c in panel.segment_curves)


def test_curve_click_and_cursor_move_the_frame(analyzed, qtbot):
    window, _ = analyzed
    plot = window.curves.volume_plot
    y_mid = float(np.mean(window.curves.volume_curve.getData()[1]))
    qtbot.mouseClick(plot.viewport(), Qt.LeftButton, pos=widget_pos(plot, 7, y_mid))
    assert window.cine.frame == 7
    window.cine.step(1)
    assert window.curves.timeline.cursor.value() == 8


def test_drag_control_point_changes_ef_and_undo_restores(analyzed, qtbot):
    window, _ = analyzed
    window.tools.propagate.setValue(0)
    window.cine.set_frame(0)  # ED
    st = window.study[0]
    ef0, edv0 = st.measurements.ef_pct, st.measurements.edv_ml
    ctrl = st.contour((0, 0), "endo").points_px
    i = len(ctrl) // 4  # mid wall, between the annulus and the apex
    outward = 1 if ctrl[i, 0] > ctrl[:, 0].mean() else -1
    x0, y0 = window.cine.px_to_view(ctrl[i:i + 1])[0]
    start = widget_pos(window.cine.plot, x0, y0)
    end = widget_pos(window.cine.plot, x0 + outward * 6.0, y0)  # 6 mm outwards
    drag(qtbot, window.cine.plot, start, end)
    moved = st.contour((0, 0), "endo").points_px
    assert moved[i, 0] == pytest.approx(ctrl[i, 0] + outward * 12.0, abs=1.5)  # 6 mm at 0.5 mm/px
    assert st.measurements.edv_ml > edv0 + 0.5
    assert st.measurements.ef_pct > ef0 + 1.0
    assert "ef_pct" in st.measurements.edited and "edited" in window.measurements.cell_text("ef_pct", 3)
    window.window_actions.undo.trigger()
    np.testing.assert_allclose(st.contour((0, 0), "endo").points_px, ctrl)
    assert st.measurements.ef_pct == pytest.approx(ef0)
    assert "edited" not in window.measurements.cell_text("ef_pct", 3)
    window.window_actions.redo.trigger()
    assert st.measurements.ef_pct > ef0 + 1.0


def test_move_ed_marker_and_mark_es_key(analyzed, qtbot):
    window, _ = analyzed
    st = window.study[0]
    marker = window.curves.timeline.marker("ed", 0)
    assert marker.label.anchors == [(0.0, 0), (0.0, 0)]  # on the first frame: label inside the plot, below its point
    marker.setValue(2.2)
    marker.sigPositionChangeFinished.emit(marker)
    assert st.ed_frames == (2,) and st.edes_edited
    assert "ed_frames" in st.measurements.edited
    assert "ED/ES: set by hand" in window.measurements.method.text()
    window.cine.set_frame(13)
    qtbot.keyClick(window, Qt.Key_S)
    assert st.es_frames == (13,)  # the beat's ES moved, no second ES
    window.controller.undo_stack.undo()
    window.controller.undo_stack.undo()
    assert st.ed_frames == (0,) and st.es_frames == (12,) and not st.edes_edited
    assert "set by hand" not in window.measurements.method.text()


def test_ctrl_y_and_ctrl_shift_z_redo_where_the_platform_binds_one_of_them_already(analyzed, qtbot):
    """Ctrl+Y had been bound twice to Redo (the platform's Redo key and again by hand): Qt calls such a key
    ambiguous and does nothing."""
    window, _ = analyzed
    st = window.study[0]
    keys = [k.toString() for k in window.window_actions.redo.shortcuts()]
    assert len(keys) == len(set(keys)) and {"Ctrl+Y", "Ctrl+Shift+Z"} <= set(keys)
    window.activateWindow()
    for combo in ((Qt.Key_Y, Qt.ControlModifier), (Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)):
        window.cine.set_frame(13)
        qtbot.keyClick(window, Qt.Key_S)
        marked = st.es_frames
        window.controller.undo_stack.undo()
        assert st.es_frames != marked
        qtbot.keyClick(window, combo[0], combo[1])
        assert st.es_frames == marked
        window.controller.undo_stack.undo()


def test_reanalysing_to_replace_the_corrections_keeps_a_mark_set_while_it_ran(analyzed, qtbot):
    import threading

    window, labels = analyzed
    st = window.study[0]
    old = st.contour((0, 4), "endo")
    window.cine.set_frame(4)
    window.editor.contour = old
    window.editor.commit_move(3, *window.cine.px_to_view(old.points_px[3:4] + [5.0, 0.0])[0])  # to be replaced
    started = threading.Event()

    def slow(recording):
        started.set()
        threading.Event().wait(1.0)
        return labels

    window.controller.segmenter_for = lambda recording: slow
    with qtbot.waitSignal(window.controller.analysis_done, timeout=60000):
        window.controller.analyze(0, keep_edits=False)  # "Replace them"
        qtbot.waitUntil(started.is_set, timeout=10000)
        window.cine.set_frame(13)
        qtbot.keyClick(window, Qt.Key_S)  # while it runs
    assert st.es_frames == (13,) and st.es_edited
    assert (0, 4) not in st.edited_keys  # the correction made before the run is replaced, as asked


def test_an_undo_of_another_recordings_edit_shows_that_recording(make_window, qtbot, tmp_path):
    from app.workflow.edits import EdEsEdit

    window = make_window()
    for name in ("a4c", "a2c"):
        rec, labels = synthetic_echo(24, path=tmp_path / f"{name}.dcm", view=name)
        index = window.controller.add_recording(rec)
        window.study.set_analysis(index, fake_analysis(labels, ed_frames=(0,), es_frames=(12,)))
    window.show_recording(1)
    window.edits.push(lambda i: EdEsEdit(i, (0,), (13,)))
    window.show_recording(0)
    window.window_actions.undo.trigger()
    assert window.study[1].es_frames == (12,) and window.index == 1  # the change is on screen
    assert window.statusBar().currentMessage() == f"Undid {window.controller.undo_stack.text(0)} on " \
                                                  f"{window.study[1].name}"
    window.statusBar().showMessage("Strain re-tracked: GLS A2C -19.6 %")  # a word about the state undone
    window.window_actions.redo.trigger()
    assert window.statusBar().currentMessage() == f"Redid {window.controller.undo_stack.text(0)}"  # replaces it


def test_a_marker_dragged_past_its_beat_stops_at_its_edge_and_says_so(analyzed, qtbot):
    window, _ = analyzed
    st = window.study[0]  # ED 0, ES 12
    marker = window.curves.timeline.marker("es", 12)
    marker.setValue(0.0)  # onto the ED
    marker.sigPositionChangeFinished.emit(marker)
    assert st.es_frames == (1,) and st.ed_frames == (0,)
    assert window.statusBar().currentMessage().startswith("ES kept within its beat: frame 1, not 0")


def test_a_notice_is_not_replaced_by_the_routine_messages_that_follow_it(make_window, qtbot):
    """A marker stopped at its beat's edge said so for 0.6 s: "Re-tracking the strain…" replaced it."""
    window = make_window()
    window.notice("ES kept within its beat: frame 43, not 44", ms=400)
    window.controller.message.emit("Re-tracking the strain of a4c.dcm on the edited contours…")
    window.controller.message.emit("Autosaved a4c.dcm")
    assert window.statusBar().currentMessage() == "ES kept within its beat: frame 43, not 44"
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Autosaved a4c.dcm", timeout=3000)  # the latest


def test_measurements_name_where_ed_es_come_from():
    from app.ui.measurements_panel import edes_source_text

    assert edes_source_text("tempreg") == "ED/ES: TempReg-Net"
    fallback = edes_source_text("area_curve", "ED/ES model not installed")
    assert fallback == "ED/ES: LV curve extrema (ED/ES model not installed)"
    assert edes_source_text("tempreg", edited=True) == "ED/ES: set by hand"


def test_edits_survive_kill_and_reopen(analyzed, make_window, qtbot, tmp_path):
    window, _ = analyzed
    st = window.study[0]
    old = st.contour((0, 4), "endo")
    window.cine.set_frame(4)
    window.editor.contour = old
    window.editor.commit_move(3, *window.cine.px_to_view(old.points_px[3:4] + [5.0, 0.0])[0])
    window.mark_current("es")
    saved = tmp_path / "userdata" / f"{window.study.save_key(0)}.cardiotrace.json"
    qtbot.waitUntil(saved.exists, timeout=5000)  # debounced autosave, no explicit save
    assert not list(tmp_path.glob("*.cardiotrace.json"))  # nothing beside the source
    ef_saved = st.measurements.ef_pct
    window.hide()  # "killed": never closed, nothing flushed at exit
    reopened = make_window()
    rec, _ = synthetic_echo(24, path=tmp_path / "case.dcm")
    index = reopened.controller.add_recording(rec)
    r = reopened.study[index]
    np.testing.assert_allclose(r.contour((0, 4), "endo").points_px[3], old.points_px[3] + [5.0, 0.0], atol=1e-3)
    assert r.es_frames == (4,) and r.edes_edited
    assert r.measurements.ef_pct == pytest.approx(ef_saved, abs=1e-4)  # points saved to 1e-6 px


def test_the_autosave_writes_in_its_thread_and_what_it_could_not_write_stays_unsaved(analyzed, qtbot, tmp_path):
    """The debounced autosave's write runs in the autosave thread (the GUI never waits for the disk); a write that
    fails is said and leaves the recording unsaved, and the next explicit save writes it."""
    import threading

    from app.workflow.autosave_thread import BackgroundSaver

    window, _ = analyzed
    c, st = window.controller, window.study[0]
    threads, messages = [], []

    def full_disk(document, key):
        threads.append(threading.current_thread().name)
        raise OSError("No space left on device")

    c.background = BackgroundSaver(full_disk)
    c.message.connect(messages.append)
    old = st.contour((0, 4), "endo")
    window.cine.set_frame(4)
    window.editor.contour = old
    window.editor.commit_move(3, *window.cine.px_to_view(old.points_px[3:4] + [5.0, 0.0])[0])
    qtbot.waitUntil(lambda: "Autosave failed: No space left on device" in messages, timeout=5000)
    assert threads == ["cardiotrace-autosave"]
    assert c.scheduler.pending  # unsaved again
    saved = tmp_path / "userdata" / f"{window.study.save_key(0)}.cardiotrace.json"
    assert not saved.exists()
    c.save_now()  # an explicit save (closing, a report, Save now) writes it
    assert saved.exists() and not c.scheduler.pending
    # a failure the explicit save meets before its report reaches the window: taken there, written there, said once
    saved.unlink()
    c.scheduler.mark(0)
    c.autosave()
    messages.clear()
    c.save_now()
    assert threads == ["cardiotrace-autosave"] * 2 and saved.exists() and not c.scheduler.pending
    qtbot.wait(50)  # the thread's report arrives now: nothing left to say or to mark
    assert not any("failed" in m for m in messages) and not c.scheduler.pending


def test_corrupt_legacy_sidecar_shows_an_error(make_window, tmp_path, dialogs_seen):
    src = tmp_path / "bad.dcm"
    src.write_bytes(b"x")
    (tmp_path / "bad.dcm.cardiotrace.json").write_text('{"format": "cardiotrace-study", "contours": [{"sl')
    window = make_window()
    rec, _ = synthetic_echo(8, path=src)
    index = window.controller.add_recording(rec)
    assert index == 0 and window.study[0].contours == {}
    assert dialogs_seen and dialogs_seen[-1][0] == "critical" and "unreadable" in dialogs_seen[-1][1]


def test_playback_advances_at_the_frame_rate(analyzed, qtbot):
    window, _ = analyzed
    cine = window.cine

    def played(speed_index: int) -> int:
        cine.speed.setCurrentIndex(speed_index)
        cine.set_frame(0)
        cine.set_playing(True)
        qtbot.wait(400)  # 1x at 30 fps: about 12 frames; 0.25x: about 3
        cine.set_playing(False)
        return cine.frame

    normal, quarter = played(2), played(0)
    assert 4 <= normal <= 16 and quarter <= 6 and normal > quarter


def test_loop_one_beat_stays_in_the_beat(analyzed, qtbot):
    window, _ = analyzed
    from app.workflow.edits import EdEsEdit

    window.controller.push(EdEsEdit(0, (4, 14), (9,)))
    window.cine.set_frame(6)
    assert window.cine._loop == (4, 13)
    window.cine.loop_beat.setChecked(True)
    window.cine.speed.setCurrentIndex(4)  # 2x
    seen = set()
    window.cine.frame_changed.connect(seen.add)
    window.cine.set_playing(True)
    qtbot.wait(500)  # 2x at 30 fps: ~30 frames, longer than the 10-frame beat
    window.cine.set_playing(False)
    assert seen and seen <= set(range(4, 14)) and 4 in seen


def test_calibration_line_sets_spacing(analyzed, monkeypatch):
    from app.ui import dialogs

    window, _ = analyzed
    monkeypatch.setattr(dialogs, "ask_length_mm", lambda parent, length_px: 40.0)
    window.editor.set_mode("calibrate")
    window.editor.finish_drawing(window.cine.px_to_view(np.array([[10.0, 10.0], [10.0, 110.0]])))
    assert window.study[0].recording.spacing_mm == pytest.approx((0.4, 0.4))
    assert window.editor.mode == "edit"
    window.controller.undo_stack.undo()
    assert window.study[0].recording.spacing_mm == pytest.approx((0.5, 0.5))


def test_workers_still_running_when_the_loop_ends_are_joined(qtbot):
    """A worker started just as the window closes (the device probe's timer) is cancelled and joined
    instead of being destroyed while running (Qt aborts the process then)."""
    import threading

    from app.ui.main import join_workers
    from app.ui.workers import GeneratorWorker, active_workers

    started = threading.Event()

    def job(cancel):
        started.set()
        while not cancel.is_set():
            cancel.wait(0.01)
        yield "stopped"

    worker = GeneratorWorker(job, "slow probe")
    worker.start()
    assert started.wait(5)
    join_workers(timeout_ms=5000)
    assert worker not in active_workers() and worker.isFinished()


def test_app_starts_and_exits_cleanly_on_the_demo(tmp_path):
    """`python -m app DEMO` with CARDIOTRACE_EXIT_AFTER_SHOW=1 (the installer's start-up check)."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "resources" / "demo" / "a4c.dcm"
    shutil.copy(demo, tmp_path / "a4c.dcm")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CARDIOTRACE_EXIT_AFTER_SHOW": "1",
           "CARDIOTRACE_DATA_DIR": str(tmp_path / "userdata")}
    proc = subprocess.run([sys.executable, "-m", "app", str(tmp_path / "a4c.dcm")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "QThread: Destroyed" not in proc.stderr


def test_the_measurement_notes_say_why_a_value_is_missing(qtbot):
    """The LV found in 2 of 20 phases: EF is blank, and the panel says why (Measurements.notes)."""
    from app.ui.measurements_panel import MeasurementsPanel
    from app.workflow.analyze import measure
    from tests.test_pipeline_synthetic import sparse_ring_stack

    rec, _, per_slice = sparse_ring_stack()
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(measure(rec, per_slice), modality="mri")
    assert panel.cell_text("ef_pct") == "—"
    assert "the LV was found in only 2 of 20 frames" in panel.method.text()


def test_legacy_sidecar_is_restored_and_copied_to_the_data_folder(analyzed, make_window, tmp_path):
    """Work saved beside the source by an earlier version is read, then kept in the user data folder."""
    from app.workflow import autosave

    window, _ = analyzed
    st = window.study[0]
    old = st.contour((0, 4), "endo")
    window.editor.contour = old
    window.cine.set_frame(4)
    window.editor.commit_move(3, *window.cine.px_to_view(old.points_px[3:4] + [5.0, 0.0])[0])
    legacy = tmp_path / "case.dcm.cardiotrace.json"
    autosave.write_atomic(legacy, window.study.to_json(0))
    window.controller.scheduler = autosave.AutosaveScheduler()  # "killed" before its own autosave
    window.hide()
    reopened = make_window()
    rec, _ = synthetic_echo(24, path=tmp_path / "case.dcm")
    reopened.controller.add_recording(rec)
    assert (0, 4) in reopened.study[0].edited_keys
    keyed = autosave.saved_path(reopened.study.save_key(0))
    assert keyed.is_file() and (0, 4) in {tuple(k) for k in autosave.read(keyed)["edited"]["contour_keys"]}


def test_the_curve_title_says_area_where_the_curve_is_an_area():
    """An uncalibrated echo clip and a PSAX clip plot the cavity area, so their title says so, not 'LV volume'."""
    from app.data.recording import Recording, uniform_frame_times
    from app.ui.curves_panel import curve_title

    def clip(view, calibrated):
        return Recording(np.zeros((3, 8, 8), np.uint8), (0.3, 0.3), uniform_frame_times(3, 30.0), "echo", view,
                         calibrated=calibrated)

    assert curve_title(clip("a4c", True), 0) == "A4C: LV volume"
    assert curve_title(clip("a4c", False), 0) == "A4C: LV cavity area (uncalibrated)"
    assert curve_title(clip("psax", True), 0) == "PSAX: LV cavity area"
    assert curve_title(clip("plax", True), 0) == "PLAX: LV cavity area"  # a clip set to PLAX: no volume


@pytest.mark.parametrize("modality, view", [("echo", "psax"), ("mri", "sax")])
def test_one_short_axis_slice_shows_its_area_change_and_no_gls(qtbot, modality, view):
    """One short-axis slice's one value, its fractional area change, is a row of the table as it is of the report
    and the JSON (the panel had only its dashed EDV/ESV/EF, the FAC in the notes); a PSAX clip has no GLS row (it
    read "GLS PSAX —" against "<= -18 %"), while an apical or unset view keeps its row."""
    from app.data.recording import Recording, uniform_frame_times
    from app.report.build import measurement_rows
    from app.tasks import run_task
    from app.ui.measurements_panel import MeasurementsPanel
    from app.workflow.analyze import analyze_recording
    from tests.test_pipeline_synthetic import _ring_stack

    labels, _ = _ring_stack(1, 20)
    rec = Recording((labels[0] * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(20, 25.0), modality, view)
    m = run_task(analyze_recording(rec, segmenter=lambda r: labels[0])).measurements
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(m, modality=modality, view=view)
    names = [r[0] for r in panel.rows]
    assert m.fac_pct is not None and panel.cell_text("fac_pct") == f"{m.fac_pct:.1f} %"
    assert names.index("fac_pct") == names.index("ef_pct") + 1 and panel.cell_text("ef_pct") == "—"
    assert "gls_pct" not in names
    assert "gls_pct" not in [r.key for r in measurement_rows(m, modality, None)]
    from app.ui.beat_table import BeatTable

    table = BeatTable()
    qtbot.addWidget(table)
    table.show_measurements(m, view)  # each beat's area change, where an EF column read "—"
    assert table.horizontalHeaderItem(5).text() == "FAC %"
    assert table.cell_text(0, 5) == f"{m.to_json_dict()['beats'][0]['fac_pct']:.1f}"
    for shown in ("a4c", "unknown"):
        panel.show_measurements(None, modality="echo", view=shown)
        assert "gls_pct" in [r[0] for r in panel.rows] and "fac_pct" not in [r[0] for r in panel.rows]
