"""`python -m app pacs echo|find|get` against the live Orthanc, exactly as the issue's command line says."""

from __future__ import annotations

import json
import subprocess
import sys

import pydicom

from app.cli import main
from tests.orthanc_fixtures import free_port


def test_echo_exit_codes(orthanc, capsys):
    assert main(["pacs", "echo", "--node", orthanc.node]) == 0
    assert main(["pacs", "echo", "--node", f"ORTHANC@127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "connection refused" in err[0]


def test_find_json_both_dialects(orthanc, tmp_path, monkeypatch):
    for key, value in orthanc.env().items():
        monkeypatch.setenv(key, value)
    outs = {}
    for name, node in (("dimse", ["--node", orthanc.node]), ("web", ["--dicomweb", orthanc.dicomweb_url])):
        out = tmp_path / f"{name}.json"
        assert main(["pacs", "find", *node, "--patient-id", "PHANTOM-1", "--modality", "US",
                     "--date", "20250101-20250101", "--json", str(out)]) == 0
        outs[name] = json.loads(out.read_text())["studies"]
    for studies in outs.values():
        assert [s["study_uid"] for s in studies] == [orthanc.echo_study_uid]
        series = [s for s in studies[0]["series"] if s["modality"] == "US"]  # the viewer test adds results
        assert len(series) == 2 and all(s["modality"] == "US" and s["n_instances"] == 1 for s in series)
        assert studies[0]["patient"]["id"] == "PHANTOM-1" and studies[0]["date"] == "20250101"
    assert {s["series_uid"] for s in outs["dimse"][0]["series"]} == {s["series_uid"] for s in outs["web"][0]["series"]}


def test_get_study_as_files(orthanc, tmp_path, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    from app.pacs import retrieve
    from app.pacs.nodes import parse_dimse

    echo = [s.series_uid for s in retrieve.find_series(parse_dimse(orthanc.node), orthanc.echo_study_uid)
            if s.modality == "US"]
    series = [arg for uid in echo for arg in ("--series", uid)]
    assert main(["pacs", "get", "--node", orthanc.node, "--study", orthanc.echo_study_uid, *series,
                 "--out", str(out)]) == 0
    files = sorted(out.glob("*.dcm"))
    assert len(files) == 2
    assert {str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) for f in files} == {
        orthanc.echo_study_uid
    }


def test_get_unknown_study_is_one_line_exit_2(orthanc, tmp_path):
    result = subprocess.run([sys.executable, "-m", "app", "pacs", "get", "--node", orthanc.node, "--study", "1.2.3.4",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not found" in result.stderr
