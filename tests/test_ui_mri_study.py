"""MRI as MRI in the viewer (issue 35 item 6) and study-level actions (item 9): CMR ranges, MRI rows and words,
the slice strip and slice keys that keep the zoom, the per-slice volume table with include/exclude (undo,
autosave), handle size on small slices, Analyze all, the patient dialog, Help > About, closing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from app.data.recording import PatientInfo, Recording, uniform_frame_times
from app.report.from_study import study_report
from app.workflow.analyze import refusal
from app.workflow.reference_ranges import classify, reference_range
from tests.ui_fixtures import analyzed_window, dialogs_seen, make_window, no_worker_left, synthetic_echo  # noqa: F401

pytest.importorskip("pytestqt")

LV_RADII_PX = (13.0, 12.0, 9.0, 4.0)  # base to apex: the apical slice is small


def _disk(shape, centre, r):
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= r * r


def tapered_stack(n_frames: int = 8, path=None, radii=LV_RADII_PX) -> tuple[Recording, np.ndarray]:
    """A 4-slice cine stack (S, T, 64, 64) whose LV narrows to the apex (radii in the stack's order) and squeezes
    to ES at the middle phase; labels 1 LV, 2 wall, 3 RV; the images are the labels."""
    shape = (64, 64)
    labels = np.zeros((len(radii), n_frames, *shape), np.uint8)
    for t in range(n_frames):
        squeeze = 0.5 * (1 + np.cos(2 * np.pi * t / n_frames))  # 1 at ED (t = 0)
        for s, r0 in enumerate(radii):
            r = r0 * (0.75 + 0.25 * squeeze)
            labels[s, t][_disk(shape, (32, 26), r + 4)] = 2
            labels[s, t][_disk(shape, (32, 26), r)] = 1
            labels[s, t][_disk(shape, (32, 50), 6 + 3 * squeeze) & (labels[s, t] == 0)] = 3
    rec = Recording(frames=(labels * 60).astype(np.float32), frame_times_s=uniform_frame_times(n_frames, 25.0),
                    modality="mri", view="sax", spacing_mm=(1.5, 1.5), calibrated=True, slice_spacing_mm=8.0,
                    patient=PatientInfo(name="Stack^Test", patient_id="S001"), source_path=path,
                    series_description="SAX cine")
    return rec, labels


@pytest.fixture
def mri_window(make_window, qtbot, tmp_path):
    src = tmp_path / "sax.dcm"
    src.write_bytes(b"stand-in for the stack")
    rec, labels = tapered_stack(path=src)
    return analyzed_window(make_window, qtbot, rec, labels)


# -- item 6: MRI as MRI --------------------------------------------------------------------------
@pytest.mark.parametrize("sex", ["M", "F", ""])
def test_cmr_ranges_flag_a_failing_heart_and_cover_mass_and_indexed_values(sex):
    assert classify("ef_pct", 31.0, sex, "mri") == "low" and classify("edv_ml", 225.0, sex, "mri") == "high"
    assert classify("ef_pct", 67.0, sex, "mri") == "normal" and classify("edv_ml", 150.0, sex, "mri") == "normal"
    for name in ("edv_ml", "esv_ml", "ef_pct", "lv_mass_g", "lv_mass_index_g_m2", "edv_index_ml_m2", "esv_index_ml_m2"):
        rng = reference_range(name, sex, "mri")  # one population for the LV: absolute and indexed judged alike
        assert rng is not None and rng.source == "Kawel-Boehm 2015 (pooled SSFP)", name
    if sex == "M":  # an ESV and its index (BSA 2.1) agree: both normal
        assert classify("esv_ml", 75.0, sex, "mri") == classify("esv_index_ml_m2", 75.0 / 2.1, sex, "mri") == "normal"
    assert classify("edv_index_ml_m2", 120.0, sex, "mri") == "high"  # 225 ml at BSA 1.9
    assert reference_range("edv_index_ml_m2", sex, "echo").source.startswith("ASE")  # echo keeps its own table


def test_mri_rows_words_and_overlays(mri_window):
    window = mri_window
    names = [r[0] for r in window.measurements.rows]
    assert "gls_pct" not in names and {"lv_mass_g", "rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"} <= set(names)
    st = window.study[0]
    assert window.measurements.cell_text("lv_mass_g") == f"{st.measurements.lv_mass_g:.1f} g"
    assert window.measurements.cell_text("lv_mass_g", 2) == "56-176 g"  # CMR mass range, sex unknown
    for name in ("la", "axis", "strain"):
        assert not window.tools.overlay_boxes[name].isVisible(), name
    assert window.tools.overlay_boxes["rv"].isVisible()
    kinds = [window.tools.kind.itemData(i) for i in range(window.tools.kind.count())]
    assert kinds == ["endo", "epi", "rv"]
    plot = window.cine.plot.getPlotItem()
    axis_words = plot.getAxis("bottom").labelText + plot.getAxis("left").labelText
    assert "lateral" not in axis_words and "depth" not in axis_words
    title = window.curves.volume_plot.getPlotItem().titleLabel.text
    assert "stack" in title and "4 slices" in title
    texts = [w.text() for w in window.findChildren(QLabel) if w.isVisible()] + [title]
    assert not any(word in t for t in texts for word in ("A4C", "A2C", "GLS", "strain"))


def test_the_strip_names_the_base_by_the_lv_even_when_the_file_stores_the_apex_first(mri_window, make_window, qtbot):
    strip = mri_window.stack.strip
    assert strip.item(0).text() == "1 base" and strip.item(3).text() == "4 apex" and "base first" in strip.toolTip()
    rec, labels = tapered_stack(radii=LV_RADII_PX[::-1])  # stored apex first, as a file without orientation may
    strip = analyzed_window(make_window, qtbot, rec, labels).stack.strip
    assert strip.item(0).text() == "1 apex" and strip.item(3).text() == "4 base" and "apex first" in strip.toolTip()


def test_echo_keeps_its_rows_and_overlays(make_window, qtbot):
    window = make_window()
    rec, _ = synthetic_echo(12)
    window.controller.add_recording(rec)
    qtbot.wait(20)
    assert "gls_pct" in [r[0] for r in window.measurements.rows]
    assert window.tools.overlay_boxes["axis"].isVisible() and not window.tools.overlay_boxes["rv"].isVisible()
    assert not window.stack.strip.isVisible() and not window.stack.table.isVisible()


def test_epicardium_is_closed_on_every_slice(mri_window):
    st = mri_window.study[0]
    epis = [d["epi"] for d in st.contours.values() if "epi" in d]
    assert epis and all(c.closed for c in epis)
    mri_window.cine.set_frame(st.ed_frames[0])
    xs, ys = mri_window.overlays.items["epi"].getData()
    assert (xs[0], ys[0]) == (xs[-1], ys[-1])  # the drawn ring joins up


def test_slice_strip_and_keys_keep_the_zoom(mri_window, qtbot):
    window = mri_window
    strip = window.stack.strip
    assert strip.isVisible() and strip.count() == 4
    assert not strip.item(0).icon().isNull()
    vb = window.cine.plot.getPlotItem().vb
    vb.scaleBy((0.5, 0.5))  # zoom in 2x
    qtbot.wait(20)
    zoomed = vb.viewRange()
    start = window.slice_index
    target = start - 1 if start else 1
    window.cine.plot.setFocus()  # working on the image (the recordings list keeps its own arrow keys)
    qtbot.keyClick(window, Qt.Key_Down if target > start else Qt.Key_Up, Qt.ControlModifier)
    qtbot.wait(20)
    assert window.slice_index == target and window.cine.slice_index == target
    assert strip.currentRow() == target
    assert np.allclose(vb.viewRange(), zoomed)  # same zoom and pan on the next slice
    qtbot.keyClick(window, Qt.Key_Up if target > start else Qt.Key_Down)  # plain arrows step too
    qtbot.wait(20)
    assert window.slice_index == start
    strip.setCurrentRow(3)  # a click on the apical thumbnail
    qtbot.wait(20)
    assert window.slice_index == 3 and window.recordings.slice.value() == 4
    assert np.allclose(vb.viewRange(), zoomed)
    window.stack.step(5)  # past the apex: stays on the last slice
    assert window.slice_index == 3


def test_slice_table_excludes_a_slice_with_undo_and_autosave(mri_window, qtbot):
    window = mri_window
    st = window.study[0]
    table = window.stack.table
    assert table.isVisible() and table.rowCount() == 4
    edv, esv = st.measurements.edv_ml, st.measurements.esv_ml
    slice_ed_ml = float(table.item(0, 4).text())
    assert float(table.item(0, 4).text()) > float(table.item(3, 4).text())  # the base is bigger than the apex
    assert sum(float(table.item(r, 4).text()) for r in range(4)) == pytest.approx(edv, abs=0.3)
    table.item(0, 0).setCheckState(Qt.Unchecked)  # leave the basal slice out
    qtbot.wait(20)
    assert st.excluded_slices == {0}
    assert st.measurements.edv_ml == pytest.approx(edv - slice_ed_ml, abs=0.1)
    assert st.measurements.esv_ml < esv
    assert "edited" in window.measurements.cell_text("edv_ml", 3)
    assert not table.included(0) and "(out)" in window.stack.strip.item(0).text()
    saved = window.study.to_json(0)
    assert saved["excluded_slices"] == [0]
    window.controller.undo_stack.undo()
    qtbot.wait(20)
    assert st.excluded_slices == frozenset() and st.measurements.edv_ml == pytest.approx(edv)
    assert table.included(0) and "edited" not in window.measurements.cell_text("edv_ml", 3)
    window.study.restore_json(0, saved)  # what a reopened study reads back
    assert st.excluded_slices == {0} and st.measurements.edv_ml == pytest.approx(edv - slice_ed_ml, abs=0.1)


def test_handles_shrink_and_thin_out_on_a_small_apical_slice(mri_window, qtbot):
    from app.ui.handles import HANDLE_MIN_PX, MIN_GAP_PX

    window = mri_window
    window.cine.set_frame(window.study[0].ed_frames[0])
    vb = window.cine.plot.getPlotItem().vb

    def handles(s):
        window.stack.show_slice(s)
        qtbot.wait(20)
        sizes = np.asarray([spot.size() for spot in window.editor.points.points()])
        assert len(sizes) == len(window.editor.contour.points_px)
        return sizes

    base, apex = handles(0), handles(3)
    assert apex.max() < base.max() and apex.max() >= HANDLE_MIN_PX
    vb.scaleBy((2.0, 2.0))  # zoom out: the apical ring is a few dozen screen pixels round
    qtbot.wait(20)
    apex_far = handles(3)
    shown = np.flatnonzero(apex_far > 0)
    assert 4 <= len(shown) < len(apex_far)  # fewer handles, every k-th point
    pts = window.cine.px_to_view(window.editor.contour.points_px[shown])
    px_w, _ = vb.viewPixelSize()
    gaps_px = np.hypot(*np.diff(np.vstack([pts, pts[:1]]), axis=0).T) / px_w
    assert np.median(gaps_px) >= MIN_GAP_PX * 0.9
    vb.scaleBy((0.2, 0.2))  # zoom in: every point has its handle again
    qtbot.wait(20)
    assert (handles(3) > 0).all()


# -- item 9: study-level actions -----------------------------------------------------------------
def test_analyze_all_runs_the_recordings_one_after_another(make_window, qtbot):
    window = make_window()
    labels_by_rec = {}
    for view in ("a4c", "a2c"):
        rec, labels = synthetic_echo(16, view=view)
        labels_by_rec[id(rec)] = labels
        window.controller.add_recording(rec)
    def segmenter_for(r):
        lab = labels_by_rec[id(r)]
        return lambda rr: lab

    window.controller.segmenter_for = segmenter_for
    window.controller.with_strain = False
    concurrent = []
    window.controller.analysis_progress.connect(lambda i, f, t: concurrent.append(len(window.controller.workers)))
    window.show_recording(1)  # the user watches the A2C play while the study is analyzed
    window.cine.set_playing(True)
    window.tools.analyze_all_button.click()
    qtbot.waitUntil(lambda: all(st.analyzed for st in window.study.recordings) and not window.study_actions.running,
                    timeout=60000)
    assert concurrent and max(concurrent) == 1  # never two analyses at once
    assert "Analyzed 2 recording(s)" in window.statusBar().currentMessage()
    assert window.index == 1 and window.cine.recording is window.study[1].recording  # issue 54: not switched
    assert window.cine.playing


def test_analyze_all_leaves_out_a_colour_doppler_clip_and_says_why(make_window, qtbot):
    window = make_window()
    grey, labels = synthetic_echo(16, view="a4c")
    painted = np.repeat(grey.frames[..., None], 3, axis=-1)
    painted[:, 20:30, 20:30] = (200, 40, 0)  # a red jet
    colour = dataclasses.replace(grey, image_mode="colour Doppler", display_rgb=painted)
    for rec in (colour, grey):
        window.controller.add_recording(rec)
    items = [window.recordings.list.item(i).text() for i in (0, 1)]
    assert "colour Doppler" in items[0] and "colour Doppler" not in items[1]
    window.show_recording(0)
    assert "colour Doppler" in window.header.text()
    shown = window.cine.image.image  # the clip in its colours, at their own levels
    assert shown.shape == painted.shape[1:] and tuple(shown[25, 25]) == (200, 40, 0)
    assert tuple(window.cine.image.levels) == (0.0, 255.0)
    assert "Not analyzed: a colour Doppler clip" in window.measurements.method.text()
    window.analyze_current()  # said at once, no worker, no error box
    assert not window.controller.workers and "Not analyzed: a colour Doppler" in window.statusBar().currentMessage()
    window.controller.segmenter_for = lambda r: (lambda rr: labels)
    window.controller.with_strain = False
    window.tools.analyze_all_button.click()
    qtbot.waitUntil(lambda: window.study[1].analyzed and not window.study_actions.running, timeout=60000)
    assert not window.study[0].analyzed
    message = window.statusBar().currentMessage()
    assert "Analyzed 1 recording(s); left out" in message and "a colour Doppler clip" in message
    report = study_report(window.study)  # the report of this study says what it left out
    assert [item.name for item in report.not_measured] == [window.study[0].name]
    assert report.not_measured[0].reason == refusal(colour) and len(report.recordings) == 1
    qtbot.waitUntil(lambda: not window.controller.workers, timeout=30000)
    window.study_actions.analyze_all()  # only the colour clip is left: nothing to analyze, and why
    assert not window.study_actions.running and "Nothing to analyze" in window.statusBar().currentMessage()


def test_analyze_all_cancel_stops_the_queue(make_window, qtbot):
    window = make_window()
    for view in ("a4c", "a2c"):
        rec, labels = synthetic_echo(16, view=view)
        window.controller.add_recording(rec)

    def slow(rr, lab=labels):
        import time

        time.sleep(1.0)
        return lab

    window.controller.segmenter_for = lambda r: slow
    window.controller.with_strain = False
    window.study_actions.analyze_all()
    assert window.study_actions.running
    window.controller.cancel_analysis()
    qtbot.waitUntil(lambda: not window.study_actions.running and not window.controller.workers, timeout=30000)
    assert not window.study[1].analyzed


def test_patient_dialog_sets_every_recording_and_the_ranges_follow(make_window, qtbot, monkeypatch):
    import app.ui.study_actions as study_actions

    window = make_window()
    for view in ("a4c", "a2c"):
        window.controller.add_recording(synthetic_echo(12, view=view)[0])
    monkeypatch.setattr(study_actions, "ask_patient_details", lambda parent, h, w, s: (165.0, 60.0, "F"))
    window.study_actions.edit_patient()
    qtbot.wait(20)
    for st in window.study.recordings:
        p = st.recording.patient
        assert (p.height_cm, p.weight_kg, p.sex) == (165.0, 60.0, "F")
    assert window.measurements.cell_text("edv_ml", 2) == "46-106 ml"  # women's echo range (the file said M)
    assert "bsa_m2" in [r[0] for r in window.measurements.rows]
    saved = window.study.to_json(1)
    assert saved["patient_sex"] == "F"
    window.controller.undo_stack.undo()
    qtbot.wait(20)
    assert all(st.recording.patient.sex == "M" and st.recording.patient.height_cm is None
               for st in window.study.recordings)
    assert window.measurements.cell_text("edv_ml", 2) == "62-150 ml"
    window.study.restore_json(1, saved)  # reopened: the typed sex and size come back
    assert window.study[1].recording.patient.sex == "F" and window.study[1].recording.patient.weight_kg == 60.0


def test_indexed_values_follow_the_biplane_values_shown(make_window, qtbot, monkeypatch):
    """Issue 54: with the biplane EDV on screen the panel indexed the A4C's own EDV (the PDF the biplane's)."""
    import app.ui.study_actions as study_actions
    from tests.ui_fixtures import fake_analysis

    window = make_window()
    from dataclasses import replace

    for view, col_mm in (("a4c", 0.5), ("a2c", 0.35)):  # a narrower A2C: the biplane EDV is not the A4C's
        rec, labels = synthetic_echo(24, view=view)
        index = window.controller.add_recording(replace(rec, spacing_mm=(0.5, col_mm)))
        window.study.set_analysis(index, fake_analysis(labels, ed_frames=(0,), es_frames=(12,)))
    monkeypatch.setattr(study_actions, "ask_patient_details", lambda parent, h, w, s: (165.0, 60.0, "F"))
    window.study_actions.edit_patient()
    window.show_recording(0)
    qtbot.wait(20)
    biplane, own = window.study.biplane, window.study[0].measurements
    assert biplane is not None and round(biplane.edv_ml) != round(own.edv_ml)
    bsa = np.sqrt(165.0 * 60.0 / 3600)
    assert window.measurements.cell_text("edv_index_ml_m2") == f"{biplane.edv_ml / bsa:.1f} ml/m²"


def test_about_names_version_models_figures_and_research_use():
    from app import __version__
    from app.ui.study_dialogs import RESEARCH_NOTE, about_html

    html = about_html()
    assert __version__ in html and RESEARCH_NOTE in html
    for model in ("mri_seg", "echo_seg_base", "ed_es", "view"):
        assert model in html
    assert "LV Dice at ED 0.9" in html and "LV EF mean abs. error" in html


def test_close_recording_keeps_its_edits_and_close_study_empties_the_window(make_window, qtbot, tmp_path):
    window = make_window()
    paths = []
    for view in ("a4c", "a2c"):
        path = tmp_path / f"{view}.dcm"
        path.write_bytes(view.encode())
        paths.append(path)
        window.controller.add_recording(synthetic_echo(12, view=view, path=path)[0])
    window.controller.push(study_actions_body_size_edit(0))
    assert window.study_actions.close_recording(0)
    assert len(window.study) == 1 and window.recordings.list.count() == 1
    assert window.study[0].recording.view == "a2c" and window.index == 0
    assert window.controller.undo_stack.count() == 0
    assert "the undo history of the study was cleared" in window.statusBar().currentMessage()  # said, not silent
    rec, _ = synthetic_echo(12, view="a4c", path=paths[0])  # reopen: the autosave brings the edit back
    index = window.controller.add_recording(rec)
    assert window.study[index].recording.patient.height_cm == 170.0
    assert window.study_actions.close_study()
    assert len(window.study) == 0 and window.recordings.list.count() == 0 and window.index is None
    assert window.cine.recording is None


def study_actions_body_size_edit(index):
    from app.workflow.study_edits import PatientDetailsEdit

    return PatientDetailsEdit(170.0, 70.0, "")


def test_la_volume_biplane_area_length_from_the_traced_atrium(make_window, qtbot, monkeypatch):
    import app.ui.study_actions as study_actions
    from app.workflow.la_volume import area_length_ml
    from tests.ui_fixtures import fake_analysis

    window = make_window()
    truth = {}
    for view in ("a4c", "a2c"):
        rec, labels = synthetic_echo(24, view=view)
        index = window.controller.add_recording(rec)
        window.study.set_analysis(index, fake_analysis(labels, ed_frames=(0,), es_frames=(12,)))
        truth[view] = labels[12] == 3
    qtbot.wait(20)
    la = window.study.la
    assert la is not None
    area_mm2 = truth["a4c"].sum() * 0.25  # 0.5 mm pixels
    rows = np.flatnonzero(truth["a4c"].any(axis=1))
    length_mm = (rows.max() + 1 - 0.68 * 160) * 0.5  # annulus row to the atrium's far end
    assert la.area_a4c_mm2 == pytest.approx(area_mm2, rel=0.05)
    assert la.length_mm == pytest.approx(length_mm, rel=0.1)
    assert la.volume_ml == pytest.approx(area_length_ml(area_mm2, area_mm2, length_mm), rel=0.15)
    assert la.volume_ml == pytest.approx(8 / (3 * np.pi) * la.area_a4c_mm2 * la.area_a2c_mm2 / la.length_mm / 1000)
    assert window.measurements.cell_text("la_volume_ml") == f"{la.volume_ml:.0f} ml"
    assert "la_volume_index_ml_m2" not in [r[0] for r in window.measurements.rows]  # no BSA yet
    monkeypatch.setattr(study_actions, "ask_patient_details", lambda parent, h, w, s: (100.0, 10.0, "F"))
    window.study_actions.edit_patient()  # a small child: BSA 0.53 m2
    qtbot.wait(20)
    bsa = np.sqrt(100.0 * 10.0 / 3600)
    assert window.measurements.cell_text("la_volume_index_ml_m2") == f"{la.volume_ml / bsa:.0f} ml/m²"
    assert window.measurements.cell_text("la_volume_index_ml_m2", 2) == "<= 34 ml/m2"
    assert window.measurements.cell_text("la_volume_index_ml_m2", 3) == ""  # 6 ml/m2: normal
    assert (
        classify("la_volume_index_ml_m2", 40.0, "F") == "high" and classify("la_volume_index_ml_m2", 34.0) == "normal"
    )
    assert reference_range("la_volume_index_ml_m2", "", "mri") is None  # an echo range
    # a hand calibration of a view it is traced on changes it (mm): marked edited on screen and in the report
    from app.report.build import _la_rows
    from app.workflow.edits import CalibrationEdit

    assert not la.edited and "edited" not in window.measurements.cell_text("la_volume_ml", 3)
    window.controller.push(CalibrationEdit(0, (0.55, 0.55)))
    qtbot.wait(20)
    assert window.study.la.edited and window.study.la.volume_ml > la.volume_ml
    assert "edited" in window.measurements.cell_text("la_volume_ml", 3)
    rows = _la_rows(window.study.la, window.study[0].recording.patient, "F")
    assert [row.key for row in rows if row.edited] == ["la_volume_ml", "la_volume_index_ml_m2"]


def test_mri_pdf_has_cmr_mass_range_and_no_echo_strain_words(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))  # report_fixtures, as test_report_pdf imports it
    from pypdf import PdfReader
    from report_fixtures import synthetic_stack_analysis

    from app.report.build import report_from_analyses
    from app.report.pdf import write_pdf

    report = report_from_analyses([synthetic_stack_analysis()])  # a male patient
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["lv_mass_g"].reference == "92-176 g"  # CMR, men
    text = "\n".join(p.extract_text() for p in PdfReader(write_pdf(report, tmp_path / "mri.pdf")).pages)
    assert "92-176 g" in text
    for word in ("Longitudinal strain", "bullseye", "A4C", "A2C"):
        assert word not in text, word


def test_la_volume_single_plane_when_only_one_view_has_a_traced_atrium(make_window, qtbot):
    from tests.ui_fixtures import fake_analysis

    window = make_window()
    rec, labels = synthetic_echo(24, view="a4c")
    index = window.controller.add_recording(rec)
    window.study.set_analysis(index, fake_analysis(labels, ed_frames=(0,), es_frames=(12,)))
    window.show_recording(index)
    qtbot.wait(20)
    la = window.study.la
    assert la is not None and la.views == ("a4c",) and la.method == "single-plane area-length (A4C)"
    assert la.volume_ml == pytest.approx(8 / (3 * np.pi) * la.area_a4c_mm2 ** 2 / la.length_mm / 1000)
    labels_shown = {r[0]: r[1] for r in window.measurements.rows}
    assert labels_shown["la_volume_ml"] == "LA volume (single-plane A4C)"
    assert window.measurements.cell_text("la_volume_ml") == f"{la.volume_ml:.0f} ml"


def test_join_single_phase_stacks_gives_the_pair_ef(make_window, qtbot, tmp_path):
    """ED and ES stored one file each (ACDC's frameED / frameES): Analysis ▸ Join one-phase recordings makes one
    stack of both phases, whose analysis has EDV, ESV and EF; the single-phase recordings close."""
    cine, labels = tapered_stack()
    window = make_window()
    for name, t in (("frame_es.nii.gz", 4), ("frame_ed.nii.gz", 0)):
        path = tmp_path / name
        path.write_bytes(name.encode())
        phase = dataclasses.replace(cine, frames=cine.frames[:, t:t + 1].copy(), frame_times_s=np.zeros(1),
                                    source_path=path, series_description=name)
        window.controller.add_recording(phase)
    window.study_actions.hint_join()
    assert "Join one-phase recordings" in window.statusBar().currentMessage()
    assert window.study_actions.join_phases()
    assert len(window.study) == 1 and window.recordings.list.count() == 1
    joined = window.study[0].recording
    assert joined.frames.shape[:2] == (4, 2) and joined.frame_times_nominal
    assert "2 frames · timing unknown" in window.header.text()  # not the nominal 25 fps
    window.cine.set_frame(1)
    assert window.cine.frame_label.text() == "frame 1 of 0–1"  # no made-up 40 ms
    pair = np.concatenate([labels[:, 4:5], labels[:, 0:1]], axis=1)
    window.controller.segmenter_for = lambda r: (lambda rr: pair)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
    m = window.study[0].measurements
    assert m.ed_frames == (1,) and m.es_frames == (0,) and m.edv_ml > m.esv_ml > 0 and 10 < m.ef_pct < 90
    assert not window.study_actions.join_phases()  # nothing left to join: a message, no change
    assert "open two or more" in window.statusBar().currentMessage() and len(window.study) == 1


def test_join_refuses_stacks_of_another_geometry(make_window, tmp_path):
    cine, _ = tapered_stack()
    window = make_window()
    for name, slices in (("a.nii.gz", 4), ("b.nii.gz", 3)):
        phase = dataclasses.replace(cine, frames=cine.frames[:slices, :1].copy(), frame_times_s=np.zeros(1),
                                    source_path=tmp_path / name)
        window.controller.add_recording(phase)
    assert not window.study_actions.join_phases()
    assert "4 slices against 3" in window.statusBar().currentMessage() and len(window.study) == 2


def test_a_basal_rv_left_out_as_atrium_is_flagged_on_the_frame_counter(make_window, qtbot):
    """The network's labels finished as the app finishes them (app.ml.mri_inference.finish_stack): the basal RV
    that shrinks and tapers in systole is left out as right atrium; the frame counter of those phases shows the
    flag mark and says why in its tooltip, the others do not."""
    from app.ml.mri_inference import MriSegmentation, finish_stack
    from app.ui.cine_view import FLAG_MARK

    rec, labels = tapered_stack()
    raw = labels.copy()
    shape = raw.shape[-2:]
    for t in (3, 4, 5):  # around ES (phase 4): only a small piece of RV left on the basal slice
        plane = raw[0, t]
        plane[plane == 3] = 0
        plane[_disk(shape, (32, 50), 3.5) & (plane == 0)] = 3
    finished, regions, _ = finish_stack(raw)
    assert sorted({r.phase for r in regions}) == [3, 4, 5] and {r.slice_index for r in regions} == {0}
    window = make_window()
    window.controller.segmenter_for = lambda r: (lambda rr: MriSegmentation(finished, np.ones(finished.shape[:2]),
                                                                             (32.0, 26.0), regions))
    window.controller.add_recording(rec)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
    st = window.study[0]
    assert st.contour((0, 4), "rv") is None and st.contour((0, 0), "rv") is not None
    qtbot.wait(30)  # the window's coalesced refresh
    window.cine.set_frame(4)
    assert window.cine.frame_label.text().endswith(FLAG_MARK)
    assert "RV of basal slice 1 left out as right atrium" in window.cine.frame_label.toolTip()
    assert set(st.analysis.rv_left_out) == {(0, 3), (0, 4), (0, 5)}
    window.recordings.slice.setValue(1)  # the basal slice (1 = base): the region left out is drawn dashed
    qtbot.wait(20)
    xs, _ = window.overlays.atrium.getData()
    assert xs is not None and len(xs) > 10 and window.overlays.items["rv"].getData()[0] is None
    window.tools.overlay_boxes["rv"].setChecked(False)  # toggled with the RV layer
    assert not window.overlays.atrium.isVisible()
    window.tools.overlay_boxes["rv"].setChecked(True)
    window.cine.set_frame(0)  # end-diastole keeps its basal RV (this synthetic stack's other flags aside)
    assert "right atrium" not in window.cine.frame_label.toolTip()
    assert window.overlays.atrium.getData()[0] is None and len(window.overlays.items["rv"].getData()[0]) > 10
    # reopened from the autosave: the flags and the dashed regions come back
    import json

    saved = json.loads(json.dumps(window.study.to_json(0)))
    assert [item["frame"] for item in saved["rv_left_out"]] == [3, 4, 5] and "4" in saved["segmenter_flags"]
    window.study.restore_json(0, saved)
    qtbot.wait(20)
    st = window.study[0]
    assert set(st.analysis.rv_left_out) == {(0, 3), (0, 4), (0, 5)}
    assert any("right atrium" in f for f in st.measurements.quality[4])
    window.cine.set_frame(4)
    assert window.cine.frame_label.text().endswith(FLAG_MARK) and len(window.overlays.atrium.getData()[0]) > 10
    # the reader disagrees: the RV drawn back on the basal slice at ES counts again
    from app.workflow.splines import control_from_dense

    window.tools.kind.setCurrentIndex([window.tools.kind.itemData(i) for i in range(window.tools.kind.count())]
                                      .index("rv"))
    assert window.editor.key == (0, 4) and window.editor.contour is None
    rv_esv = st.measurements.rv_volume_curve_ml[4]
    angle = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    drawn = np.column_stack([50 + 4 * np.cos(angle), 32 + 4 * np.sin(angle)])  # (x, y) px, where the piece was
    window.editor.edit_requested.emit("rv", control_from_dense(drawn, True), "redraw rv")
    qtbot.waitUntil(lambda: not window.edits.propagation.busy(), timeout=20000)
    assert st.contour((0, 4), "rv") is not None
    assert st.measurements.rv_volume_curve_ml[4] > rv_esv + 0.3  # 50 px x 2.25 mm² x 8 mm = 0.9 ml
    qtbot.wait(20)
    assert window.overlays.atrium.getData()[0] is None  # the reader's RV replaces the dashed region


def test_the_frame_counter_marks_only_flagged_frames(make_window, qtbot):
    from app.ui.cine_view import FLAG_MARK

    window = make_window()
    rec, _ = tapered_stack()
    window.cine.set_recording(rec)
    window.cine.set_frame_flags([()] * 3 + [("area-jump", "low-confidence")] + [()] * 4)
    window.cine.set_frame(3)
    assert window.cine.frame_label.text().endswith(FLAG_MARK)
    assert window.cine.frame_label.toolTip().splitlines()[1:] == ["• area-jump", "• low-confidence"]
    window.cine.set_frame(2)
    assert FLAG_MARK not in window.cine.frame_label.text() and window.cine.frame_label.toolTip() == ""
    window.cine.set_recording(tapered_stack()[0])  # another recording: no flags until its measurements come
    window.cine.set_frame(3)
    assert FLAG_MARK not in window.cine.frame_label.text()
