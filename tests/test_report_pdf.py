"""The PDF report: opens, holds the exported values, renders, flags, anonymises, A4 and Letter."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from report_fixtures import synthetic_analysis, synthetic_strain

from app.report.build import report_from_analyses
from app.report.exports import measurements_dict
from app.report.pdf import write_pdf


def pdf_text(path: Path) -> str:
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture(scope="module")
def one_view():
    return synthetic_analysis(view="a4c", path=Path("/study/patient42/a4c_clip.dcm"))


@pytest.fixture(scope="module")
def three_views():
    from app.workflow.study_result import compose_study

    out = []
    for i, view in enumerate(("a4c", "a2c", "a3c")):
        a = synthetic_analysis(view=view, seed=i, path=Path(f"/study/{view}.dcm"))
        out.append(replace(a, strain=synthetic_strain(a, weak_segment=2 if view == "a2c" else None)))
    return out, compose_study(out).measurements


def test_pdf_text_holds_every_value_of_the_json(tmp_path, one_view):
    report = report_from_analyses([one_view], comment="Apical window limited; reviewed by J.D.")
    path = write_pdf(report, tmp_path / "r.pdf")
    text = pdf_text(path)
    data = json.loads(json.dumps(measurements_dict(report)))
    rows = data["recordings"][0]["measurements"]
    numeric = {k: r for k, r in rows.items() if r["value"] is not None}
    assert {"edv_ml", "esv_ml", "sv_ml", "ef_pct", "heart_rate_bpm"} <= set(numeric)
    for key, row in numeric.items():
        assert float(row["text"]) == pytest.approx(row["value"]), key
        assert row["text"] in text, f"{key} = {row['text']} missing from the PDF"
    for beat in data["recordings"][0]["beats"]:
        assert f"{beat['ef_pct']:.1f}" in text
    assert "Apical window limited; reviewed by J.D." in text
    assert "Research use only, not for diagnosis." in text
    assert "Doe^Jane" in text and "CT-0042" in text and "a4c_clip.dcm" in text


def test_pdf_numbers_match_the_analysis(one_view, tmp_path):
    m = one_view.measurements
    report = report_from_analyses([one_view])
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["ef_pct"].value == pytest.approx(m.ef_pct)
    assert rows["edv_ml"].value == pytest.approx(m.edv_ml)
    # the synthetic heart's EF is below the female range 54-74 %: flagged low and printed so
    assert m.ef_pct < 54 and rows["ef_pct"].flag == "low" and rows["ef_pct"].reference == "54-74 %"
    text = pdf_text(write_pdf(report, tmp_path / "r.pdf"))
    assert "LOW" in text and "54-74 %" in text
    assert "Longitudinal strain: not computed." in text
    assert "bullseye" in text and "missing: A2C, A3C, A4C" in text


@pytest.mark.parametrize("size, expected", [("A4", (595.3, 841.9)), ("Letter", (612.0, 792.0))])
def test_page_sizes(tmp_path, one_view, size, expected):
    path = write_pdf(report_from_analyses([one_view]), tmp_path / f"{size}.pdf", size)
    box = PdfReader(str(path)).pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(expected, abs=0.5)


def test_unknown_page_size_is_refused(tmp_path, one_view):
    with pytest.raises(ValueError, match="page size"):
        write_pdf(report_from_analyses([one_view]), tmp_path / "x.pdf", "A5")
    assert not (tmp_path / "x.pdf").exists()


def test_anonymised_report_hides_identity(tmp_path, one_view):
    text = pdf_text(write_pdf(report_from_analyses([one_view], anonymise=True), tmp_path / "anon.pdf"))
    assert "Doe^Jane" not in text and "CT-0042" not in text and "Test Hospital" not in text
    assert "1960" not in text
    assert "Anonymised" in text


def test_an_anonymised_report_flags_against_the_ranges_of_the_patients_sex_and_says_when_sex_is_unknown(
        tmp_path, one_view):
    """Anonymising takes identifiers away, not the sex the ranges rest on (DICOM's Retain Patient Characteristics,
    as the DICOM results keep PatientSex): the anonymised copy's flags are the signed report's. Without a sex the
    ranges span both sexes', and page 1 says so."""
    from app.data.recording import PatientInfo

    signed, anonymised = (report_from_analyses([one_view], anonymise=a) for a in (False, True))
    rows = [(r.key, r.reference, r.flag) for r in signed.recordings[0].measurements]
    assert rows == [(r.key, r.reference, r.flag) for r in anonymised.recordings[0].measurements]
    assert dict((k, ref) for k, ref, _ in rows)["edv_ml"] == "46-106 ml"  # the female range
    assert anonymised.patient.sex == "F" and anonymised.patient.name == "Anonymous"
    note = "The patient's sex is not given"
    assert note not in " ".join(pdf_text(write_pdf(anonymised, tmp_path / "anon.pdf")).split())
    rec = replace(one_view.recording, patient=PatientInfo(name="Doe^Jane"))
    unknown = report_from_analyses([replace(one_view, recording=rec)])
    assert dict((r.key, r.reference) for r in unknown.recordings[0].measurements)["edv_ml"] == "46-150 ml"
    assert note in " ".join(pdf_text(write_pdf(unknown, tmp_path / "unknown.pdf")).split())


def test_one_views_gls_is_named_by_its_view_and_poor_tracking_under_it_is_said_on_page_one(tmp_path, one_view):
    from app.report.build import recording_section

    weak = replace(one_view, strain=synthetic_strain(one_view, weak_segment=2))
    section = recording_section(weak)
    assert {r.key: r.label for r in section.measurements}["gls_pct"] == "GLS, A4C view"
    segment = weak.strain.segment_names[2].replace("_", " ")
    caveat = (f"the GLS rests on strain tracking judged poor in 1 of 6 segments ({segment}): check the tracking in "
              "the cine")
    assert caveat in section.contour_caveats
    assert not any("strain tracking" in c for c in recording_section(
        replace(one_view, strain=synthetic_strain(one_view))).contour_caveats)
    text = " ".join(pdf_text(write_pdf(report_from_analyses([weak]), tmp_path / "weak.pdf")).split())
    assert caveat in text[:text.index("Conclusion")]  # page 1, above the signature


def test_page_one_says_when_one_views_values_are_judged_against_biplane_ranges(tmp_path, one_view, three_views):
    """The guideline's LV volume, EF and LA index ranges are biplane: page 1 says when it shows one view's."""
    lv = "LV volumes and EF from A4C are one view's (monoplane method of discs)"
    la = "The LA volume is one view's (single-plane area-length)"
    text = " ".join(pdf_text(write_pdf(report_from_analyses([one_view]), tmp_path / "one.pdf")).split())
    page_one = text[:text.index("Conclusion")]
    assert lv in page_one and la in page_one
    analyses, study = three_views
    text = " ".join(pdf_text(write_pdf(report_from_analyses(analyses, study=study), tmp_path / "bi.pdf")).split())
    assert "one view's" not in text[:text.index("Conclusion")]  # biplane volumes, EF and LA volume


def test_page_one_says_a_childs_values_are_judged_against_adult_ranges(tmp_path, one_view):
    from app.data.recording import PatientInfo

    assert PatientInfo(birth_date="20140602", study_date="20261120").age_years() == 12
    assert PatientInfo(birth_date="20141121", study_date="20261120").age_years() == 11  # a day before the birthday
    assert PatientInfo(birth_date="", study_date="20261120").age_years() is None
    assert PatientInfo(birth_date="20270101", study_date="20261120").age_years() is None
    child = replace(one_view.recording, patient=replace(one_view.recording.patient, birth_date="20140602"))
    for anonymise in (False, True):  # the birth date goes, the age's note stays
        report = report_from_analyses([replace(one_view, recording=child)], anonymise=anonymise)
        text = " ".join(pdf_text(write_pdf(report, tmp_path / "child.pdf")).split())
        assert "The patient was 12 years old at the study: the ranges shown are adults', not a child's." in text
    text = " ".join(pdf_text(write_pdf(report_from_analyses([one_view]), tmp_path / "adult.pdf")).split())
    assert "years old" not in text  # born 1960


def test_edited_values_are_marked(tmp_path, one_view):
    edited = one_view.with_measurements(one_view.measurements.with_edited({"edv_ml", "ef_pct"}))
    report = report_from_analyses([edited])
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["edv_ml"].edited and rows["ef_pct"].edited and not rows["esv_ml"].edited
    text = pdf_text(write_pdf(report, tmp_path / "e.pdf"))
    assert f"{rows['edv_ml'].text} *" in text
    assert "values affected: EDV, EF" in text and "edv_ml" not in text  # "Edited by hand", in plain words


def test_uncalibrated_recording_reports_no_volumes(tmp_path, one_view):
    rec = replace(one_view.recording, calibrated=False, spacing_mm=(1.0, 1.0))
    from app.workflow.analyze import measure

    m = measure(rec, one_view.contours)
    report = report_from_analyses([replace(one_view, recording=rec, measurements=m)])
    rows = {r.key: r for r in report.recordings[0].measurements}
    assert rows["edv_ml"].value is None and rows["ef_pct"].value is not None
    text = pdf_text(write_pdf(report, tmp_path / "u.pdf"))
    assert "not computed" in text and "NOT calibrated" in text and "uncalibrated" in text


def test_three_apical_views_give_strain_and_bullseye(tmp_path, three_views):
    analyses, study = three_views
    report = report_from_analyses(analyses, study=study)
    assert report.bullseye_pct is not None
    assert all(report.bullseye_pct[n] is not None for n in range(1, 18))
    assert 15 in report.bullseye_unreliable  # A2C apical inferior failed its tracking quality
    text = pdf_text(write_pdf(report, tmp_path / "three.pdf"))
    assert "17-segment bullseye" in text and "AHA 17 segments" in text
    assert f"{report.bullseye_pct[15]:.0f}?" in text
    assert "EF (biplane)" in text and f"{study.biplane.ef_pct:.1f}" in text
    assert "GLS (mean of 3 apical" in text
    gls = [r for r in report.recordings[0].measurements if r.key == "gls_pct"][0]
    assert gls.text in text and gls.method == "speckle tracking"
    assert "(low quality)" in text


def test_model_versions_come_from_metadata(tmp_path, one_view):
    folder = tmp_path / "models" / "echo_seg_temporal"
    folder.mkdir(parents=True)
    from tests.model_cards import card

    meta = {**card("ConvLSTMUNet", {"channels": [4, 8]}), "name": "echo_seg_temporal", "stored_dtype": "float16",
            "n_parameters": 1}
    meta["provenance"]["sha256"] = "ab12cd34ef56" + "0" * 52
    (folder / "metadata.json").write_text(json.dumps(meta))
    (folder / "model.pt").write_bytes(b"x")
    report = report_from_analyses([one_view], models_root=tmp_path / "models")
    text = pdf_text(write_pdf(report, tmp_path / "m.pdf"))
    assert "echo_seg_temporal" in text and "ab12cd34ef56" in text and "ConvLSTM U-Net" in text


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pages_render_to_png(tmp_path, three_views):
    analyses, study = three_views
    path = write_pdf(report_from_analyses(analyses, study=study), tmp_path / "r.pdf")
    n_pages = len(PdfReader(str(path)).pages)
    proc = subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Error" not in proc.stderr, proc.stderr
    pngs = sorted(tmp_path.glob("page*.png"))
    assert len(pngs) == n_pages >= 2
    from PIL import Image

    for png in pngs:
        pixels = np.asarray(Image.open(png).convert("L"))
        assert pixels.min() < 100  # something is drawn on every page


def test_mri_stack_report_has_mass_and_slice_summation(tmp_path):
    from report_fixtures import synthetic_stack_analysis

    analysis = synthetic_stack_analysis()
    report = report_from_analyses([analysis])
    rec = report.recordings[0]
    rows = {r.key: r for r in rec.measurements}
    assert rows["lv_mass_g"].value == pytest.approx(analysis.measurements.lv_mass_g)
    # CMR ranges (Kawel-Boehm 2015's pooled SSFP), not the echo ones (this patient is male)
    assert analysis.recording.patient.sex == "M"
    assert rows["edv_ml"].method == "slice summation (papillary muscles as cavity)"
    assert rows["edv_ml"].reference == "106-214 ml"
    assert "at ED (papillary muscles as cavity)" in rows["lv_mass_g"].method
    assert rows["rv_edv_ml"].value is None and rows["rv_ef_pct"].reference == "52-80 %"  # no RV in these labels
    assert "gls_pct" not in rows  # no longitudinal strain row for a short-axis stack
    assert rec.figures and all(f.closed.get("endo") for f in rec.figures)
    text = pdf_text(write_pdf(report, tmp_path / "mri.pdf"))
    assert rows["lv_mass_g"].text in text and "slice 3/4" in text and "slice summation" in text


def test_strain_failure_is_reported_not_fatal(tmp_path, one_view):
    from app.tasks import run_task
    from app.workflow.strain_step import strain_step

    no_myo = np.where(one_view.labels == 2, 0, one_view.labels).astype(np.uint8)
    broken = run_task(strain_step(replace(one_view, labels=no_myo)))
    assert broken.strain is None and broken.strain_error
    report = report_from_analyses([broken])
    assert any(line.startswith("strain not computed:") for line in report.recordings[0].quality_flags)
    text = pdf_text(write_pdf(report, tmp_path / "s.pdf"))
    assert "strain not computed:" in text and "Longitudinal strain: not computed." in text


def test_the_report_says_why_volumes_are_missing(tmp_path):
    """The LV found in 2 of 20 phases of a stack: no EF in the report, and its quality section says why."""
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from tests.test_pipeline_synthetic import sparse_ring_stack

    rec, labels, _ = sparse_ring_stack()
    sparse = np.zeros_like(labels)
    sparse[:, [9, 11]] = labels[:, [9, 11]]
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: sparse))
    assert analysis.measurements.ef_pct is None
    text = " ".join(pdf_text(write_pdf(report_from_analyses([analysis]), tmp_path / "r.pdf")).split())
    assert "the LV was found in only 2 of 20 frames: no EDV/ESV/EF" in text


def test_page_one_is_a_summary_to_sign(tmp_path, three_views):
    analyses, study = three_views
    report = report_from_analyses(analyses, study=study, comment="Normal LV size and function.",
                                  reviewer="Dr A. Reviewer")
    reader = PdfReader(str(write_pdf(report, tmp_path / "sign.pdf")))
    page1 = reader.pages[0].extract_text()
    ef = next(r for r in report.study_rows if r.key == "ef_pct")
    for needle in ("Summary", "EF (biplane)", f"{study.biplane.ef_pct:.1f}", "GLS (mean of 3 apical", ef.reference,
                   "Conclusion", "Normal LV size and function.", "Reviewed by", "Dr A. Reviewer", "Signature"):
        assert needle in page1, needle
    assert "Measurements per recording" not in page1 and "Beats" not in page1  # the details come after
    rest = "\n".join(p.extract_text() for p in reader.pages[1:])
    assert "Measurements per recording" in rest and "Appendix: software and models" in rest
    assert "Peak systolic strain, " in rest
    assert "val_" not in rest and "epe" not in rest  # provenance in plain words


def test_edited_phrases_and_report_file_name():
    from app.data.recording import PatientInfo
    from app.report.plain_words import contour_source, edited_phrases, report_file_name

    assert edited_phrases({"es_contours", "esv_ml", "sv_ml", "ef_pct"}) == ["end-systolic contours edited",
                                                                            "values affected: ESV, SV, EF"]
    assert edited_phrases({"es_frames", "esv_ml", "sv_ml", "ef_pct"})[0] == "ES frames set by hand"
    # what was edited is named, never guessed from the values it changed (an ES removed had read as an ED contour
    # edited; a slice left out as both contours edited)
    assert edited_phrases({"cycles", "edv_ml", "heart_rate_bpm"})[:1] == [
        "an ES mark added or removed by hand: the beats measured changed"]
    assert edited_phrases({"excluded_slices", "edv_ml", "esv_ml", "lv_mass_g"})[:1] == [
        "short-axis slices left out of the volumes and mass by hand"]
    assert not any("contours" in p for p in edited_phrases({"cycles", "excluded_slices", "edv_ml", "esv_ml"}))
    # An echo report lists only the values it prints (a contour edit's closure also names RV values and FAC).
    closure = {"edv_ml", "esv_ml", "sv_ml", "ef_pct", "fac_pct", "rv_edv_ml", "rv_ef_pct", "gls_pct"}
    assert edited_phrases(closure, shown={"edv_ml", "esv_ml", "sv_ml", "ef_pct", "gls_pct"})[-1] == \
        "values affected: EDV, ESV, SV, EF, GLS"
    assert contour_source("labels:a4c.truth.npz") == "labels from a4c.truth.npz"
    assert contour_source("echo_seg_base + label hysteresis 0.2", edited=True).endswith(
        "label hysteresis 0.2, corrected by hand")
    patient = PatientInfo(name="Doe^John", patient_id="7", study_date="20250101")
    assert report_file_name(patient, "echo") == "Doe_John_2025-01-01_echo_report.pdf"
    assert report_file_name(PatientInfo(), "mri") == "patient_mri_report.pdf"


def test_page_one_indexes_the_biplane_volumes_to_body_size(tmp_path, three_views):
    """With height and weight, page 1 shows BSA and the biplane EDV/ESV/SV per m² (the study's, not one view's)."""
    from app.analysis.body_size import bsa_mosteller_m2

    analyses, study = three_views
    patient = replace(analyses[0].recording.patient, height_cm=178.0, weight_kg=80.0)
    analyses = [replace(a, recording=replace(a.recording, patient=patient)) for a in analyses]
    report = report_from_analyses(analyses, study=study)
    rows = {row.key: (source, row) for source, row in report.summary_rows}
    bsa = bsa_mosteller_m2(178.0, 80.0)
    assert rows["bsa_m2"][0] == "study" and rows["bsa_m2"][1].value == pytest.approx(bsa)
    for key, attr in (("edv_index_ml_m2", "edv_ml"), ("esv_index_ml_m2", "esv_ml"), ("sv_index_ml_m2", "sv_ml")):
        source, row = rows[key]
        assert source == "study" and row.value == pytest.approx(getattr(study.biplane, attr) / bsa)
    page1 = PdfReader(str(write_pdf(report, tmp_path / "i.pdf"))).pages[0].extract_text()
    assert "EDV index" in page1 and f"{study.biplane.edv_ml / bsa:.1f}" in page1
    without = {row.key for _, row in report_from_analyses(three_views[0], study=study).summary_rows}
    assert "bsa_m2" not in without and "edv_index_ml_m2" not in without
    # without a study (one view, or an MR stack) the recording's own indexed values are on page 1
    alone = {row.key: source for source, row in report_from_analyses(analyses[:1]).summary_rows}
    assert alone["bsa_m2"] == alone["edv_index_ml_m2"] == alone["esv_index_ml_m2"] == analyses[0].recording.view.upper()


def test_beats_left_out_of_the_means_are_marked_with_the_reason(tmp_path, one_view):
    """A beat the RR rule did not count (app.analysis.beat_trust) is listed, marked "no", with its reason, so a
    reader does not take its EF for the recording's."""
    m = one_view.measurements
    assert m.beats
    last = m.beats[-1]
    odd = replace(last, trusted=False, why_untrusted="RR 0.24 s outside 0.3-2.0 s")
    analysis = replace(one_view, measurements=replace(m, beats=m.beats[:-1] + (odd,)))
    report = report_from_analyses([analysis])
    text = pdf_text(write_pdf(report, tmp_path / "r.pdf"))
    assert "Counted" in text and "Beats not counted in EDV/ESV/EF" in text
    assert f"beat {len(m.beats)}: RR 0.24 s outside 0.3-2.0 s" in text
    beats = measurements_dict(report)["recordings"][0]["beats"]
    assert [b["counted"] for b in beats] == [True] * (len(beats) - 1) + [False]


def test_page_one_reads_lv_then_rv_then_la_then_heart_rate_and_strain(three_views):
    """The study's LA volume and mean GLS are not put above the LV's EDV/ESV/EF (they were: study rows first)."""
    from app.report.model import _summary_group

    analyses, study = three_views
    keys = [row.key for _, row in report_from_analyses(analyses, study=study).summary_rows]
    assert keys[:4] == ["edv_ml", "esv_ml", "sv_ml", "ef_pct"]
    assert "la_volume_ml" in keys and "gls_pct" in keys and keys.index("la_volume_ml") < keys.index("gls_pct")
    groups = [_summary_group(k) for k in keys]
    assert groups == sorted(groups)
    assert [_summary_group(k) for k in ("lv_mass_g", "rv_ef_pct", "la_volume_index_ml_m2", "heart_rate_bpm")] == [
        0, 1, 2, 3]


def test_the_ed_and_es_figures_show_the_pair_of_a_counted_beat(one_view):
    """A clip's first ES can end a beat cut by the clip's start (an EchoNet clip: ES at frame 19, first ED at 43):
    the report's ED and ES images are the first counted beat's, the pair its EF is measured on."""
    m = one_view.measurements
    (beat,) = m.beats
    early = replace(m, es_frames=(3,) + tuple(m.es_frames))  # an ES before the first ED, in no beat
    figures = report_from_analyses([replace(one_view, measurements=early)]).recordings[0].figures
    assert [(f.label, f.frame_index) for f in figures] == [(f"ED (frame {beat.ed_frame})", beat.ed_frame),
                                                     (f"ES (frame {beat.es_frame})", beat.es_frame)]
    uncounted = replace(early, beats=(replace(beat, trusted=False, why_untrusted="RR"),))
    figures = report_from_analyses([replace(one_view, measurements=uncounted)]).recordings[0].figures
    assert [f.frame_index for f in figures] == [m.ed_frames[0], 3]  # no counted beat: the first ED and ES marked


def test_a_clinical_file_name_and_a_flag_word_are_not_split(tmp_path):
    """An EchoNet-style name (18 hex digits), a strain flagged REDUCED and the unit ml/m² print on one line in
    every table; the flag column was too narrow for the bold word ("REDUC" / "ED") and the name's columns broke
    it."""
    clip = synthetic_analysis(view="a4c", path=Path("/echo/0X108B163EEADDDABC.avi"))
    rec = clip.recording  # with a body size, so the indexed values print their unit, ml/m²
    rec = type(rec)(**{**rec.__dict__, "patient": replace(rec.patient, height_cm=172.0, weight_kg=70.0)})
    clip = replace(clip, recording=rec, strain=synthetic_strain(clip, gls_peak_pct=-12.0))
    report = report_from_analyses([clip])
    gls = next(r for r in report.recordings[0].measurements if r.key == "gls_pct")
    assert gls.flag == "reduced"
    lines = pdf_text(write_pdf(report, tmp_path / "r.pdf")).splitlines()
    assert any("REDUCED" in line for line in lines)
    assert any("EDV index" in r.label for r in report.recordings[0].measurements)
    assert not any(line.rstrip().endswith("ml/") for line in lines)  # the indexed values' unit on one line
    whole = sum(line.count("0X108B163EEADDDABC.avi") for line in lines)
    assert whole >= 2 + len(clip.measurements.beats)  # the recordings table, the values, every beat


def test_a_disputed_view_and_the_files_heart_rate_are_said_on_page_one(tmp_path, one_view):
    """The view classifier's warning is printed beside the values it weakens, and a heart rate the file gave (not
    the beats) is labelled as the file's, not as "beat length"."""
    from app.workflow.results import HR_FROM_FILE
    from app.workflow.view_step import ViewCheck

    warning = "View check: the clip looks like A2C (p 0.93), not A4C as labelled. The analysis keeps A4C."
    shown = replace(one_view, view_check=ViewCheck(view="a2c", probability=0.93, warning=warning),
                    measurements=replace(one_view.measurements, heart_rate_source=HR_FROM_FILE))
    report = report_from_analyses([shown])
    page1 = PdfReader(str(write_pdf(report, tmp_path / "view.pdf"))).pages[0].extract_text()
    assert "looks like A2C (p 0.93), not A4C as labelled" in " ".join(page1.split())
    hr = next(r for r in report.recordings[0].measurements if r.key == "heart_rate_bpm")
    assert hr.method == "from the file (scanner)"
    assert warning in report.recordings[0].quality_flags
    plain = report_from_analyses([one_view])
    assert plain.recordings[0].view_warnings == () and "looks like" not in " ".join(
        PdfReader(str(write_pdf(plain, tmp_path / "plain.pdf"))).pages[0].extract_text().split())


def test_a_failed_segments_strain_does_not_scale_the_strain_chart():
    """0X1E125FF0DBDEDD8E: one segment's failed tracking read +330 % and the chart's axis ran to +400 %, every
    other curve a flat line. The axis follows the global curve and the segments that passed; a dashed (failed)
    segment is cut at the axis' edge."""
    from reportlab.graphics.charts.lineplots import LinePlot

    from app.report.figures import curve_drawing

    t = np.arange(40) / 50.0
    global_pct = -18.0 * np.sin(np.pi * np.arange(40) / 39.0)
    failed = np.linspace(0.0, 330.0, 40)
    drawing = curve_drawing(t, [("global", global_pct), ("good", global_pct * 1.1), ("failed", failed)],
                            include_zero=True, dashed=frozenset({2}))
    plot = next(item for item in drawing.contents if isinstance(item, LinePlot))
    low, high = plot.yValueAxis.valueMin, plot.yValueAxis.valueMax
    assert -25.0 <= low <= -19.8 and 0.0 <= high <= 5.0
    assert max(y for _, y in plot.data[2]) == high and min(y for _, y in plot.data[0]) >= low
    every = curve_drawing(t, [("global", global_pct), ("failed", failed)], include_zero=True)  # none dashed
    assert next(i for i in every.contents if isinstance(i, LinePlot)).yValueAxis.valueMax >= 330.0


def test_curves_of_a_recording_without_frame_timing_are_drawn_over_frames_not_seconds(tmp_path, one_view):
    """An ED/ES pair (or a file with no timing) has nominal frame times: its curve was drawn over an invented
    'time (s)' axis. It is drawn over frame numbers, and a timed clip keeps its seconds."""
    from reportlab.graphics.shapes import String

    from app.report.build import recording_section
    from app.report.figure_pages import _strain_block, _x_axis

    timed = recording_section(one_view)
    untimed = replace(timed, frame_rate_hz=None, strain=None)
    x, label = _x_axis(untimed)
    assert label == "frame" and list(x) == list(range(len(timed.frame_times_s)))
    assert _x_axis(timed)[1] == "time (s)" and np.allclose(_x_axis(timed)[0], timed.frame_times_s)
    strained = replace(timed, frame_rate_hz=None,
                       strain=recording_section(replace(one_view, strain=synthetic_strain(one_view))).strain)
    drawing = _strain_block(strained, 400)[1]
    assert "frame" in [item.text for item in drawing.contents if isinstance(item, String)]


def test_markup_sets_what_the_body_font_lacks_in_the_fallback_font():
    from app.report import styles as st

    if st._fallback_covers() is None:
        pytest.skip("no fallback font (Debian fonts-wqy-zenhei, which `make` installs)")
    assert st.markup("Doe & <Jane>") == "Doe &amp; &lt;Jane&gt;"
    assert st.markup("Dr 山田 (ok)") == f'Dr <font face="{st.FALLBACK_FONT}">山田</font> (ok)'


def test_chinese_japanese_and_korean_names_print_in_a_font_that_has_them(tmp_path, one_view):
    """They had printed as empty boxes (DejaVu Sans has no CJK glyphs): the patient's name unreadable."""
    from app.report import styles as st

    if st._fallback_covers() is None:
        pytest.skip("no fallback font (Debian fonts-wqy-zenhei, which `make` installs)")
    report = report_from_analyses([one_view], comment="正常な左室機能。Normal LV.")
    report = replace(report, patient=replace(report.patient, name="山田^太郎", institution="서울대학교병원"),
                     reviewer="李医生")
    path = write_pdf(report, tmp_path / "cjk.pdf")
    text = pdf_text(path)
    for words in ("山田", "太郎", "서울대학교병원", "李医生", "正常な左室機能。Normal LV."):
        assert words in text
    page = PdfReader(str(path)).pages[0]
    fonts = {str(f["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVu" not in name and "Helvetica" not in name for name in fonts), fonts


def test_the_appendix_says_how_the_strain_was_tracked(tmp_path, three_views):
    """It had said the strain came from the trained models it lists (the motion network) when classical optical
    flow tracked it."""
    analyses, study = three_views
    assert {a.strain.motion for a in analyses} == {"classical"}
    text = " ".join(pdf_text(write_pdf(report_from_analyses(analyses, study=study), tmp_path / "r.pdf")).split())
    assert "The strain was tracked with classical optical flow (DIS), not a trained model." in text
    assert "ED/ES frames and strain come from these trained models" not in text


def test_an_ef_from_a_filling_phase_is_said_on_page_one(tmp_path, one_view):
    """A clip with no systole gives EDV/ESV/EF from its ES -> ED filling phase: said only on page 2, under the
    recording, while page 1 showed the EF plainly."""
    from app.workflow.measure_notes import NO_SYSTOLE_NOTE

    note = f"{NO_SYSTOLE_NOTE}: EDV/ESV/EF from the ES -> ED filling phase"
    shown = replace(one_view, measurements=replace(one_view.measurements, notes=(*one_view.measurements.notes, note)))
    page1 = PdfReader(str(write_pdf(report_from_analyses([shown]), tmp_path / "r.pdf"))).pages[0].extract_text()
    assert "no ED -> ES systole: EDV/ESV/EF from the ES -> ED filling phase" in " ".join(page1.split())


def test_page_one_gives_the_studys_heart_rate_the_viewer_shows_beside_the_biplane_values(three_views):
    """The viewer shows the study's heart rate with the biplane values; page 1 had printed one view's instead (a
    scanner's 68 against the 69 on screen)."""
    analyses, study = three_views
    report = report_from_analyses(analyses, study=study)
    hr = [(where, row) for where, row in report.summary_rows if row.key == "heart_rate_bpm"]
    assert [where for where, _ in hr] == ["study"]
    assert hr[0][1].value == pytest.approx(study.biplane.heart_rate_bpm)


def test_page_one_names_the_file_where_two_recordings_share_a_view(tmp_path):
    """Two A4C clips in one report (two one-phase files not joined, or two clips of one view): each of their rows
    on page 1 says which file it is from, not "A4C" twice; a view seen once is still named by its view."""
    a = synthetic_analysis(view="a4c", seed=0, path=Path("/study/first_a4c.dcm"))
    b = synthetic_analysis(view="a4c", seed=1, path=Path("/study/second_a4c.dcm"))
    c = synthetic_analysis(view="a2c", seed=2, path=Path("/study/only_a2c.dcm"))
    sources = {source for source, row in report_from_analyses([a, b, c]).summary_rows if row.key == "ef_pct"}
    assert {"A4C: first_a4c.dcm", "A4C: second_a4c.dcm", "A2C"} <= sources
    assert "A4C" not in sources


def test_page_one_gives_the_height_weight_and_age_the_ranges_and_indexed_values_rest_on(tmp_path, one_view):
    """The BSA and the indexed values on page 1 came from a height and weight the page did not print (nor the
    measurements JSON), so the signer could not check them; the age, which picks adult ranges, neither."""
    from app.report.exports import measurements_dict

    patient = replace(one_view.recording.patient, height_cm=175.0, weight_kg=80.5)
    analysis = replace(one_view, recording=replace(one_view.recording, patient=patient))
    report = report_from_analyses([analysis])
    page1 = " ".join(PdfReader(str(write_pdf(report, tmp_path / "r.pdf"))).pages[0].extract_text().split())
    assert "Height / weight 175 cm / 80.5 kg" in page1 and f"Age {report.age_years} years" in page1
    exported = measurements_dict(report)["patient"]
    assert (exported["height_cm"], exported["weight_kg"]) == (175.0, 80.5)
    anonymised = report_from_analyses([analysis], anonymise=True)  # patient characteristics stay (PS3.15)
    assert "175 cm / 80.5 kg" in PdfReader(str(write_pdf(anonymised, tmp_path / "a.pdf"))).pages[0].extract_text()
