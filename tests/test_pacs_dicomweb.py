"""DICOMweb against the live Orthanc (basic auth from the environment): QIDO-RS, WADO-RS, refusals."""

from __future__ import annotations

import pytest

from app.data.readers import load_recording
from app.pacs import retrieve
from app.pacs.cache import SeriesCache
from app.pacs.errors import PacsError
from app.pacs.models import QueryFilter
from app.pacs.nodes import dicomweb_node


@pytest.fixture
def node(orthanc, monkeypatch):
    for key, value in orthanc.env().items():
        monkeypatch.setenv(key, value)
    return dicomweb_node(orthanc.dicomweb_url)


def test_qido_studies_and_series(node, orthanc):
    studies = retrieve.find(node, QueryFilter(patient_id="PHANTOM-1", modality="US"))
    assert [s.study_uid for s in studies] == [orthanc.echo_study_uid]
    assert len([s for s in studies[0].series if s.modality == "US"]) == 2
    mr = retrieve.find(node, QueryFilter(modality="MR"))
    assert [s.study_uid for s in mr] == [orthanc.mr_study_uid]
    assert sum(s.n_instances for s in mr[0].series) == 128


def test_wado_series_opens_through_the_readers(node, orthanc, tmp_path):
    cache = SeriesCache(tmp_path / "cache")
    steps = list(retrieve.retrieve_study(node, orthanc.mr_study_uid, cache=cache))
    assert steps[-1].fraction == pytest.approx(1.0)
    folder = next((tmp_path / "cache" / orthanc.mr_study_uid).iterdir())
    recording = load_recording(folder)
    assert recording.modality == "mri" and recording.is_stack and recording.frames.shape[:2] == (8, 16)


def test_wrong_password_is_one_clear_line(orthanc, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_DICOMWEB_USER", "cardiotrace-test")
    monkeypatch.setenv("CARDIOTRACE_DICOMWEB_PASSWORD", "wrong")
    with pytest.raises(PacsError, match="HTTP 401"):
        retrieve.echo(dicomweb_node(orthanc.dicomweb_url))


def test_nothing_listening_is_one_clear_line():
    from tests.orthanc_fixtures import free_port

    with pytest.raises(PacsError, match="cannot connect"):
        retrieve.echo(dicomweb_node(f"http://127.0.0.1:{free_port()}/dicom-web"))
