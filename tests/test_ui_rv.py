"""The viewer on a short-axis MRI stack with a right ventricle: RV overlay and toggle, RV rows, RV editing,
height and weight fields giving indexed values."""

from __future__ import annotations

import pytest

from tests.test_rv_indexed import rv_cine
from tests.ui_fixtures import analyzed_window, dialogs_seen, make_window, no_worker_left  # noqa: F401

pytest.importorskip("pytestqt")


@pytest.fixture
def rv_window(make_window, qtbot):
    rec, labels = rv_cine()
    return analyzed_window(make_window, qtbot, rec, labels, timeout_ms=20000)


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
    assert window.measurements.cell_text("rv_edv_ml") == f"{rv_edv:.1f} ml"
    assert window.measurements.cell_text("rv_ef_pct", 2) == "52-80 %"  # CMR range, sex unknown
    window.tools.kind.setCurrentIndex(list(window.tools.kind.itemData(i) for i in range(window.tools.kind.count()))
                                      .index("rv"))
    assert window.editor.kind == "rv" and window.editor.contour is st.contour((1, ed), "rv")
    old = st.contour((1, ed), "rv")
    centre = old.points_px.mean(axis=0)
    window.editor.edit_requested.emit("rv", old.with_points(centre + 1.25 * (old.points_px - centre)), "grow RV")
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)
    assert st.measurements.rv_edv_ml > rv_edv + 0.5
    assert "edited" in window.measurements.cell_text("rv_edv_ml", 3)
    window.controller.undo_stack.undo()
    assert st.measurements.rv_edv_ml == pytest.approx(rv_edv)


def test_height_and_weight_are_typed_in_one_place_and_indexed_rows_follow(rv_window, qtbot, monkeypatch):
    import app.ui.study_actions as study_actions

    window = rv_window
    st = window.study[0]
    from PySide6.QtWidgets import QDoubleSpinBox

    suffixes = [box.suffix() for box in window.tools.findChildren(QDoubleSpinBox)]
    assert " cm" not in suffixes and " kg" not in suffixes  # no second place to type them
    assert "edv_index_ml_m2" not in [r[0] for r in window.measurements.rows]
    assert "unknown" in window.tools.body_size.text()
    asked = []
    monkeypatch.setattr(study_actions, "ask_patient_details",
                        lambda parent, h, w, s: asked.append((h, w)) or (180.0, 80.0, "M"))
    window.tools.patient_button.click()  # the tools panel opens the patient dialog
    qtbot.wait(20)
    assert asked == [(None, None)]
    assert st.recording.patient.height_cm == 180 and st.recording.patient.weight_kg == 80
    assert window.tools.body_size.text() == "180 cm, 80.0 kg, male"
    assert window.measurements.cell_text("bsa_m2") == "2.00 m²"
    assert window.measurements.cell_text("rv_edv_index_ml_m2") == f"{st.measurements.rv_edv_ml / 2.0:.1f} ml/m²"
    # every indexed value the PDF prints is on screen too (the SV indices were in the report only)
    from app.report.build import measurement_rows
    from app.workflow.indexed import indexed_values

    printed = {r.key for r in measurement_rows(st.measurements, "mri", None, "M",
                                               indexed_values(st.measurements, st.recording.patient))
               if "_index_" in r.key}
    assert {"sv_index_ml_m2", "rv_sv_index_ml_m2"} <= printed <= {r[0] for r in window.measurements.rows}
    window.controller.undo_stack.undo()
    qtbot.wait(20)
    assert st.recording.patient.height_cm is None and "unknown" in window.tools.body_size.text()
    assert "bsa_m2" not in [r[0] for r in window.measurements.rows]
