"""`analyze ... --report/--csv/--cine` and `analyze FOLDER --out DIR` through the real command line."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from report_fixtures import synthetic_labels, synthetic_recording

from app.cli import main
from app.data import writers


@pytest.fixture()
def study(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    labels = synthetic_labels(30)
    writers.write_recording(synthetic_recording(labels, view="a4c"), folder / "a4c.dcm")
    np.savez_compressed(tmp_path / "a4c.labels.npz", labels=labels)
    (folder / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"not really a dataset" * 4)
    return folder


def test_analyze_writes_report_and_exports(study, tmp_path, capsys):
    pdf, table, cine = tmp_path / "r.pdf", tmp_path / "m.csv", tmp_path / "c.gif"
    code = main(["analyze", str(study / "a4c.dcm"), "--labels", str(tmp_path / "a4c.labels.npz"),
                 "--report", str(pdf), "--csv", str(table), "--cine", str(cine), "--comment", "from the CLI",
                 "--page-size", "Letter"])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    ef = rows[0]["ef_pct"]
    text = "\n".join(p.extract_text() for p in PdfReader(str(pdf)).pages)
    assert ef in text and "from the CLI" in text and "CT-0042" in text
    assert "Check the data" not in text  # a complete, calibrated file: no caveat on page 1
    assert cine.stat().st_size > 1000


def test_batch_without_models_reports_each_failure(study, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path / "no_models"))
    out = tmp_path / "out"
    code = main(["analyze", str(study), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "0 analyzed, 0 already done, 2 failed" in err
    rows = {Path(r["source"]).name: r for r in csv.DictReader((out / "summary.csv").open(encoding="utf-8"))}
    assert rows["a4c.dcm"]["status"] == "failed" and "model" in rows["a4c.dcm"]["error"]
    assert rows["broken.dcm"]["status"] == "failed" and "broken.dcm" in rows["broken.dcm"]["error"]


@pytest.mark.parametrize("extra, message", [
    (["--out", "X", "--report", "r.pdf"], "drop --report"),
    (["--out", "X", "--json", "-"], "cannot be combined with --json"),
    (["--report", "r.doc"], "must end with .pdf"),
])
def test_bad_report_options_exit_2_with_one_line(study, tmp_path, capsys, extra, message):
    extra = [str(tmp_path / e) if e == "X" else e for e in extra]
    assert main(["analyze", str(study / "a4c.dcm"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_unwritable_report_path_is_one_line_exit_2(study, tmp_path, capsys):
    blocker = tmp_path / "file_not_folder"
    blocker.write_text("x")
    code = main(["analyze", str(study / "a4c.dcm"), "--labels", str(tmp_path / "a4c.labels.npz"),
                 "--report", str(blocker / "r.pdf")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "cannot write" in err and len(err.splitlines()) == 1


def test_a_report_of_a_damaged_file_says_so_on_its_first_page(tmp_path, capsys):
    """The page a cardiologist reads and signs carries the reader's note beside the EF (a video cut short), not
    only the quality details on a later page."""
    from readers_helpers import write_video_cut_short

    frames = synthetic_recording(synthetic_labels(20), view="a4c").frames
    path = write_video_cut_short(tmp_path / "a4c_clip.avi", frames)
    pdf = tmp_path / "r.pdf"
    assert main(["analyze", str(path), "--report", str(pdf)]) == 0, capsys.readouterr().err
    first = " ".join(PdfReader(str(pdf)).pages[0].extract_text().split())
    assert "Check the data: a4c_clip.avi: the video ends early:" in first
    assert "of the 20 frames its header announces could be read" in first
