"""Where the heart rate comes from, said wherever it is shown: the trusted beats' length, else the file's own
value (the scanner's ECG), never the file's value labelled as measured ("beat length"), and a note when the
clip's own beats contradict the file. Truth: exact label maps of a beating LV at 30 Hz and 72 bpm."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.analysis.contours import extract_all
from app.report.build import measurement_rows
from app.workflow.analyze import measure
from app.workflow.results import HR_FROM_BEATS, HR_FROM_FILE
from app.workflow.study_result import compose_study
from tests.test_pipeline_synthetic import FPS, HR, beating_labels, recording_for

FILE_HR_BPM = 64.0  # the header's value, deliberately not the clip's 72


@pytest.fixture(scope="module")
def beating():
    labels = beating_labels(n_frames=90)[0]
    return labels, extract_all(labels)


def _hr_row(m):
    return next(r for r in measurement_rows(m, "echo", None) if r.key == "heart_rate_bpm")


def test_the_beats_give_the_heart_rate_when_they_can(beating):
    labels, contours = beating
    m = measure(replace(recording_for(labels), heart_rate_bpm=FILE_HR_BPM), contours)
    assert m.heart_rate_bpm == pytest.approx(HR, rel=0.05) and m.heart_rate_source == HR_FROM_BEATS
    assert _hr_row(m).method == "beat length" and m.to_json_dict()["heart_rate_source"] == "beats"
    assert not any("file's own value" in n for n in m.notes)


def test_a_file_without_frame_timing_shows_its_own_heart_rate_as_the_files(beating):
    labels, contours = beating
    rec = replace(recording_for(labels), heart_rate_bpm=FILE_HR_BPM, frame_times_nominal=True)
    m = measure(rec, contours)
    assert m.heart_rate_bpm == FILE_HR_BPM and m.heart_rate_source == HR_FROM_FILE
    assert _hr_row(m).method == "from the file (scanner)"
    assert _hr_row(m).label == "Heart rate (the file's)"  # page 1 prints the label, not the method column
    assert any(n.startswith("the file gives no frame timing: heart rate not measured (the 64 bpm shown is the "
                            "file's own value)") for n in m.notes)
    without = measure(replace(rec, heart_rate_bpm=None), contours)
    assert without.heart_rate_bpm is None and without.heart_rate_source == ""
    assert _hr_row(without).method == "" and without.to_json_dict()["heart_rate_source"] is None


def test_beats_too_slow_to_trust_fall_back_to_the_file_with_a_note(beating):
    """A frame time ten times too long: every RR is implausible, no beat is trusted, the file's 64 bpm is shown
    as the file's, and the note names the clip's own rate (7 bpm) so the reader checks the timing."""
    labels, contours = beating
    rec = recording_for(labels)
    slow = replace(rec, frame_times_s=np.asarray(rec.frame_times_s) * 10.0, heart_rate_bpm=FILE_HR_BPM)
    m = measure(slow, contours)
    assert not any(b.trusted for b in m.beats) and m.ef_pct is None
    assert m.heart_rate_bpm == FILE_HR_BPM and m.heart_rate_source == HR_FROM_FILE
    assert any(n == f"the heart rate shown (64 bpm) is the file's own value; the clip's beats give "
                    f"{HR / 10:.0f} bpm: check the file's frame timing" for n in m.notes)


def test_a_file_rate_within_a_quarter_of_the_beats_needs_no_note(beating):
    labels, contours = beating
    rec = recording_for(labels)
    # frames 1.2x slower: RR 1.0 s is still trusted, so the beats give the rate (60 bpm), not the file
    slow = replace(rec, frame_times_s=np.asarray(rec.frame_times_s) * (FPS / 25.0), heart_rate_bpm=FILE_HR_BPM)
    assert measure(slow, contours).heart_rate_source == HR_FROM_BEATS
    from app.workflow.measure_notes import file_heart_rate_note

    beats = measure(rec, contours).beats
    assert file_heart_rate_note(beats, HR * 1.24) == () and file_heart_rate_note(beats, HR / 1.24) == ()
    assert file_heart_rate_note(beats, HR * 1.26) != () and file_heart_rate_note(beats, HR / 1.26) != ()
    assert file_heart_rate_note(beats, None) == ()


def test_the_biplane_heart_rate_prefers_measured_beats_to_a_files_value(beating):
    labels, contours = beating
    a4c = recording_for(labels)
    a2c = replace(recording_for(labels, view="a2c"), heart_rate_bpm=FILE_HR_BPM, frame_times_nominal=True)
    triples = [(r, contours, measure(r, contours)) for r in (a4c, a2c)]
    bi = compose_study(triples).measurements.biplane
    assert bi is not None and bi.heart_rate_source == HR_FROM_BEATS
    assert bi.heart_rate_bpm == pytest.approx(triples[0][2].heart_rate_bpm)


def test_the_files_heart_rate_is_never_marked_edited(beating):
    """An ES added or removed changes the beats measured, not a rate read from the file: it had been starred."""
    labels, contours = beating
    rec = replace(recording_for(labels), heart_rate_bpm=FILE_HR_BPM, frame_times_nominal=True)
    m = measure(rec, contours, edited={"cycles", "edv_ml", "heart_rate_bpm"})
    assert m.heart_rate_source == HR_FROM_FILE and "heart_rate_bpm" not in m.edited and "edv_ml" in m.edited
    assert not _hr_row(m).edited
    timed = measure(replace(rec, frame_times_nominal=False), contours, edited={"cycles", "heart_rate_bpm"})
    assert timed.heart_rate_source == HR_FROM_BEATS and "heart_rate_bpm" in timed.edited


def test_a_view_pair_recorded_at_different_heart_rates_is_said_on_page_one(beating, tmp_path):
    """An A4C at one heart rate and an A2C at another (71 and 100 bpm: exercise, an arrhythmia, another day) made a
    biplane EF with no word, and a study heart rate, their mean, the patient never had. Rates within a quarter of
    each other (one calm exam) need no note."""
    from pypdf import PdfReader

    from app.report.build import report_from_analyses
    from app.report.pdf import write_pdf
    from app.workflow.results import RecordingAnalysis

    labels, contours = beating
    a4c = recording_for(labels)
    a2c = replace(recording_for(labels, view="a2c"), frame_times_s=np.asarray(a4c.frame_times_s) * 0.7)
    triples = [(r, contours, measure(r, contours)) for r in (a4c, a2c)]
    rates = [m.heart_rate_bpm for _, _, m in triples]
    assert rates[1] == pytest.approx(rates[0] / 0.7, rel=0.01)
    study = compose_study(triples)
    said = [n for n in study.notes if "different heart rates" in n]
    assert said == [f"the A4C and A2C clips were recorded at different heart rates ({rates[0]:.0f} and "
                    f"{rates[1]:.0f} bpm): the biplane volumes and EF combine beats of different filling, and the "
                    "study's heart rate is their mean"]
    assert said[0] in study.biplane.notes
    analyses = [RecordingAnalysis(recording=r, labels=labels, measurements=m, contours=contours,
                                  confidence=np.full(r.n_frames, np.nan))
                for r, _, m in triples]
    report = report_from_analyses(analyses)
    assert report.study_notes == study.notes
    page1 = " ".join(PdfReader(str(write_pdf(report, tmp_path / "r.pdf"))).pages[0].extract_text().split())
    assert "recorded at different heart rates" in page1
    calm = replace(a2c, frame_times_s=np.asarray(a4c.frame_times_s) * 0.85)  # 18 % faster: no note
    assert compose_study([triples[0], (calm, contours, measure(calm, contours))]).notes == ()
