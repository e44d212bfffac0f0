"""Clinical safety in the viewer (issue 35): the panel shows the selected recording, re-analysis keeps
corrections, one patient per study, ED/ES keys and frame numbers."""

from __future__ import annotations

import pytest

from tests.ui_fixtures import (  # noqa: F401
    analyzed,
    dialogs_seen,
    fake_analysis,
    make_window,
    no_worker_left,
    synthetic_echo,
)

pytest.importorskip("pytestqt")


def _add_analyzed(window, rec, labels, ed=(0,), es=(12,)) -> int:
    index = window.controller.add_recording(rec)
    window.study.set_analysis(index, fake_analysis(labels, ed_frames=ed, es_frames=es))
    return index


def test_the_table_shows_the_selected_recording_not_the_biplane_of_others(make_window, qtbot):
    window = make_window()
    a4c, labels = synthetic_echo(24, view="a4c")
    a2c, _ = synthetic_echo(24, view="a2c")
    _add_analyzed(window, a4c, labels)
    _add_analyzed(window, a2c, labels)
    window.show_recording(0)
    qtbot.wait(20)
    assert "biplane" in window.measurements.title.text()
    biplane_edv = window.measurements.cell_text("edv_ml")
    assert biplane_edv.endswith("ml")
    clip, clip_labels = synthetic_echo(24, view="a4c", calibrated=False)
    index = window.controller.add_recording(clip)  # opens selected, not analyzed yet
    qtbot.wait(20)
    assert window.index == index
    assert "biplane" not in window.measurements.title.text()
    assert "not analyzed" in window.measurements.title.text()
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


def _edit_frame(window, frame=4):
    st = window.study[0]
    old = st.contour((0, frame), "endo")
    window.tools.propagate.setValue(0)
    window.cine.set_frame(frame)
    window.editor.contour = old
    window.editor.commit_move(3, *window.cine.px_to_view(old.points_px[3:4] + [5.0, 0.0])[0])
    return st.contour((0, frame), "endo").points_px.copy()


def _reanalyze(window, qtbot, monkeypatch, answer, labels):
    from app.ui import dialogs

    asked = []
    monkeypatch.setattr(dialogs, "ask_reanalyze", lambda parent, detail: asked.append(detail) or answer)
    window.controller.segmenter_for = lambda recording: (lambda r: labels)
    window.controller.with_strain = False
    if answer == "cancel":
        window.analyze_current()
        assert not window.controller.workers
        return asked
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000) as blocker:
        window.analyze_current()
    assert blocker.args == [0, True]
    qtbot.wait(20)  # the views refresh in the next turn of the event loop
    return asked


def test_reanalysis_keeps_corrections_and_is_undoable(analyzed, qtbot, monkeypatch):
    import numpy as np

    window, labels = analyzed
    st = window.study[0]
    edited = _edit_frame(window)
    window.mark_current("es")  # frame 4 becomes a second ES
    assert _reanalyze(window, qtbot, monkeypatch, "cancel", labels) == ["contours on 1 frame and ED/ES frames"]
    assert _reanalyze(window, qtbot, monkeypatch, "keep", labels)
    np.testing.assert_allclose(st.contour((0, 4), "endo").points_px, edited)
    assert (0, 4) in st.edited_keys and st.edes_edited and 4 in st.es_frames
    assert "esv_ml" in st.measurements.edited and "edited" in window.measurements.cell_text("ef_pct", 3)
    assert window.window_actions.undo.isEnabled()
    window.controller.save_now()
    saved = window.study.to_json(0)["edited"]
    assert [0, 4] in saved["contour_keys"] and saved["ed_es"]


def test_reanalysis_that_replaces_corrections_can_be_undone(analyzed, qtbot, monkeypatch):
    import numpy as np

    window, labels = analyzed
    st = window.study[0]
    auto = st.contour((0, 12), "endo").points_px.copy()
    edited = _edit_frame(window, 12)
    _reanalyze(window, qtbot, monkeypatch, "discard", labels)
    assert not st.edited_keys and "edited" not in window.measurements.cell_text("ef_pct", 3)
    np.testing.assert_allclose(st.contour((0, 12), "endo").points_px, auto, atol=1e-6)
    window.window_actions.undo.trigger()  # the analysis is one undo step: the corrections come back
    qtbot.wait(20)
    np.testing.assert_allclose(st.contour((0, 12), "endo").points_px, edited)
    assert (0, 12) in st.edited_keys and "edited" in window.measurements.cell_text("ef_pct", 3)
    window.window_actions.undo.trigger()  # then the edit itself
    np.testing.assert_allclose(st.contour((0, 12), "endo").points_px, auto, atol=1e-6)
    window.window_actions.redo.trigger()
    window.window_actions.redo.trigger()
    assert not st.edited_keys


def test_analysis_without_corrections_does_not_ask(analyzed, qtbot, monkeypatch):
    window, labels = analyzed
    assert _reanalyze(window, qtbot, monkeypatch, "keep", labels) == []


def _write(tmp_path, name, patient=None, fmt="dcm", view="a4c"):
    from dataclasses import replace

    from app.data.writers import write_recording

    rec, _ = synthetic_echo(12, view=view)
    if patient is not None:
        rec = replace(rec, patient=patient)
    return write_recording(rec, tmp_path / f"{name}.{fmt}")


def test_a_recording_of_another_patient_opens_as_a_separate_study(make_window, qtbot, tmp_path, monkeypatch):
    from app.data.recording import PatientInfo
    from app.ui import dialogs

    monkeypatch.setattr(dialogs, "ask_join_study", lambda *a: pytest.fail("asked about an identified patient"))
    first = _write(tmp_path, "a4c_patient_a")
    same = _write(tmp_path, "a2c_patient_a", view="a2c")
    other = _write(tmp_path, "sax_patient_b", PatientInfo(name="Other^Person", patient_id="B-2", study_uid="9.8.7"))
    window = make_window()
    window.open_paths([str(first)])
    assert window.opener.wait_opened()  # the file is read in a worker
    window.open_paths([str(other)])
    assert window.opener.wait_opened()  # the file is read in a worker
    assert len(window.study) == 1 and window.study[0].recording.patient.patient_id == "T001"
    [separate] = window.study_windows
    qtbot.addWidget(separate)
    assert len(separate.study) == 1 and separate.study[0].recording.patient.patient_id == "B-2"
    assert "OTHER PERSON" in separate.windowTitle() and "TEST PATIENT" in window.windowTitle()
    assert "separate study" in window.statusBar().currentMessage()
    separate.open_paths([str(same)])  # patient A's second view goes to patient A's study, from either window
    assert separate.opener.wait_opened()  # the file is read in a worker
    assert len(window.study) == 2 and len(separate.study) == 1
    assert window.study[1].recording.view == "a2c"


@pytest.mark.parametrize("answer,joined,separate", [("join", 2, 0), ("separate", 1, 1), ("cancel", 1, 0)])
def test_an_anonymous_recording_joins_only_when_the_user_says_so(make_window, qtbot, tmp_path, monkeypatch,
                                                                  answer, joined, separate):
    from app.ui import dialogs

    asked = []
    monkeypatch.setattr(dialogs, "ask_join_study", lambda parent, new, study: asked.append((new, study)) or answer)
    window = make_window()
    window.open_paths([str(_write(tmp_path, "a4c_patient_a"))])
    assert window.opener.wait_opened()  # the file is read in a worker
    anonymous = _write(tmp_path, "clip", fmt="nii.gz")  # NIfTI: no patient fields at all
    window.open_paths([str(anonymous)])
    assert window.opener.wait_opened()  # the file is read in a worker
    for w in window.study_windows:
        qtbot.addWidget(w)
    assert asked == [("clip.nii.gz", "TEST PATIENT (ID T001)")]
    assert len(window.study) == joined and len(window.study_windows) == separate


def test_es_key_moves_the_beats_es_and_leaves_edv_automatic(analyzed, qtbot):
    from PySide6.QtCore import Qt

    window, _ = analyzed
    st = window.study[0]
    window.cine.set_frame(14)
    qtbot.keyClick(window, Qt.Key_S)
    assert st.es_frames == (14,) and len(window.curves.timeline.markers) == 2  # one ED line, one ES line
    assert "esv_ml" in st.measurements.edited and "edv_ml" not in st.measurements.edited
    assert "heart_rate_bpm" not in st.measurements.edited
    qtbot.wait(20)
    assert "edited" in window.measurements.cell_text("esv_ml", 3)
    assert "edited" not in window.measurements.cell_text("edv_ml", 3)


def test_frame_numbers_agree_and_keys_move_through_frames_and_marks(analyzed, qtbot):
    from PySide6.QtCore import Qt

    window, _ = analyzed  # 24 frames, ED 0, ES 12
    window.cine.set_frame(14)
    assert window.cine.frame_label.text().startswith("frame 14 of 0–23")
    assert window.curves.timeline.cursor.value() == 14  # the curve's x is the same number
    assert "first = 0" in window.curves.volume_plot.getPlotItem().getAxis("bottom").labelText
    qtbot.keyClick(window, Qt.Key_End)
    assert window.cine.frame == 23
    qtbot.keyClick(window, Qt.Key_Home)
    assert window.cine.frame == 0
    qtbot.keyClick(window, Qt.Key_PageDown)
    assert window.cine.frame == 10
    qtbot.keyClick(window, Qt.Key_Right, Qt.ControlModifier)
    assert window.cine.frame == 12  # the ES mark
    qtbot.keyClick(window, Qt.Key_Right, Qt.ControlModifier)
    assert window.cine.frame == 12  # no mark after it: stays
    qtbot.keyClick(window, Qt.Key_Left, Qt.ControlModifier)
    assert window.cine.frame == 0  # the ED mark
    qtbot.keyClick(window, Qt.Key_PageUp)
    assert window.cine.frame == 0


def test_the_table_flags_the_value_it_shows(qtbot):
    import types

    from app.ui.measurements_panel import MeasurementsPanel

    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    m = types.SimpleNamespace(edv_ml=120.0, esv_ml=61.4, sv_ml=58.6, ef_pct=48.8, heart_rate_bpm=70.0,
                              method="disks", edited=frozenset(), notes=())
    panel.show_measurements(m)
    # as the report prints and flags it: the table had shown "61 ml" in range while the signed PDF said 61.4 HIGH
    from app.report.build import _row

    printed = _row("esv_ml", "ESV", 61.4, "ml", 1)
    assert panel.cell_text("esv_ml") == f"{printed.text} ml" == "61.4 ml" and panel.cell_text("esv_ml", 2) == "14-61 ml"
    assert printed.flag == "high" and "high" in panel.cell_text("esv_ml", 3)


def test_conclusion_typed_in_the_viewer_is_saved_and_printed(analyzed, qtbot, monkeypatch, tmp_path):
    from pypdf import PdfReader

    from app.report.from_study import default_report_name, write_study_report
    from app.ui import dialogs

    window, _ = analyzed
    monkeypatch.setattr(dialogs, "edit_conclusion",
                        lambda parent, text, reviewer: ("Normal LV size.\nNo regional wall motion abnormality.",
                                                        "Dr B. Signer"))
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Report")
    next(a for a in menu.actions() if a.text().startswith("&Comment")).trigger()
    assert window.study.conclusion.startswith("Normal LV size.") and window.study.reviewer == "Dr B. Signer"
    assert window.study.to_json(0)["report"]["reviewer"] == "Dr B. Signer"  # autosaved with the recording
    from app.workflow.study_analysis import analysis_from_state

    window.study[0].analysis = analysis_from_state(window.study[0], "echo_seg_base")  # a real RecordingAnalysis
    pdf = write_study_report(window.study, tmp_path / default_report_name(window.study))
    assert pdf.name == "Test_Patient_2026-11-22_echo_report.pdf"
    page1 = PdfReader(str(pdf)).pages[0].extract_text()
    assert "No regional wall motion abnormality." in page1 and "Dr B. Signer" in page1


def test_measurements_panel_says_a_heart_rate_is_the_files(qtbot):
    """A heart rate no trusted beat measured (the file's HeartRate, a gated cycle) says so beside its value, as the
    report's method column does; one from the beats says nothing more."""
    import types

    from app.ui.measurements_panel import MeasurementsPanel
    from app.workflow.results import HR_FROM_BEATS, HR_FROM_FILE, HR_FROM_GATED_CYCLE

    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    for source, said in ((HR_FROM_FILE, "from the file"), (HR_FROM_GATED_CYCLE, "gated cycle"), (HR_FROM_BEATS, "")):
        m = types.SimpleNamespace(edv_ml=120.0, esv_ml=50.0, sv_ml=70.0, ef_pct=58.3, heart_rate_bpm=70.0,
                                  heart_rate_source=source, method="disks", edited=frozenset(), notes=())
        panel.show_measurements(m)
        assert panel.cell_text("heart_rate_bpm") == "70 bpm" and panel.cell_text("heart_rate_bpm", 3) == said


def _panel_values(**values):
    """What the panel reads of a Measurements: an echo clip's values, with `values` in place of the defaults."""
    import types

    return types.SimpleNamespace(**{"edv_ml": 130.0, "esv_ml": 60.0, "sv_ml": 70.0, "ef_pct": 53.8,
                                    "heart_rate_bpm": 70.0, "heart_rate_source": "beats", "method": "disks",
                                    "edited": frozenset(), "notes": (), **values})


def test_measurements_panel_says_when_the_ranges_span_both_sexes_and_grades_a_low_ef(qtbot):
    from app.ui.measurements_panel import SEX_UNKNOWN_NOTE, MeasurementsPanel

    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.show_measurements(_panel_values(), sex="F")
    assert panel.cell_text("edv_ml", 2) == "46-106 ml" and SEX_UNKNOWN_NOTE not in panel.method.text()
    panel.show_measurements(_panel_values(), sex="")
    assert panel.cell_text("edv_ml", 2) == "46-150 ml" and SEX_UNKNOWN_NOTE in panel.method.text()
    panel.show_measurements(_panel_values(esv_ml=130.0, sv_ml=50.0, ef_pct=27.8), sex="M")
    assert panel.cell_text("ef_pct", 3) == "low (severely)"  # ASE/EACVI 2015's grade, as the report prints it


def test_an_indexed_value_is_marked_edited_with_the_value_it_divides_as_the_report_stars_it(qtbot):
    from app.data.recording import PatientInfo
    from app.ui.measurements_panel import EDITED_TEXT, MeasurementsPanel
    from app.workflow.indexed import indexed_values

    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    m = _panel_values(edited=frozenset({"esv_ml", "sv_ml", "ef_pct"}), lv_mass_g=None)
    panel.show_measurements(m, sex="M", indexed=indexed_values(m, PatientInfo(height_cm=175.0, weight_kg=80.0)))
    assert EDITED_TEXT in panel.cell_text("esv_index_ml_m2", 3) and EDITED_TEXT in panel.cell_text("sv_index_ml_m2", 3)
    assert EDITED_TEXT not in panel.cell_text("edv_index_ml_m2", 3)


@pytest.mark.parametrize("modality", ["echo", "mri"])
def test_every_value_the_table_shares_with_the_report_has_the_reports_decimals(modality):
    """The panel is what the reviewer reads before signing: each value as the PDF prints it (SV = EDV - ESV as
    shown, a flag on the same number)."""
    from report_fixtures import synthetic_analysis, synthetic_stack_analysis

    from app.report.build import report_from_analyses
    from app.ui.measurements_panel import FAC_ROW, INDEXED_ROWS, LA_ROWS, MRI_ROWS, ROWS

    analysis = synthetic_analysis() if modality == "echo" else synthetic_stack_analysis()
    report = report_from_analyses([analysis])
    printed = {row.key: row.decimals for _, row in report.all_rows}
    shown = {name: decimals for name, _, _, decimals in (*ROWS, FAC_ROW, *MRI_ROWS, *LA_ROWS, *INDEXED_ROWS)}
    both = set(printed) & set(shown)
    assert {"edv_ml", "esv_ml", "ef_pct"} <= both
    assert {k: shown[k] for k in both} == {k: printed[k] for k in both}
