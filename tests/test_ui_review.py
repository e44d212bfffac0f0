"""Clinical safety in the viewer (issue 35): the panel shows the selected recording, re-analysis keeps
corrections, one patient per study, ED/ES keys and frame numbers."""

from __future__ import annotations

import pytest

from tests.ui_fixtures import (analysed, dialogs_seen, fake_analysis, make_window, no_worker_left,  # noqa: F401
                               synthetic_echo)

pytest.importorskip("pytestqt")


def _add_analysed(window, rec, labels, ed=(0,), es=(12,)) -> int:
    index = window.controller.add_recording(rec)
    window.study.set_analysis(index, fake_analysis(labels, ed_frames=ed, es_frames=es))
    return index


def test_the_table_shows_the_selected_recording_not_the_biplane_of_others(make_window, qtbot):
    window = make_window()
    a4c, labels = synthetic_echo(24, view="a4c")
    a2c, _ = synthetic_echo(24, view="a2c")
    _add_analysed(window, a4c, labels)
    _add_analysed(window, a2c, labels)
    window.show_recording(0)
    qtbot.wait(20)
    assert "biplane" in window.measurements.title.text()
    biplane_edv = window.measurements.cell_text("edv_ml")
    assert biplane_edv.endswith("ml")
    clip, clip_labels = synthetic_echo(24, view="a4c", calibrated=False)
    index = window.controller.add_recording(clip)  # opens selected, not analysed yet
    qtbot.wait(20)
    assert window.index == index
    assert "biplane" not in window.measurements.title.text()
    assert "not analysed" in window.measurements.title.text()
    for name in ("edv_ml", "esv_ml", "ef_pct", "heart_rate_bpm"):
        assert window.measurements.cell_text(name) == "—", name
    window.study.set_analysis(index, fake_analysis(clip_labels, ed_frames=(0,), es_frames=(12,)))
    qtbot.wait(20)
    assert window.measurements.cell_text("edv_ml") == "—"  # pixel size unknown: no volumes, nothing stale
    assert window.measurements.cell_text("ef_pct").endswith("%")
    assert "biplane" not in window.measurements.title.text()
    window.show_recording(1)
    assert "biplane" in window.measurements.title.text()
    assert window.measurements.cell_text("edv_ml") == biplane_edv
