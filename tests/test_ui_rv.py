"""The viewer on a short-axis MRI stack with a right ventricle: RV overlay and toggle, RV rows, RV editing,
height and weight fields giving indexed values."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_rv_indexed import rv_cine
from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left  # noqa: F401

pytest.importorskip("pytestqt")


@pytest.fixture
def rv_window(make_window, qtbot):
    rec, labels = rv_cine()
    window = make_window()
    window.controller.segmenter_for = lambda r: (lambda rr: labels)
    window.controller.add_recording(rec)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000):
        window.analyse_current()
    qtbot.wait(20)
    return window


def test_rv_overlay_toggle_rows_and_edit(rv_window, qtbot):
    window = rv_window
    st = window.study[0]
    ed = st.ed_frames[0]
    window.recordings.slice.setValue(2)  # slice index 1
    window.cine.set_frame(ed)
    qtbot.wait(20)
    xs, _ = window.overlays.items["rv"].getData()
    assert xs is not None and len(xs) > 10  # the RV border is drawn in its own layer
    window.tools.overlay_boxes["rv"].setChecked(False)
    assert not window.overlays.items["rv"].isVisible() and window.overlays.items["endo"].isVisible()
    window.tools.overlay_boxes["rv"].setChecked(True)
    rv_edv = st.measurements.rv_edv_ml
    assert window.measurements.cell_text("rv_edv_ml") == f"{rv_edv:.0f} ml"
    assert window.measurements.cell_text("rv_ef_pct", 2) == "52-80 %"  # CMR range, sex unknown
    window.tools.kind.setCurrentIndex(list(window.tools.kind.itemData(i) for i in range(window.tools.kind.count()))
                                      .index("rv"))
    assert window.editor.kind == "rv" and window.editor.contour is st.contour((1, ed), "rv")
    old = st.contour((1, ed), "rv")
    centre = old.points_px.mean(axis=0)
    window.editor.edit_requested.emit("rv", old.with_points(centre + 1.25 * (old.points_px - centre)), "grow RV")
    qtbot.wait(20)
    assert st.measurements.rv_edv_ml > rv_edv + 0.5
    assert "edited" in window.measurements.cell_text("rv_edv_ml", 3)
    window.controller.undo_stack.undo()
    assert st.measurements.rv_edv_ml == pytest.approx(rv_edv)


def test_height_and_weight_fields_add_indexed_rows(rv_window, qtbot):
    window = rv_window
    st = window.study[0]
    assert "edv_index_ml_m2" not in [r[0] for r in window.measurements.rows]
    window.tools.height.setValue(180)
    window.tools.weight.setValue(80)
    window.tools._body_size_edited()  # what editingFinished does
    qtbot.wait(20)
    assert st.recording.patient.height_cm == 180 and st.recording.patient.weight_kg == 80
    assert window.measurements.cell_text("bsa_m2") == "2.00 m²"
    assert window.measurements.cell_text("rv_edv_index_ml_m2") == f"{st.measurements.rv_edv_ml / 2.0:.0f} ml/m²"
    window.controller.undo_stack.undo()
    qtbot.wait(20)
    assert st.recording.patient.height_cm is None and window.tools.height.text() == "unknown"
    assert "bsa_m2" not in [r[0] for r in window.measurements.rows]
