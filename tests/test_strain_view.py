"""Strain follows the clip's labelled view: a clip with no apical view says why it has no strain (JSON, report,
status bar), and a view set by hand in the viewer tracks the strain in that view's segments or drops it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.report.build import quality_lines
from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from app.workflow.strain_step import why_no_strain
from tests.analysis_synth import phantom_echo
from tests.ui_fixtures import dialogs_seen, make_window  # noqa: F401


def _analysed(view: str):
    case = phantom_echo("a4c")
    recording = case.recording.with_view(view)
    labels = case.truth.labels
    return run_task(analyze_recording(recording, segmenter=lambda rec: labels, strain=True))


def test_a_clip_without_a_view_says_why_it_has_no_strain():
    analysis = _analysed("unknown")
    assert analysis.strain is None and "the view is not set" in analysis.strain_error
    assert "A2C, A3C, A4C" in analysis.strain_error
    assert "the view is not set" in analysis.to_json_dict()["strain_error"]
    assert f"strain not computed: {analysis.strain_error}" in quality_lines(analysis)


def test_a_plax_clip_is_not_analysed():
    """The method of discs and strain need an apical view: a PLAX clip gets no contours, EF or strain, and says why
    (it had been measured by discs as if apical: an EF in the report from a view no EF is measured on)."""
    from app.workflow.results import NotAnalyzableError

    with pytest.raises(NotAnalyzableError, match="a PLAX clip: no EDV/ESV/EF, as the method of discs and strain "
                                                 r"need an apical view \(A4C, A2C or A3C\)"):
        _analysed("plax")


def test_an_apical_clip_and_mri_have_no_such_reason():
    analysis = _analysed("a4c")
    assert analysis.strain is not None and analysis.strain_error == ""
    assert why_no_strain(analysis.recording) == ""
    assert why_no_strain(replace(analysis.recording, modality="mri", view="unknown")) == ""  # MRI has no strain
    rec = analysis.recording.with_view("unknown")
    assert why_no_strain(replace(rec, frames=rec.frames[:1], frame_times_s=rec.frame_times_s[:1])) == ""


def test_a_strain_tracked_later_supersedes_the_reason_in_the_report():
    """The viewer keeps the analysis' strain_error and adds the strain a view set by hand tracked."""
    unset = _analysed("unknown")
    tracked = _analysed("a4c").strain
    later = replace(unset, recording=unset.recording.with_view("a4c"), strain=tracked)
    assert not any(line.startswith("strain not computed") for line in quality_lines(later))


def test_the_retrack_signature_depends_on_the_view():
    """The view names the strain's segments, so a result kept for one view never serves another."""
    from app.workflow.retrack import RetrackInput

    analysis = _analysed("a4c")
    job = RetrackInput(analysis.recording, analysis.labels, {}, (0,), (5,))
    same = RetrackInput(analysis.recording, analysis.labels, {}, (0,), (5,))
    other = RetrackInput(analysis.recording.with_view("a2c"), analysis.labels, {}, (0,), (5,))
    assert job.signature() == same.signature() != other.signature()


def test_a_view_set_by_hand_tracks_the_strain_in_its_segments_and_an_undo_drops_it(make_window, qtbot):  # noqa: F811
    pytest.importorskip("pytestqt")
    from app.workflow.edits import ViewEdit

    window = make_window()
    case = phantom_echo("a4c")
    labels = case.truth.labels
    window.controller.segmenter_for = lambda recording: (lambda r: labels)
    index = window.controller.add_recording(case.recording.with_view("unknown"))
    window.show_recording(index)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
    st = window.study[index]
    assert st.strain is None and "view is not set" in st.analysis.strain_error
    # the panel says why there is no GLS (the status bar's word goes); an unset view reads as such, not as a view
    # called "UNKNOWN" (list, header, table, beats)
    qtbot.waitUntil(lambda: "no strain: the view is not set" in window.measurements.method.text(), timeout=5000)
    table = window.measurements.table
    labels = [table.item(r, 0).text() for r in range(table.rowCount())]
    shown = [window.recordings.list.item(index).text(), window.header.text(),
             window.beats.horizontalHeaderItem(0).text(), window.measurements.title.text(), *labels]
    assert "GLS" in labels and not any("UNKNOWN" in text for text in shown), shown
    assert "view not set" in window.header.text()
    retrack = window.edits.retrack
    with qtbot.waitSignal(retrack.retracked, timeout=30000) as done:
        window.edits.push(lambda i: ViewEdit(i, "a2c"))
    assert done.args == [index, True]
    assert st.strain is not None and st.strain.gls_pct is not None
    assert any("inferior" in name for name in st.strain.segment_names)  # A2C's walls, not A4C's septum
    a2c = st.strain
    from app.report.from_study import study_report

    def reasons():
        return [f for f in study_report(window.study).recordings[0].quality_flags if "strain not computed" in f]

    assert reasons() == []  # the reason of the analysis is gone with the view that caused it
    window.window_actions.undo.trigger()  # back to "unknown": no apical view, no strain
    assert st.recording.view == "unknown" and st.strain is None and not retrack.busy(index)
    assert len(reasons()) == 1 and "the view is not set" in reasons()[0]
    with qtbot.waitSignal(retrack.retracked, timeout=1000):
        window.window_actions.redo.trigger()  # the strain of that view again, at once
    assert st.strain is a2c and not retrack.busy(index)
    assert st.measurements.ef_pct is not None
    window.edits.push(lambda i: ViewEdit(i, "plax"))  # a view with no strain drops it and says why
    assert st.strain is None and "not PLAX" in reasons()[0]
    assert st.measurements.ef_pct is None and st.measurements.edv_ml is None  # nor EF: no discs without the apex
    assert any(note.startswith("a PLAX clip: no EDV/ESV/EF") for note in st.measurements.notes)
    from app.report.model import beat_rows  # nor per beat: the beat table, the report's beats, the JSON

    assert st.measurements.beats and all(row.ef_pct is None for row in beat_rows(st.measurements))
    assert all(beat["ef_pct"] is None for beat in st.measurements.to_json_dict()["beats"])
    window.window_actions.undo.trigger()
    assert st.measurements.ef_pct is not None


def test_the_reason_follows_the_view_set_since_the_analysis():
    from app.workflow.strain_step import strain_error_now

    unset = _analysed("unknown")
    rec = unset.recording
    assert strain_error_now(unset, rec) == unset.strain_error
    assert strain_error_now(unset, rec.with_view("a4c")) == ""
    assert "not PLAX" in strain_error_now(unset, rec.with_view("plax"))
    failed = replace(_analysed("a4c"), strain=None, strain_error="no end-diastolic frame")
    assert strain_error_now(failed, failed.recording) == "no end-diastolic frame"  # not the view's: kept


def test_the_report_of_a_clip_without_a_view_says_not_set_rather_than_unknown(tmp_path):
    from pypdf import PdfReader

    from app.report.build import report_from_analyses
    from app.report.pdf import write_pdf

    report = report_from_analyses([_analysed("unknown")])
    text = "\n".join(p.extract_text() for p in PdfReader(str(write_pdf(report, tmp_path / "r.pdf"))).pages)
    assert "UNKNOWN" not in "".join(text.split()) and "not set" in text  # table cells wrap a word over lines
    assert "strain not computed: the view is not set" in " ".join(text.split())


def test_a_cohort_summary_says_why_a_clip_without_a_view_has_no_gls(tmp_path):
    """`analyze --out`'s summary row (batch_export): the reason beside the empty GLS, with the clip's other notes."""
    from app.report.exporter import ExportOptions, batch_export

    row = batch_export(ExportOptions(kinds=("pdf",)))(_analysed("unknown"), tmp_path / "clip").row
    assert row["view"] == "unknown" and row["gls_pct"] == "" and row["ef_pct"]
    assert "strain not computed: the view is not set" in row["notes"]
    assert batch_export(ExportOptions(kinds=("pdf",)))(_analysed("a4c"), tmp_path / "a4c").row["gls_pct"]


def test_a_view_set_while_the_first_analysis_runs_is_the_one_its_results_are_measured_and_tracked_as(
        make_window, qtbot):  # noqa: F811
    """The header said A4C while the notes said "the view is not set" and no strain was ever tracked: the analysis
    had measured the recording as it was when it started."""
    pytest.importorskip("pytestqt")
    import threading

    from app.workflow.edits import ViewEdit

    window = make_window()
    case = phantom_echo("a4c")
    labels = case.truth.labels
    started = threading.Event()

    def slow(recording):
        started.set()
        threading.Event().wait(1.0)  # long enough for the user to set the view meanwhile
        return labels

    window.controller.segmenter_for = lambda recording: slow
    index = window.controller.add_recording(case.recording.with_view("unknown"))
    window.show_recording(index)
    retrack = window.edits.retrack
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
        qtbot.waitUntil(started.is_set, timeout=10000)
        window.edits.push(lambda i: ViewEdit(i, "a4c"))
    st = window.study[index]
    assert st.recording.view == "a4c"
    assert not any("view is not set" in note for note in st.measurements.notes)
    if st.strain is None:
        with qtbot.waitSignal(retrack.retracked, timeout=30000):
            pass
    assert st.strain is not None and st.strain.gls_pct is not None
    assert "basal_inferoseptal" in st.strain.segment_names  # A4C's walls


def test_a_study_closed_while_its_strain_was_being_re_tracked_re_tracks_it_when_reopened(
        make_window, qtbot, tmp_path):  # noqa: F811
    """Closed a second after an ES edit, the study had reopened with the GLS of the beat before the edit, starred
    as edited, and nothing re-tracked it."""
    pytest.importorskip("pytestqt")
    from app.workflow.edits import EdEsEdit

    case = phantom_echo("a4c")
    (tmp_path / "clip.dcm").write_bytes(b"stand-in for the recording file")
    recording = replace(case.recording, source_path=tmp_path / "clip.dcm")
    labels = case.truth.labels
    window = make_window()
    window.controller.segmenter_for = lambda rec: (lambda r: labels)
    index = window.controller.add_recording(recording)
    window.show_recording(index)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
    st = window.study[index]
    own = st.strain
    assert own is not None and own.gls_pct is not None
    window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, tuple(f + 2 for f in st.es_frames)))
    window.edits.retrack.wait()  # the window closes before the re-track ran: it is cancelled
    window.controller.save_now()
    assert st.strain is own and not st.strain_retracked
    window.hide()
    reopened = make_window()
    with qtbot.waitSignal(reopened.edits.retrack.retracked, timeout=30000) as done:
        index = reopened.controller.add_recording(recording)
    assert done.args == [index, True]
    again = reopened.study[index]
    assert again.edes_edited and again.strain_retracked and again.strain.gls_pct != pytest.approx(own.gls_pct)


def _analysed_phantom_window(make_window, qtbot):  # noqa: F811
    """A window with an A4C phantom analysed on its true labels (strain tracked): (window, index)."""
    case = phantom_echo("a4c")
    labels = case.truth.labels
    window = make_window()
    window.controller.segmenter_for = lambda rec: (lambda r: labels)
    index = window.controller.add_recording(case.recording)
    window.show_recording(index)
    with qtbot.waitSignal(window.controller.analysis_done, timeout=30000):
        window.analyze_current()
    return window, index


def test_a_report_asked_for_while_the_gls_is_re_tracked_waits_for_it(make_window, qtbot):  # noqa: F811
    """A PDF written right after an edit printed the GLS of before the edit, starred as edited."""
    pytest.importorskip("pytestqt")
    from app.workflow.edits import EdEsEdit

    window, index = _analysed_phantom_window(make_window, qtbot)
    st = window.study[index]
    own = st.strain
    written = []
    window.reports.run = lambda fn, label: written.append(st.strain.gls_pct)  # what the report would print
    window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, tuple(f + 2 for f in st.es_frames)))
    window.reports.run_when_settled(lambda: None, "report")
    assert written == [] and "waits for the edits' GLS re-tracking" in window.statusBar().currentMessage()
    window.reports.run_when_settled(lambda: None, "report")  # asked twice while waiting: written once, and said
    assert window.statusBar().currentMessage().startswith("A report or export already waits")
    qtbot.waitUntil(lambda: bool(written), timeout=30000)
    assert written == [st.strain.gls_pct] and st.strain_retracked and st.strain is not own  # the re-tracked one
    window.reports.run_when_settled(lambda: None, "report")  # nothing pending: at once
    assert len(written) == 2


def test_a_second_pacs_send_asked_for_while_one_waits_or_runs_is_said_not_ignored(make_window, qtbot,  # noqa: F811
                                                                                    monkeypatch):
    """A send asked for while one waited for the edits' re-tracking, or while one ran, did nothing without a word."""
    pytest.importorskip("pytestqt")
    from app.ui import pacs_actions
    from app.workflow.edits import EdEsEdit

    window, index = _analysed_phantom_window(make_window, qtbot)
    pacs = window.window_actions.pacs
    asked = []

    def node_typed(*_args):
        asked.append(1)
        return "ORTHANC@host:4242", True

    monkeypatch.setattr(pacs_actions.QInputDialog, "getText", node_typed)
    sent = []
    monkeypatch.setattr(pacs, "send", lambda text: sent.append(text))
    st = window.study[index]
    window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, tuple(f + 2 for f in st.es_frames)))
    pacs.ask_and_send()
    assert sent == [] and "waits for the edits' GLS re-tracking" in window.statusBar().currentMessage()
    pacs.ask_and_send()
    assert window.statusBar().currentMessage().startswith("A send to the PACS already waits")
    qtbot.waitUntil(lambda: bool(sent), timeout=30000)
    assert sent == ["ORTHANC@host:4242"] and len(asked) == 2  # sent once
    pacs.worker = object()  # a send running
    pacs.ask_and_send()
    assert len(asked) == 2 and window.statusBar().currentMessage().startswith("A send to the PACS is still running")
    pacs.worker = None


def test_a_report_waiting_for_a_re_track_that_is_dropped_is_written_all_the_same(make_window, qtbot):  # noqa: F811
    """The recording closed before its re-track started: the report had waited for good, and every later one with
    it."""
    pytest.importorskip("pytestqt")
    from app.workflow.edits import EdEsEdit

    window, index = _analysed_phantom_window(make_window, qtbot)
    written = []
    window.reports.run = lambda fn, label: written.append(label)
    st = window.study[index]
    window.edits.push(lambda i: EdEsEdit(i, st.ed_frames, tuple(f + 2 for f in st.es_frames)))
    window.reports.run_when_settled(lambda: None, "report")
    assert written == [] and window.edits.busy()
    window.study_actions.close_recording(index)  # before the re-track starts
    qtbot.waitUntil(lambda: written == ["report"], timeout=5000)
    window.reports.run_when_settled(lambda: None, "report")
    assert written == ["report", "report"]  # the next one is not stuck behind it
