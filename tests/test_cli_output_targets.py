"""`analyze` outputs that cannot be written (a folder that is a file, a place no one may write, a full disk) are one
line and exit 2, checked before the analysis where they can be: they had been an internal error after it. And a
--labels file that is no label map says what one is."""

import errno
from contextlib import contextmanager

import pytest

from app.cli import main
from tests.orthanc_fixtures import DEMO

CLIP = ["analyze", str(DEMO / "a4c.dcm"), "--labels", str(DEMO / "a4c.truth.npz"), "--no-strain"]


@pytest.fixture
def no_analysis(monkeypatch):
    import app.workflow.analyze as workflow

    def refuse(*args, **kwargs):
        raise AssertionError("the analysis ran before the outputs were checked")

    monkeypatch.setattr(workflow, "analyze_recording", refuse)


def _error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), lines
    return lines[-1]


@pytest.mark.parametrize("option", ["--json", "--report", "--csv", "--measurements", "--masks", "--dicom-out"])
def test_an_output_under_a_file_is_refused_before_the_analysis(option, tmp_path, capsys, no_analysis):
    (tmp_path / "a-file").write_text("not a folder")
    name = {"--report": "r.pdf", "--csv": "r.csv", "--masks": "m.nii.gz", "--dicom-out": "dicom"}.get(option, "r.json")
    assert main([*CLIP, option, str(tmp_path / "a-file" / name)]) == 2
    line = _error(capsys)
    assert option in line and "is a file, not a folder" in line


def test_a_json_that_cannot_be_written_is_one_line_after_the_analysis(tmp_path, capsys, monkeypatch):
    import app.paths

    @contextmanager
    def full_disk(path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
        yield path

    monkeypatch.setattr(app.paths, "atomic_target", full_disk)
    assert main([*CLIP, "--json", str(tmp_path / "r.json")]) == 2
    assert _error(capsys) == f"error: --json: cannot write {tmp_path / 'r.json'}: No space left on device"


def test_masks_where_no_one_may_write_is_one_line(tmp_path, capsys):
    """Refused before the analysis for a user, at the write for root (who may write anywhere /proc allows)."""
    assert main([*CLIP, "--masks", "/proc/cardiotrace-masks.nii.gz"]) == 2
    assert _error(capsys).startswith("error: --masks")


def test_outputs_go_into_folders_made_for_them(tmp_path, capsys):
    """--json makes its folder as the other writers do; --masks without a NIfTI suffix is a folder of maps."""
    out = tmp_path / "new" / "sub"
    assert main([*CLIP, "--json", str(out / "r.json"), "--masks", str(out / "masks")]) == 0
    assert (out / "r.json").is_file()
    assert [p.name for p in (out / "masks").iterdir()] == ["a4c_a4c_labels.nii.gz"]
    err = capsys.readouterr().err  # each file written says so, as --report and the other exports do
    assert f"wrote {out / 'r.json'}" in err and f"wrote {out / 'masks' / 'a4c_a4c_labels.nii.gz'}" in err


def test_a_labels_file_that_is_no_image_says_what_a_label_map_is(tmp_path, capsys):
    """SimpleITK's own message is a C++ source location; the line says what the file is not and what would do."""
    text = tmp_path / "labels.dcm"
    text.write_text("hello")
    assert main(["analyze", str(DEMO / "a4c.dcm"), "--labels", str(text), "--no-strain"]) == 2
    line = _error(capsys)
    assert "not an image file SimpleITK reads" in line and ".npz with a 'labels' array" in line
    assert ".cxx" not in line


@pytest.mark.parametrize("command", [["pacs", "get", "--study", "1.2.3", "--out"], ["pacs", "find", "--json"]])
def test_pacs_results_that_cannot_be_written_are_refused_before_the_node_is_asked(command, tmp_path, capsys):
    """The node named (nothing listens on port 1) would be an error of its own: the output is checked first."""
    (tmp_path / "a-file").write_text("not a folder")
    option = command[-1]
    assert main([*command[:2], "--node", "NOPE@127.0.0.1:1", *command[2:], str(tmp_path / "a-file" / "x")]) == 2
    line = _error(capsys)
    assert line.startswith(f"error: {option}: cannot write in") and "is a file, not a folder" in line


@pytest.mark.parametrize("option", ["--json", "--measurements", "--contours"])
def test_a_file_output_naming_an_existing_folder_is_refused_before_the_analysis(option, tmp_path, capsys,
                                                                                 no_analysis):
    """It had been refused by the writer only after the whole analysis."""
    assert main([*CLIP, option, str(tmp_path)]) == 2
    assert _error(capsys) == f"error: {option}: {tmp_path} is a folder; give a file name"


def test_an_evaluation_json_naming_a_folder_is_refused_before_the_evaluation(tmp_path, capsys):
    assert main(["evaluate", "echo-clips", "--json", str(tmp_path)]) == 2
    assert _error(capsys).endswith(f"{tmp_path} is a folder; give a file name")


def test_a_pipe_or_a_link_given_as_the_output_is_written_through_not_replaced(tmp_path):
    """Written to a part file renamed over the target, a FIFO (and, as root, /dev/full or /dev/null) became a plain
    file, and a symbolic link a file beside what it pointed to."""
    import os
    import stat
    import threading

    from app.paths import write_text

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text()), daemon=True)
    reader.start()
    write_text(fifo, '{"ef_pct": 55.0}')
    reader.join(10)
    assert read == ['{"ef_pct": 55.0}\n'] and stat.S_ISFIFO(fifo.stat().st_mode)
    target = tmp_path / "results" / "r.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new\n"


def test_a_batch_out_folder_that_cannot_be_made_is_refused_before_the_first_analysis(tmp_path, capsys, no_analysis):
    """It failed after the batch, naming the summary's part file."""
    (tmp_path / "a-file").write_text("not a folder")
    out = tmp_path / "a-file" / "batch"
    assert main(["analyze", str(DEMO / "a4c.dcm"), "--out", str(out), "--exports", "none"]) == 2
    line = _error(capsys)
    assert line.startswith("error: --out: cannot write in") and "is a file, not a folder" in line


def test_a_labels_file_of_python_objects_says_so_without_numpys_advice(tmp_path, capsys):
    """numpy's message advised loading the file unsafely ('allow_pickle=')."""
    import numpy as np

    path = tmp_path / "labels.npz"
    np.savez(path, labels=np.array(["not", "numbers", None], dtype=object))
    assert main(["analyze", str(DEMO / "a4c.dcm"), "--labels", str(path), "--no-strain"]) == 2
    line = _error(capsys)
    assert "it holds Python objects (pickled data), which are never loaded" in line and "allow_pickle" not in line
