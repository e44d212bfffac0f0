"""Analysis from the viewer: worker thread with progress, cancel, errors as dialogs, phantom end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.ui_fixtures import dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")


@pytest.fixture(scope="module")
def phantom_case():
    """A small phantom A4C clip with its truth (rendered once for the module)."""
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    params = EchoPhantomParams(heart=HeartParams(edv_ml=120, esv_ml=50), view="a4c", beats=1,
                               frame_rate_hz=25.0, image_shape_px=(128, 128), quality="good")
    return make_echo(params, seed=3)


def slow_segmenter(labels, steps=5, delay_s=0.02):
    def segment(recording, cancel=None):
        from app.workflow.results import Progress

        for k in range(steps):
            time.sleep(delay_s)
            yield Progress((k + 1) / steps, f"segmenting {k + 1}/{steps}")
        yield labels

    return segment


def test_analysis_runs_in_a_worker_and_fills_the_views(make_window, qtbot, tmp_path):
    window = make_window()
    rec, labels = synthetic_echo(24, path=tmp_path / "clip.dcm")
    (tmp_path / "clip.dcm").write_bytes(b"x")
    window.controller.segmenter_for = lambda recording: slow_segmenter(labels)
    window.controller.add_recording(rec)
    progress = []
    window.controller.analysis_progress.connect(lambda i, f, m: progress.append(f))
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000) as blocker:
        qtbot.mouseClick(window.tools.analyze_button, Qt.LeftButton)
        assert window.progress.isVisible() and window.cancel_button.isVisible()
    assert blocker.args == [0, True]
    qtbot.wait(20)  # the views refresh in the next turn of the event loop
    assert progress and max(progress) == pytest.approx(1.0) and progress == sorted(progress)
    st = window.study[0]
    assert len(st.contours) == 24 and st.measurements is not None
    assert len(window.curves.volume_curve.getData()[0]) == 24
    assert window.overlays.items["endo"].getData()[0] is not None
    assert not window.progress.isVisible()


def test_cancel_stops_the_worker_without_error(make_window, qtbot, dialogs_seen):
    window = make_window()
    rec, labels = synthetic_echo(12)
    window.controller.segmenter_for = lambda recording: slow_segmenter(labels, steps=400, delay_s=0.01)
    window.controller.add_recording(rec)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=10000) as blocker:
        window.analyze_current()
        qtbot.waitUntil(lambda: window.progress.value() > 0, timeout=5000)
        qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    assert blocker.args == [0, False]
    assert window.study[0].contours == {} and not dialogs_seen


def test_analysis_error_is_a_message_not_a_crash(make_window, qtbot, dialogs_seen):
    from app.workflow.results import AnalysisError

    def broken(recording):
        raise AnalysisError("echo segmentation model not installed: models/echo_seg_temporal")

    window = make_window()
    rec, _ = synthetic_echo(8)
    window.controller.segmenter_for = lambda recording: broken
    window.controller.add_recording(rec)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=10000):
        window.analyze_current()
    assert dialogs_seen[-1][1] == "Analysis failed" and "not installed" in dialogs_seen[-1][2]


def test_opening_a_corrupt_file_shows_an_error(make_window, tmp_path, dialogs_seen):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    window = make_window()
    window.open_paths([str(bad)])
    assert window.opener.wait_opened()  # the file is read in a worker
    assert len(window.study) == 0
    assert dialogs_seen and dialogs_seen[-1][1] == "Cannot open" and "broken.dcm" in dialogs_seen[-1][2]


def test_phantom_analysis_matches_truth_and_edit_changes_ef(make_window, qtbot, phantom_case):
    truth = phantom_case.truth
    window = make_window()
    window.controller.segmenter_for = lambda recording: (lambda r: truth.labels)
    window.controller.add_recording(phantom_case.recording)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000) as blocker:
        window.analyze_current()
    assert blocker.args[1] is True
    qtbot.wait(20)
    st = window.study[0]
    true_ef = 100.0 * (truth.volume_ml.max() - truth.volume_ml.min()) / truth.volume_ml.max()
    assert st.measurements.ef_pct == pytest.approx(true_ef, abs=0.9)  # exact labels: measured -0.40 points
    assert abs(st.ed_frames[0] - truth.ed_frames[0]) <= 1
    assert st.strain is not None  # strain ran after the segmentation, and tracked the phantom's wall:
    assert st.strain.gls_pct == pytest.approx(float(truth.gls_pct.min()), abs=1.5)  # measured -0.99 points
    assert not window.curves.strain_plot.isHidden()
    assert window.measurements.cell_text("gls_pct").endswith("%")
    es = st.es_frames[0]
    ef_analyzed = st.measurements.ef_pct
    window.cine.set_frame(es)
    old = st.contour((0, es), "endo")
    shrunk = old.with_points(old.points_px + 0.15 * (old.points_px.mean(axis=0) - old.points_px))
    window.editor.contour = old
    window.editor.edit_requested.emit("endo", shrunk, "shrink ES")
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)  # measured with its propagation
    assert st.measurements.ef_pct > true_ef + 3.0
    window.controller.undo_stack.undo()
    assert st.measurements.ef_pct == pytest.approx(ef_analyzed)


def test_dicom_file_round_trip_restores_analysis_and_edits(make_window, qtbot, phantom_case, tmp_path):
    """Open a written DICOM through the readers, analyze, edit; a new window on the same file restores it."""
    from app.data.writers import write_recording

    path = write_recording(phantom_case.recording, tmp_path / "a4c.dcm")
    labels = phantom_case.truth.labels
    window = make_window()
    window.controller.segmenter_for = lambda recording: (lambda r: labels)
    window.open_paths([str(path)])
    assert window.opener.wait_opened()  # the file is read in a worker
    assert len(window.study) == 1 and window.study[0].recording.source_path == path
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000):
        window.analyze_current()
    st = window.study[0]
    es = st.es_frames[0]
    old = st.contour((0, es), "endo")
    window.cine.set_frame(es)
    window.editor.contour = old
    window.editor.commit_move(5, *window.cine.px_to_view(old.points_px[5:6] + [-6.0, 0.0])[0])
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)  # measured with its propagation
    ef_edited = st.measurements.ef_pct
    sidecar = tmp_path / "userdata" / f"{window.study.save_key(0)}.cardiotrace.json"

    def saved_edit():
        return sidecar.exists() and [0, es] in json.loads(sidecar.read_text())["edited"]["contour_keys"]

    qtbot.waitUntil(saved_edit, timeout=5000)  # the debounced autosave, nothing saved explicitly
    window.hide()  # killed without closing
    again = make_window()
    again.open_paths([str(path)])
    assert again.opener.wait_opened()  # the file is read in a worker
    r = again.study[0]
    assert r.analyzed and (0, es) in r.edited_keys
    assert r.measurements.ef_pct == pytest.approx(ef_edited, abs=1e-3)
    assert r.strain is not None and r.strain.gls_pct == pytest.approx(st.strain.gls_pct, abs=1e-3)
    assert "ef_pct" in r.measurements.edited


def test_report_button_writes_the_pdf_of_a_restored_study(make_window, qtbot, phantom_case, tmp_path, monkeypatch,
                                                         dialogs_seen):
    from PySide6.QtWidgets import QFileDialog

    from app.data.writers import write_recording

    path = write_recording(phantom_case.recording, tmp_path / "clip.dcm")
    window = make_window()
    assert not window.reports.report_button.isEnabled()  # nothing analyzed yet
    window.controller.segmenter_for = lambda recording: (lambda r: phantom_case.truth.labels)
    window.controller.with_strain = False
    window.open_paths([str(path)])
    assert window.opener.wait_opened()  # the file is read in a worker
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000):
        window.analyze_current()
    window.controller.save_now()
    window.hide()
    again = make_window()
    again.open_paths([str(path)])  # restored from the autosave: no new analysis
    assert again.opener.wait_opened()  # the file is read in a worker
    assert again.study[0].analyzed and again.reports.report_button.isEnabled()
    (tmp_path / "reports").mkdir()
    pdf = tmp_path / "reports" / "out.pdf"
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (offered.append(Path(a[2])), (str(pdf), "PDF (*.pdf)"))[1]))
    qtbot.mouseClick(again.reports.report_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: again.reports.worker is None, timeout=60000)
    assert not dialogs_seen, dialogs_seen
    assert pdf.read_bytes()[:4] == b"%PDF"
    # Issue 54: the PDF is not offered beside the recording (a shared data folder), but where the last one went.
    assert offered[0].parent != path.parent
    qtbot.mouseClick(again.reports.report_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: again.reports.worker is None, timeout=60000)
    assert offered[1].parent == pdf.parent


def test_cine_mr_stack_with_the_shipped_models_in_the_viewer(make_window, qtbot):
    """The real MR path (shipped segmentation and ED/ES models, the worker's cancel Event): it once failed
    with "'Event' object is not callable" because only the echo path was exercised from the viewer."""
    from app.data.phantom import HeartParams, MriPhantomParams, make_mri
    from app.ml.weights import model_available

    if not (model_available("mri_seg") and model_available("ed_es")):
        pytest.skip("models/mri_seg or models/ed_es is not installed")
    case = make_mri(MriPhantomParams(heart=HeartParams(edv_ml=150, esv_ml=70), n_phases=16, n_slices=4,
                                     image_px=132), seed=5)
    window = make_window()
    window.controller.add_recording(case.recording)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=120000) as blocker:
        window.analyze_current()
    assert blocker.args == [0, True]
    st = window.study[0]
    assert st.measurements is not None and st.measurements.method == "slice-summation"
    truth = case.truth  # the shipped MRI model on this phantom: ED/ES exact, EF measured -3.2 points (31.5 vs 34.7)
    assert abs(st.ed_frames[0] - truth.ed_frames[0]) <= 1 and abs(st.es_frames[0] - truth.es_frames[0]) <= 1
    assert st.measurements.ef_pct == pytest.approx(truth.ef_pct, abs=5.0)
    # the panel names the networks and how they ran: each phase on its own (the shipped members are per-phase)
    qtbot.waitUntil(lambda: "MRI networks" in window.measurements.method.text(), timeout=5000)
    assert "phase by phase" in window.measurements.method.text()


def test_steady_contours_toggle_is_remembered_and_used_by_the_next_echo_analysis(make_window, qtbot, tmp_path,
                                                                                 monkeypatch):
    import app.workflow.segment_step as segment_step

    window = make_window()
    assert not window.window_actions.steady.isChecked() and window.controller.echo_hysteresis == 0.0
    window.window_actions.steady.trigger()
    assert window.controller.echo_hysteresis == pytest.approx(0.2)
    assert "re-run the analysis" in window.statusBar().currentMessage()
    assert make_window().window_actions.steady.isChecked()  # remembered in the settings

    rec, labels = synthetic_echo(12, path=tmp_path / "clip.dcm")
    margins = []
    monkeypatch.setattr(segment_step, "echo_segmenter",
                        lambda model="base", hysteresis=0.0: margins.append(hysteresis) or slow_segmenter(labels))
    window.controller.add_recording(rec)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=20000) as blocker:
        window.analyze_current()
    assert blocker.args == [0, True] and margins == [pytest.approx(0.2)]


def test_echo_segmenter_names_itself_for_the_report():
    from app.workflow.segment_step import echo_segmenter

    assert echo_segmenter().__name__ == "echo_seg_base"
    assert echo_segmenter("temporal", 0.2).__name__ == "echo_seg_temporal + label hysteresis 0.2"
