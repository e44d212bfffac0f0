"""The viewer's per-beat table (app/ui/beat_table.py): which beats count in EDV/ESV/EF and why the others do not,
a click on an ED or ES frame shows it, and the main window shows the table for a clip (not for a stack)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")


def _measurements():
    from report_fixtures import synthetic_analysis

    return synthetic_analysis(n_frames=60).measurements  # a complete beat (trusted) and one cut by the clip's end


def test_the_table_lists_every_beat_and_says_why_one_is_not_counted(qtbot):
    from app.ui.beat_table import BeatTable

    m = _measurements()
    table = BeatTable()
    qtbot.addWidget(table)
    table.show_measurements(m)
    assert table.rowCount() == len(m.beats) == 2
    first, cut = m.beats
    assert table.cell_text(0, 1) == str(first.ed_frame) and table.cell_text(0, 2) == str(first.es_frame)
    assert table.cell_text(0, 5) == f"{first.ef_pct:.1f}" and table.cell_text(0, 7) == "yes"
    assert table.cell_text(0, 6) == f"{first.rr_s:.2f}"
    assert table.cell_text(1, 7) == "no: cut by the clip's end (no RR interval)" and table.cell_text(1, 6) == "—"
    assert table.item(1, 3).foreground().color() == Qt.gray and table.item(0, 3).foreground().color() != Qt.gray
    with qtbot.waitSignal(table.frame_clicked) as blocker:
        table.cellClicked.emit(0, 2)
    assert blocker.args == [first.es_frame]
    with qtbot.assertNotEmitted(table.frame_clicked):
        table.cellClicked.emit(0, 5)  # a value, not a frame
    uncalibrated = replace(m, volume_curve_ml=None)
    table.show_measurements(uncalibrated)
    assert table.cell_text(0, 3) == "—" and table.cell_text(0, 5) == f"{first.ef_pct:.1f}"
    table.show_measurements(None)
    assert table.rowCount() == 0


def test_the_window_shows_the_beats_of_an_analyzed_clip_and_a_click_shows_the_frame(make_window, qtbot, tmp_path):
    window = make_window()
    rec, labels = synthetic_echo(40, path=tmp_path / "clip.dcm")
    window.controller.segmenter_for = lambda recording: (lambda r: labels)
    window.controller.add_recording(rec)
    assert window.beats.isHidden()  # nothing analyzed yet
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000):
        window.analyze_current()
    qtbot.wait(20)
    beats = window.study[0].measurements.beats
    assert beats and not window.beats.isHidden() and window.beats.rowCount() == len(beats)
    assert window.beats.horizontalHeaderItem(0).text() == "A4C beat"  # whose beats, beside a biplane result
    window.beats.cellClicked.emit(0, 2)
    assert window.cine.frame == beats[0].es_frame
