"""DIMSE against the live Orthanc: C-ECHO, C-FIND (study, series), C-GET, C-MOVE, bad nodes, the cache."""

from __future__ import annotations

import time

import pydicom
import pytest

from app.pacs import retrieve
from app.pacs.cache import SeriesCache
from app.pacs.errors import PacsError, RetrieveCancelled
from app.pacs.models import QueryFilter
from app.pacs.nodes import parse_dimse
from tests.orthanc_fixtures import free_port


def test_echo(orthanc):
    retrieve.echo(parse_dimse(orthanc.node))


def test_find_studies_and_series(orthanc):
    node = parse_dimse(orthanc.node)
    studies = retrieve.find(node, QueryFilter(patient_id="PHANTOM-1", modality="US"))
    assert [s.study_uid for s in studies] == [orthanc.echo_study_uid]
    study = studies[0]
    assert study.patient_name.startswith("Phantom")
    echo_series = [s for s in study.series if s.modality == "US"]  # (the viewer test adds our results)
    assert len(echo_series) == 2 and all(s.n_instances == 1 for s in echo_series)
    mr = retrieve.find(node, QueryFilter(modality="MR"))
    assert [s.study_uid for s in mr] == [orthanc.mr_study_uid]
    assert sum(s.n_instances for s in mr[0].series) == 128
    assert retrieve.find(node, QueryFilter(patient_id="NOBODY")) == []


def test_find_by_date_range(orthanc):
    node = parse_dimse(orthanc.node)
    found = retrieve.find(node, QueryFilter(date_from="20241231", date_to="20250102"), with_series=False)
    assert orthanc.echo_study_uid in [s.study_uid for s in found]
    assert retrieve.find(node, QueryFilter(date_from="19900101", date_to="19900102"), with_series=False) == []


def test_c_get_series_into_cache_and_reuse(orthanc, tmp_path):
    node = parse_dimse(orthanc.node)
    cache = SeriesCache(tmp_path / "cache", limit_bytes=10**9)
    series = retrieve.find_series(node, orthanc.mr_study_uid)[0]
    steps = []
    gen = retrieve.retrieve_series(node, orthanc.mr_study_uid, series.series_uid, cache)
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            got = stop.value
            break
    assert got.n_instances == series.n_instances and not got.from_cache
    files = sorted((tmp_path / "cache").rglob("*.dcm"))
    assert len(files) == series.n_instances
    assert {str(pydicom.dcmread(f, stop_before_pixels=True).SeriesInstanceUID) for f in files} == {series.series_uid}
    assert steps[-1].fraction == 1.0 and all(0 <= s.fraction <= 1 for s in steps)
    again = list(retrieve.retrieve_series(node, orthanc.mr_study_uid, series.series_uid, cache))
    assert again[-1].message == "from the local cache"


def test_c_move_to_our_storage_scp(orthanc, tmp_path):
    node = parse_dimse(orthanc.node)
    cache = SeriesCache(tmp_path / "cache")
    series = [s for s in retrieve.find_series(node, orthanc.echo_study_uid) if s.modality == "US"]
    gen = retrieve.retrieve_study(node, orthanc.echo_study_uid, [s.series_uid for s in series], cache=cache,
                                  move_port=orthanc.move_port)
    *_, last = list(gen) or [None]
    folders = sorted(p for p in (tmp_path / "cache" / orthanc.echo_study_uid).iterdir())
    assert {f.name for f in folders} == {s.series_uid for s in series}
    for f in folders:
        ds = pydicom.dcmread(next(f.glob("*.dcm")))
        assert ds.pixel_array.shape[0] == 36  # the whole clip arrived and decodes


def test_cancelled_retrieval_keeps_nothing(orthanc, tmp_path):
    node = parse_dimse(orthanc.node)
    cache = SeriesCache(tmp_path / "cache")
    series = retrieve.find_series(node, orthanc.mr_study_uid)[0]
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(RetrieveCancelled):
        list(retrieve.retrieve_series(node, orthanc.mr_study_uid, series.series_uid, cache, cancel=cancel))
    assert cache.lookup(orthanc.mr_study_uid, series.series_uid) is None
    assert list((tmp_path / "cache").rglob("*.dcm")) == []


def test_incomplete_series_is_never_kept(orthanc, tmp_path):
    """The node claims one more instance than it sends: the series is refused, nothing is cached."""
    node = parse_dimse(orthanc.node)
    cache = SeriesCache(tmp_path / "cache")
    series = retrieve.find_series(node, orthanc.echo_study_uid)[0]
    with pytest.raises(PacsError, match="received 1 of 2"):
        list(retrieve.retrieve_series(node, orthanc.echo_study_uid, series.series_uid, cache,
                                      expected=series.n_instances + 1))
    assert cache.lookup(orthanc.echo_study_uid, series.series_uid) is None
    assert list((tmp_path / "cache").rglob("*.dcm")) == []


@pytest.mark.parametrize("how", ["closed port", "wrong called AE", "unroutable host"])
def test_bad_node_one_clear_message_within_10_s(orthanc, how):
    text = {"closed port": f"ORTHANC@127.0.0.1:{free_port()}",
            "wrong called AE": f"NOTORTHANC@127.0.0.1:{orthanc.dicom_port}",
            "unroutable host": "ORTHANC@10.255.255.1:104"}[how]
    start = time.monotonic()
    with pytest.raises(PacsError) as err:
        retrieve.echo(parse_dimse(text))
    assert time.monotonic() - start < 10
    assert "\n" not in str(err.value) and str(err.value)


def test_cache_evicts_least_recently_used(orthanc, tmp_path):
    node = parse_dimse(orthanc.node)
    cache = SeriesCache(tmp_path / "cache", limit_bytes=1)  # room for the newest series only
    uids = [s.series_uid for s in retrieve.find_series(node, orthanc.echo_study_uid) if s.modality == "US"]
    for uid in uids:
        list(retrieve.retrieve_series(node, orthanc.echo_study_uid, uid, cache))
    assert cache.lookup(orthanc.echo_study_uid, uids[0]) is None
    assert cache.lookup(orthanc.echo_study_uid, uids[1]) is not None


def _peer(answer: str):
    """A TCP peer on a free port that reads the A-ASSOCIATE-RQ and then drops the connection ("drop") or
    keeps it open without a word ("silent"); returns (port, stop)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            try:
                conn.recv(4096)
            except OSError:
                pass
            if answer == "drop":
                conn.close()
            else:
                held.append(conn)

    threading.Thread(target=serve, daemon=True).start()

    def stop():
        server.close()
        for conn in held:
            conn.close()

    return server.getsockname()[1], stop


@pytest.mark.parametrize("answer, expected", [("drop", "refused the association: it aborted it at once"),
                                              ("silent", "aborted or timed out after 1 s")])
def test_a_dropped_association_is_a_refusal_and_only_a_full_wait_a_timeout(answer, expected):
    """Orthanc may close the socket right after its A-ASSOCIATE-RJ (or instead of it) on a busy machine:
    that is still a refusal, named as one; a peer that never answers is a timeout."""
    from dataclasses import replace

    port, stop = _peer(answer)
    try:
        with pytest.raises(PacsError) as err:
            retrieve.echo(replace(parse_dimse(f"SOMEPACS@127.0.0.1:{port}"), timeout_s=1.0))
    finally:
        stop()
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_series_with_non_standard_uids_arrives_without_a_warning_per_instance(orthanc, tmp_path):
    """Sunnybrook's instance UIDs have a last component with a leading zero: C-GET of its 200 images printed 202
    pydicom warnings on stderr. The instances are stored as sent, without them."""
    import random
    import warnings

    from tests.orthanc_fixtures import DEMO

    root = f"2.16.124.113543.6006.99.{random.randrange(10**9)}"  # Sunnybrook's: instances' last component led by 0
    ds = pydicom.dcmread(DEMO / "a4c.dcm")
    study, series = root + ".1", root + ".2"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.PatientID = study, series, "ODD-UIDS"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = root + ".03"
    path = tmp_path / "odd.dcm"
    ds.save_as(path, enforce_file_format=True)
    uploaded = orthanc.rest("POST", "/instances", data=path.read_bytes())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(retrieve.retrieve_series(parse_dimse(orthanc.node), study, series, SeriesCache(tmp_path / "cache")))
        assert not [w for w in caught if "Invalid value for VR UI" in str(w.message)]
        files = list((tmp_path / "cache").rglob("*.dcm"))
        assert len(files) == 1 and pydicom.dcmread(files[0], stop_before_pixels=True).SOPInstanceUID == root + ".03"
    finally:
        orthanc.rest("DELETE", f"/studies/{uploaded['ParentStudy']}")
