"""Results back as DICOM: `analyze --send` (C-STORE) and `--send-dicomweb` (STOW-RS) to the live Orthanc,
read back with pydicom (EF in the SR = EF in the JSON, SEG frames = our masks), checked with dciodvfy and
dsrdump; refused stores and non-DICOM sources are one line, exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app.cli import main
from app.pacs import retrieve
from app.pacs.cache import SeriesCache
from app.pacs.nodes import dicomweb_node, parse_dimse
from app.report.dicom_pdf import pdf_bytes
from app.report.dicom_seg import segment_masks
from app.report.dicom_sr import numeric_values
from app.tasks import run_task

LABELS = {1: "LV", 2: "myocardium", 3: "LA"}


def _stored(node, study_uid: str, tmp_path) -> dict[str, pydicom.Dataset]:
    """Modality -> dataset of each new series (SR, SEG, DOC) retrieved back from the node."""
    series = [s for s in retrieve.find_series(node, study_uid) if s.modality in ("SR", "SEG", "DOC")]
    got = run_task(retrieve.retrieve_study(node, study_uid, [s.series_uid for s in series],
                                        cache=SeriesCache(tmp_path / "cache")))
    out = {}
    for s in got:
        ds = pydicom.dcmread(sorted(Path(s.folder).glob("*.dcm"))[0])
        out[str(ds.Modality)] = ds
    return out


def _validate(path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian dicom3tools) is not installed")
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]
    assert not errors, "\n".join(errors)


def test_analyze_send_c_store_reads_back_equal(orthanc, result_studies, tmp_path, capsys):
    out_json = tmp_path / "result.json"
    code = main(["analyze", str(result_studies.echo_file), "--labels", str(result_studies.echo_labels),
                 "--send", orthanc.node, "--json", str(out_json)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out_json.read_text())
    stored = _stored(parse_dimse(orthanc.node), result_studies.echo_study_uid, tmp_path)
    assert set(stored) == {"SR", "SEG", "DOC"}
    for ds in stored.values():
        assert ds.StudyInstanceUID == result_studies.echo_study_uid
    values = numeric_values(stored["SR"])
    assert abs(values["18043-0"][0] - result["ef_pct"]) <= 0.1  # EF by US
    assert abs(values["18026-5"][0] - result["edv_ml"]) <= 0.1 and abs(values["18148-7"][0] - result["esv_ml"]) <= 0.1
    assert abs(values["130691"][0] - result["gls_pct"]) <= 0.1  # GLS 4CH
    segmental_sr = sorted(values["127411"])  # the SR's rounding: within 0.1 of the JSON, like the values above
    well_tracked = {name for name, q in result["strain_quality"].items() if q["ok"]}  # the SR's only (the others'
    # peaks are "not to be read": tests/test_sr_strain_quality.py)
    segmental_json = sorted(v["peak"] for name, v in result["segmental_strain_pct"].items()
                            if v["peak"] is not None and name in well_tracked)
    assert len(segmental_sr) == len(segmental_json)
    assert all(abs(a - b) <= 0.1 for a, b in zip(segmental_sr, segmental_json, strict=False))
    labels = np.load(result_studies.echo_labels)["labels"]
    masks = segment_masks(stored["SEG"], "echo")
    for value in LABELS:
        assert np.array_equal(masks[value], labels == value), LABELS[value]
    src = pydicom.dcmread(result_studies.echo_file, stop_before_pixels=True)
    refs = stored["SEG"].PerFrameFunctionalGroupsSequence[5].DerivationImageSequence[0].SourceImageSequence[0]
    assert refs.ReferencedSOPInstanceUID == src.SOPInstanceUID and int(refs.ReferencedFrameNumber) == 6
    assert pdf_bytes(stored["DOC"]).startswith(b"%PDF")
    for name, ds in stored.items():
        path = tmp_path / f"{name}.dcm"
        ds.save_as(path)
        _validate(path)
    if shutil.which("dsrdump"):
        assert subprocess.run(["dsrdump", str(tmp_path / "SR.dcm")], capture_output=True).returncode == 0


def test_analyze_send_dicomweb_mr_stack(orthanc, result_studies, tmp_path, monkeypatch, capsys):
    for key, value in orthanc.env().items():
        monkeypatch.setenv(key, value)
    out_json = tmp_path / "result.json"
    code = main(["analyze", str(result_studies.mr_folder), "--labels", str(result_studies.mr_labels),
                 "--send-dicomweb", orthanc.dicomweb_url, "--json", str(out_json)])
    assert code == 0, capsys.readouterr().err
    result = json.loads(out_json.read_text())
    stored = _stored(dicomweb_node(orthanc.dicomweb_url), result_studies.mr_study_uid, tmp_path)
    assert set(stored) == {"SR", "SEG", "DOC"}
    assert abs(numeric_values(stored["SR"])["8811-2"][0] - result["ef_pct"]) <= 0.1  # EF by MR
    labels = np.load(result_studies.mr_labels)["labels"]  # (S, T, H, W)
    masks = segment_masks(stored["SEG"], "mri")
    for value in (1, 2):
        assert np.array_equal(masks[value], (labels == value).reshape(-1, *labels.shape[2:]))
    path = tmp_path / "seg.dcm"
    stored["SEG"].save_as(path)
    _validate(path)


def test_refused_store_is_one_line_exit_2(orthanc, result_studies, capsys, monkeypatch):
    """Checked before the analysis (a wrong password, an AE title the node refuses), and at the store
    itself: a DICOMweb service that refuses the POST."""
    from app.commands import analyze_pacs

    monkeypatch.setenv("CARDIOTRACE_DICOMWEB_USER", "cardiotrace-test")
    monkeypatch.setenv("CARDIOTRACE_DICOMWEB_PASSWORD", "wrong")
    base = ["analyze", str(result_studies.echo_file), "--labels", str(result_studies.echo_labels), "--no-strain"]
    assert main([*base, "--send-dicomweb", orthanc.dicomweb_url]) == 2
    assert main([*base, "--send", f"WRONGAET@127.0.0.1:{orthanc.dicom_port}"]) == 2
    monkeypatch.setenv("CARDIOTRACE_DICOMWEB_PASSWORD", orthanc.password)
    monkeypatch.setattr(analyze_pacs, "check_nodes", lambda args: None)  # reach the store itself
    assert main([*base, "--send-dicomweb", orthanc.base_url + "/no-such-service"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and "HTTP 401" in errors[0] and "refused the association" in errors[1]
    assert "STOW-RS store refused, HTTP 404" in errors[2]


def test_non_dicom_source_cannot_be_sent(orthanc, tmp_path, capsys):
    from app.data.writers import nifti_avi  # noqa: F401 - the NIfTI writer exists

    nii = tmp_path / "clip.nii.gz"
    assert main(["phantom", "--modality", "echo", "--seed", "2", "--beats", "1", "--fps", "20", "--size", "96x96",
                 "--format", "nii", "--out", str(nii)]) == 0
    capsys.readouterr()
    assert main(["analyze", str(nii), "--labels", str(tmp_path / "clip.truth.npz"), "--no-strain",
                 "--send", orthanc.node]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "DICOM" in err[-1]


def test_analyze_from_node_by_study_uid_anonymised_files(orthanc, result_studies, tmp_path, monkeypatch, capsys):
    """`analyze STUDY_UID --from-node NODE` retrieves the study through the cache and analyses it; the
    results go to files, anonymised, still in the source study."""
    monkeypatch.setenv("CARDIOTRACE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "dicom"
    code = main(["analyze", result_studies.echo_study_uid, "--from-node", orthanc.node,
                 "--labels", str(result_studies.echo_labels), "--dicom-out", str(out), "--anonymise",
                 "--json", str(tmp_path / "r.json")])
    assert code == 0, capsys.readouterr().err
    assert list((tmp_path / "cache" / result_studies.echo_study_uid).rglob("*.dcm"))
    files = sorted(out.glob("*.dcm"))
    assert [f.name.split("-")[0] for f in files] == ["doc", "seg", "sr"]
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.StudyInstanceUID == result_studies.echo_study_uid
        assert str(ds.PatientName) == "Anonymous" and ds.PatientID == "ANONYMOUS"
    assert main(["analyze", "1.2.3.4", "--from-node", orthanc.node]) == 2
    assert "not found" in capsys.readouterr().err


def test_analyze_from_node_takes_each_clip_of_a_one_series_exam_and_leaves_colour_doppler_out(
        orthanc, tmp_path, monkeypatch, capsys):
    """Scanners that store an exam's clips as instances of one series: `analyze STUDY_UID --from-node` analyses each
    clip (A4C + A2C: the biplane) and leaves the colour Doppler clip out, saying so."""
    from pydicom.uid import generate_uid

    from tests.orthanc_fixtures import DEMO, _upload, copy_with_new_uids
    from tests.readers_helpers import set_rgb_pixels

    monkeypatch.setenv("CARDIOTRACE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "exam"
    study_uid = copy_with_new_uids([DEMO / "a4c.dcm", DEMO / "a2c.dcm"], folder, "EXAM-ONE-SERIES")
    series_uid = generate_uid()
    for path in sorted(folder.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ds.SeriesInstanceUID = series_uid
        ds.save_as(path)
    colour = pydicom.dcmread(folder / "a4c.dcm")  # the A4C with a colour-flow box painted over the LV
    rgb = np.repeat(colour.pixel_array[..., None], 3, axis=-1)
    rows, cols = rgb.shape[1:3]
    jet = np.linspace(120, 250, cols // 4).astype(np.uint8)
    rgb[:, rows // 3: rows // 2, cols // 3: cols // 3 + cols // 4] = np.stack([jet, jet // 4, 0 * jet], axis=-1)
    set_rgb_pixels(colour, rgb)
    colour.SOPInstanceUID = colour.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    colour.save_as(folder / "a4c_colour.dcm", enforce_file_format=True)
    _upload(orthanc, sorted(folder.glob("*.dcm")))
    out = tmp_path / "exam.json"
    code = main(["analyze", study_uid, "--from-node", orthanc.node, "--no-strain", "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    result = json.loads(out.read_text())
    assert sorted(r["view"] for r in result["recordings"]) == ["a2c", "a4c"]
    assert result["biplane"] is not None and result["biplane"]["ef_pct"] is not None
    assert [pydicom.dcmread(item["path"]).SOPInstanceUID for item in result["left_out"]] == [colour.SOPInstanceUID]
    assert "colour Doppler" in result["left_out"][0]["reason"] and "left out" in err
