"""`analyze --dicom-out/--send`: recordings that cannot carry DICOM results (a video, a NIfTI) are
refused with one line before the analysis runs and before any report or export is written, not after them."""

from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture
def no_analysis(monkeypatch):
    import app.workflow.analyze as workflow

    def refuse(*args, **kwargs):
        raise AssertionError("the analysis ran before the DICOM sources were checked")

    monkeypatch.setattr(workflow, "analyze_recording", refuse)


def _outputs(tmp_path: Path) -> list[str]:
    return ["--json", str(tmp_path / "r.json"), "--report", str(tmp_path / "r.pdf"), "--csv", str(tmp_path / "r.csv")]


def test_a_non_dicom_clip_is_refused_before_the_analysis(tmp_path, capsys, no_analysis):
    nii = tmp_path / "clip.nii.gz"
    assert main(["phantom", "--modality", "echo", "--seed", "2", "--beats", "1", "--fps", "20", "--size", "96x96",
                 "--format", "nii", "--out", str(nii)]) == 0
    capsys.readouterr()
    code = main(["analyze", str(nii), "--labels", str(tmp_path / "clip.truth.npz"), "--no-strain",
                 "--dicom-out", str(tmp_path / "dicom"), *_outputs(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error:") and "DICOM" in err[0]
    assert not any((tmp_path / name).exists() for name in ("r.json", "r.pdf", "r.csv", "dicom"))

