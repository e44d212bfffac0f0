"""Batch analysis: progress on stderr, failures in the summary, resume without redoing finished files."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import synthetic_analysis

from app.data.errors import LoadError
from app.report import cli_hooks
from app.report.exporter import ExportOptions, batch_export
from app.tasks import Progress
from app.workflow.batch import is_finished, run_batch
from app.workflow.batch_inputs import BatchItem, collect_inputs
from app.workflow.results import NotAnalyzableError


class FakeAnalyzer:
    """Analyses files named *.dcm whose content is 'good <view>'; any other content fails to load."""

    def __init__(self, interrupt_after: int | None = None):
        self.calls: list[str] = []
        self.interrupt_after = interrupt_after

    def __call__(self, item: BatchItem, on_progress):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.calls.append(item.path.name)
        on_progress(Progress(0.5, "segmenting"))
        words = item.path.read_text(errors="replace").split()
        if words and words[0] == "colour":  # as app.workflow.analyze.check_supported says of a colour Doppler clip
            raise NotAnalyzableError("a colour Doppler clip: the colour hides the LV border (test content)")
        if not words or words[0] != "good":
            raise LoadError(item.path, "not a DICOM file (test content)")
        return synthetic_analysis(view=words[1], n_frames=30, path=item.path)


def make_inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    files = []
    for name, content in (("p1_a4c.dcm", "good a4c"), ("p2_a2c.dcm", "good a2c"), ("broken.dcm", "garbage"),
                          ("p3_a4c.dcm", "good a4c")):
        (folder / name).write_text(content)
        files.append(folder / name)
    return files


def summary_rows(out: Path) -> dict[str, dict]:
    return {Path(r["source"]).name: r for r in csv.DictReader((out / "summary.csv").open(encoding="utf-8"))}


def test_failing_file_lands_in_the_summary_and_the_rest_goes_on(tmp_path):
    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    stream = io.StringIO()
    summary = run_batch(items, tmp_path / "out", FakeAnalyzer(), batch_export(ExportOptions(kinds=())), stream=stream)
    assert len(summary.done) == 3 and len(summary.failed) == 1
    rows = summary_rows(tmp_path / "out")
    assert rows["broken.dcm"]["status"] == "failed"
    assert "not a DICOM file (test content)" in rows["broken.dcm"]["error"]
    ok = rows["p2_a2c.dcm"]
    assert ok["status"] == "ok" and ok["view"] == "a2c" and float(ok["ef_pct"]) > 0 and ok["error"] == ""
    log = stream.getvalue()
    assert "4/4" in log and "FAILED" in log and "broken.dcm" in log
    result = json.loads(next((tmp_path / "out").glob("p1_a4c-*.result.json")).read_text())
    assert result["status"] == "ok" and result["analysis"]["ef_pct"] == pytest.approx(
        float(rows["p1_a4c.dcm"]["ef_pct"]), abs=0.06
    )
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["items"]) == 4


def test_resume_skips_finished_files_and_redoes_changed_ones(tmp_path):
    files = make_inputs(tmp_path / "in")
    items = [BatchItem(p) for p in files]
    out = tmp_path / "out"
    run_batch(items, out, FakeAnalyzer(), batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    assert all(is_finished(i, out) for i in items if i.path.name != "broken.dcm")
    # the same run again: nothing finished is analyzed again; the failed file is retried
    again = FakeAnalyzer()
    summary = run_batch(items, out, again, batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    assert again.calls == ["broken.dcm"] and len(summary.skipped) == 3
    assert summary_rows(out)["p1_a4c.dcm"]["resumed"] == "yes"
    # a source file that changed (size/mtime) is analyzed again
    files[0].write_text("good a4c  ")
    os.utime(files[0], ns=(files[0].stat().st_atime_ns, files[0].stat().st_mtime_ns + 10**9))
    third = FakeAnalyzer()
    run_batch(items, out, third, batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    assert third.calls == ["p1_a4c.dcm", "broken.dcm"]


def test_interrupted_run_resumes_where_it_stopped(tmp_path):
    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(
            items, out, FakeAnalyzer(interrupt_after=2), batch_export(ExportOptions(kinds=())), stream=io.StringIO()
        )
    rows = summary_rows(out)
    assert [rows[n]["status"] for n in ("p1_a4c.dcm", "p2_a2c.dcm", "broken.dcm", "p3_a4c.dcm")] == \
        ["ok", "ok", "not run", "not run"]
    rest = FakeAnalyzer()
    run_batch(items, out, rest, batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    assert rest.calls == ["broken.dcm", "p3_a4c.dcm"]
    assert summary_rows(out)["p3_a4c.dcm"]["status"] == "ok"


def test_ctrl_c_on_a_batch_says_how_to_resume_once(tmp_path, monkeypatch, capsys):
    """The batch says "interrupted: run the same command again to resume"; the entry point then added a second
    line, "interrupted". A Ctrl+C elsewhere still gets that one line, and exit 130 either way."""
    from app.cli import main
    from app.commands import info
    from app.workflow.batch import RESUME_NOTE

    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    stream = io.StringIO()
    with pytest.raises(KeyboardInterrupt) as raised:
        run_batch(items, tmp_path / "out", FakeAnalyzer(interrupt_after=1), batch_export(ExportOptions(kinds=())),
                  stream=stream)
    assert stream.getvalue().count("interrupted") == 1 and raised.value.args == (RESUME_NOTE,)
    for exc, said in ((raised.value, ""), (KeyboardInterrupt(), "interrupted\n")):
        monkeypatch.setattr(info, "run", lambda args, _e=exc: (_ for _ in ()).throw(_e))
        assert main(["info", str(tmp_path)]) == 130
        assert capsys.readouterr().err == said


def test_a_result_written_without_its_manifest_entry_is_indexed_by_the_next_run(tmp_path):
    """Ctrl+C on a `--workers` batch could leave an item's result file written and its manifest.json entry not;
    each later run then skipped the item as done without indexing it (summary.csv had it, the manifest never)."""
    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    out = tmp_path / "out"
    run_batch(items, out, FakeAnalyzer(), batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["items"].pop(items[1].key)
    (out / "manifest.json").write_text(json.dumps(manifest))
    again = FakeAnalyzer()
    run_batch(items, out, again, batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    assert again.calls == ["broken.dcm"]  # skipped as done, and indexed
    assert json.loads((out / "manifest.json").read_text())["items"][items[1].key] == entry


def test_batch_writes_the_requested_exports(tmp_path):
    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")[:1]]
    out = tmp_path / "out"
    run_batch(items, out, FakeAnalyzer(), batch_export(ExportOptions(kinds=("pdf", "contours", "masks", "cine"))),
              stream=io.StringIO())
    stem = items[0].result_name
    for name in (f"{stem}.pdf", f"{stem}.contours.json", f"{stem}.masks.nii.gz", f"{stem}.cine.mp4"):
        assert (out / name).stat().st_size > 0, name
    assert summary_rows(out)["p1_a4c.dcm"]["outputs"].split() == sorted(
        [f"{stem}.pdf", f"{stem}.contours.json", f"{stem}.masks.nii.gz", f"{stem}.cine.mp4"])


def test_folder_expansion_keeps_recordings_and_skips_sidecars(tmp_path):
    folder = tmp_path / "in"
    make_inputs(folder)
    (folder / "notes.txt").write_text("operator notes")
    (folder / "case.truth.json").write_text("{}")
    sub = folder / "more"
    sub.mkdir()
    (sub / "p4.dcm").write_text("good a3c")
    out = folder / "results"
    out.mkdir()
    (out / "old.dcm").write_text("good a4c")
    names = [i.path.name for i in collect_inputs([folder], exclude=out)]
    assert sorted(names) == ["broken.dcm", "p1_a4c.dcm", "p2_a2c.dcm", "p3_a4c.dcm", "p4.dcm"]


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+")
    cli_hooks.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_hook_runs_the_batch_and_reports_failures(tmp_path):
    make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    stream = io.StringIO()
    args = _args([str(tmp_path / "in"), "--out", str(out), "--exports", "pdf", "--anonymise"])
    code = cli_hooks.run_batch_command(args, analyze=FakeAnalyzer(), stream=stream)
    assert code == 2  # one file failed: the summary names it
    assert "3 analyzed, 0 already done, 1 failed" in stream.getvalue()
    assert len(list(out.glob("*.pdf"))) == 3
    code = cli_hooks.run_batch_command(args, analyze=FakeAnalyzer(), stream=stream)
    assert "0 analyzed, 3 already done, 1 failed" in stream.getvalue()


def test_a_colour_doppler_clip_is_left_out_not_failed_and_not_redone(tmp_path):
    """An exam's folder holds colour Doppler clips beside the grey ones: each is left out with the reason, the run
    succeeds (exit 0), and a resumed run does not load them again."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name, content in (("a4c.dcm", "good a4c"), ("a4c_colour.dcm", "colour a4c"), ("a2c.dcm", "good a2c")):
        (folder / name).write_text(content)
    out, stream, analyzer = tmp_path / "out", io.StringIO(), FakeAnalyzer()
    args = _args([str(folder), "--out", str(out)])
    assert cli_hooks.run_batch_command(args, analyze=analyzer, stream=stream) == 0
    assert "2 analyzed, 0 already done, 1 left out (why: summary.csv), 0 failed" in stream.getvalue()
    assert "a4c_colour.dcm: left out: a colour Doppler clip" in stream.getvalue()
    row = summary_rows(out)["a4c_colour.dcm"]
    assert row["status"] == "left out" and "colour Doppler" in row["error"] and row["ef_pct"] == ""
    analyzer.calls.clear()
    assert cli_hooks.run_batch_command(args, analyze=analyzer, stream=stream) == 0
    assert analyzer.calls == [] and "0 analyzed, 3 already done, 0 failed" in stream.getvalue()
    assert summary_rows(out)["a4c_colour.dcm"]["status"] == "left out"


@pytest.mark.parametrize("argv, message", [
    (["x", "--out", "d", "--report", "r.pdf"], "drop --report"),
    (["x", "--out", "d", "--exports", "pdf,movie"], "unknown kind movie"),
    (["x", "--out", "d", "--exports", ""], "give one or more of"),  # an empty variable had meant pdf
    (["x", "--report", "r.txt"], "must end with .pdf"),
    (["x", "--cine", "c.webm"], "must end with"),
    (["x", "--exports", "pdf"], "--exports chooses a batch's files: give --out DIR"),
])
def test_bad_option_combinations_are_usage_errors(argv, message):
    with pytest.raises(cli_hooks.OptionError, match=message):
        cli_hooks.validate(_args(argv))


def test_folder_expansion_with_real_files_skips_the_output_folder(tmp_path):
    from report_fixtures import synthetic_labels, synthetic_recording

    from app.data import writers

    folder = tmp_path / "study"
    (folder / "sub").mkdir(parents=True)
    rec = synthetic_recording(synthetic_labels(12))
    writers.write_recording(rec, folder / "a4c.dcm")
    writers.write_recording(rec.with_view("a2c"), folder / "sub" / "a2c.dcm")
    out = folder / "results"
    out.mkdir()
    writers.write_recording(rec, out / "old_output.dcm")
    import cv2

    writer = cv2.VideoWriter(str(out / "cine.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 32))
    for _ in range(3):
        writer.write(np.zeros((32, 32, 3), np.uint8))
    writer.release()
    items = collect_inputs([folder], exclude=out)
    assert sorted(str(i.path.relative_to(folder)) for i in items) == ["a4c.dcm", "sub/a2c.dcm"]


def test_cancel_stops_before_the_next_file(tmp_path):
    import threading

    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    cancel = threading.Event()
    analyzer = FakeAnalyzer()

    def analyze(item, on_progress):
        result = analyzer(item, on_progress)
        cancel.set()  # the user presses Cancel while the first file is analyzed
        return result

    summary = run_batch(items, tmp_path / "out", analyze, batch_export(ExportOptions(kinds=())), stream=io.StringIO(),
                        cancel=cancel)
    assert summary.interrupted and analyzer.calls == ["p1_a4c.dcm"]
    assert summary_rows(tmp_path / "out")["p2_a2c.dcm"]["status"] == "not run"


def test_the_summary_carries_each_recording_s_notes(tmp_path):
    """A cohort's caveats (a file cut short, no cycle found) are in summary.csv, not only in each result file."""
    import dataclasses

    def with_notes(item, on_progress):
        analysis = FakeAnalyzer()(item, on_progress)
        notes = ("the video ends early: 14 of the 20 frames its header announces could be read", "uncalibrated")
        return dataclasses.replace(analysis, measurements=dataclasses.replace(analysis.measurements, notes=notes))

    items = [BatchItem(p) for p in make_inputs(tmp_path / "in")]
    run_batch(items, tmp_path / "out", with_notes, batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    rows = summary_rows(tmp_path / "out")
    assert rows["p1_a4c.dcm"]["notes"] == ("the video ends early: 14 of the 20 frames its header announces could be "
                                           "read | uncalibrated")
    assert rows["broken.dcm"]["notes"] == ""


def test_a_run_with_other_settings_analyses_again_instead_of_calling_old_results_done(tmp_path):
    """`--out` again with --exports pdf or another view said 'already done, skipped' and kept the results made
    without them (no PDF written, the old view). A result is resumed only when made with the same settings."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a4c.dcm").write_text("good a4c")
    out, stream, analyzer = tmp_path / "out", io.StringIO(), FakeAnalyzer()
    assert cli_hooks.run_batch_command(_args([str(folder), "--out", str(out), "--exports", "none"]),
                                       analyze=analyzer, stream=stream) == 0
    assert analyzer.calls == ["a4c.dcm"]
    same = _args([str(folder), "--out", str(out), "--exports", "none"])
    assert cli_hooks.run_batch_command(same, analyze=analyzer, stream=stream) == 0
    assert analyzer.calls == ["a4c.dcm"]  # the same settings: resumed
    assert cli_hooks.run_batch_command(_args([str(folder), "--out", str(out), "--exports", "pdf"]),
                                       analyze=analyzer, stream=stream) == 0
    item = BatchItem(folder / "a4c.dcm")
    assert analyzer.calls == ["a4c.dcm", "a4c.dcm"] and (out / f"{item.result_name}.pdf").is_file()
    result = json.loads((out / f"{item.result_name}.result.json").read_text())
    assert result["settings"]["exports"]["kinds"] == ["pdf"] and result["settings"]["analysis"]["view"] is None
    assert is_finished(item, out, {"analysis": result["settings"]["analysis"], "exports": {"kinds": ("pdf",)}}) \
        is False  # an export option differs
    assert is_finished(item, out, result["settings"]) and is_finished(item, out)


def test_an_earlier_runs_results_inside_the_input_folder_are_not_measured(tmp_path):
    """`analyze in --out in/res1 --exports cine`, then `analyze in --out in/res2`: the first run's annotated cine
    was measured as a new recording (and its masks failed). A folder an earlier run wrote is left alone."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a4c.dcm").write_text("good a4c")
    first = folder / "res1"
    assert cli_hooks.run_batch_command(_args([str(folder), "--out", str(first), "--exports", "none"]),
                                       analyze=FakeAnalyzer(), stream=io.StringIO()) == 0
    (first / "a4c.cine.mp4").write_bytes(b"our own annotated cine")
    assert [i.path.name for i in collect_inputs([folder], exclude=folder / "res2")] == ["a4c.dcm"]


def test_an_unreadable_subfolder_is_one_failed_item_not_the_end_of_the_batch(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    (folder / "a4c.dcm").write_text("good a4c")
    real = Path.iterdir

    def iterdir(self):
        if self.name == "locked":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    items = collect_inputs([folder])
    assert sorted(i.path.name for i in items) == ["a4c.dcm", "locked"]


def test_a_run_on_some_of_the_files_keeps_the_others_rows_in_the_summary(tmp_path):
    """A 4-recording --out folder re-run with two of its files left summary.csv with 2 rows (the others' results
    still there). The folder's summary keeps every result, the earlier ones marked resumed."""
    files = make_inputs(tmp_path / "in")
    out = tmp_path / "out"
    run_batch([BatchItem(p) for p in files], out, FakeAnalyzer(), batch_export(ExportOptions(kinds=())),
              stream=io.StringIO())
    run_batch([BatchItem(files[0])], out, FakeAnalyzer(), batch_export(ExportOptions(kinds=())), stream=io.StringIO())
    rows = summary_rows(out)
    assert set(rows) == {p.name for p in files}
    assert rows["p1_a4c.dcm"]["resumed"] == "yes" and rows["p2_a2c.dcm"]["status"] == "ok"
    assert rows["broken.dcm"]["status"] == "failed" and rows["p3_a4c.dcm"]["ef_pct"] != ""


@pytest.mark.parametrize("count, ok", [("1", True), (str(cli_hooks.MAX_LOCAL_WORKERS), True),
                                       (str(cli_hooks.MAX_LOCAL_WORKERS + 1), False), ("999999", False),
                                       ("0", False)])
def test_workers_beyond_what_the_machine_can_run_are_refused(count, ok):
    """--workers 999999 was accepted and hung starting processes."""
    import argparse as ap

    if ok:
        assert cli_hooks.worker_count(count) == int(count)
    else:
        with pytest.raises(ap.ArgumentTypeError):
            cli_hooks.worker_count(count)
