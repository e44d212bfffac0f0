"""Node settings and the series cache without a network: AET@HOST:PORT, DICOMweb credentials from the
settings file or the environment (never from code), saved nodes, date ranges, cache completeness and size."""

from __future__ import annotations

import pytest

from app.pacs.cache import SeriesCache
from app.pacs.errors import PacsError
from app.pacs.models import parse_date_range
from app.pacs.nodes import DicomWebNode, DimseNode, dicomweb_node, parse_dimse, resolve_node, save_node


def test_parse_dimse_node():
    assert parse_dimse("ORTHANC@pacs.local:4242", "ME") == DimseNode("ORTHANC", "pacs.local", 4242, our_aet="ME")
    for bad in ("ORTHANC@host", "host:104", "A@h:70000", "TOO_LONG_AE_TITLE_X@h:104"):
        with pytest.raises(PacsError, match="AET@HOST:PORT"):
            parse_dimse(bad)


def test_dicomweb_credentials_from_environment_win_over_settings():
    settings = {"username": "from-file", "password": "p1"}
    node = dicomweb_node("http://h:8042/dicom-web/", settings, environ={})
    assert (node.url, node.username, node.password, node.token) == ("http://h:8042/dicom-web", "from-file", "p1", "")
    env = {"CARDIOTRACE_DICOMWEB_USER": "env-user", "CARDIOTRACE_DICOMWEB_PASSWORD": "s3cr3t-pw",
           "CARDIOTRACE_DICOMWEB_TOKEN": "s3cr3t-tok"}
    node = dicomweb_node("https://h/dicom-web", settings, environ=env)
    assert (node.username, node.password, node.token) == ("env-user", "s3cr3t-pw", "s3cr3t-tok")
    assert "s3cr3t" not in repr(node)
    with pytest.raises(PacsError, match="DICOMweb URL"):
        dicomweb_node("ftp://h/x", environ={})


def test_saved_nodes_resolve_by_name(tmp_path):
    env = {"CARDIOTRACE_CONFIG_DIR": str(tmp_path)}
    save_node("echo-lab", {"dimse": "PACS1@10.0.0.5:104"}, env)
    save_node("web", {"dicomweb": "http://h/dicom-web", "token": "t"}, env)
    assert resolve_node("echo-lab", environ=env) == DimseNode("PACS1", "10.0.0.5", 104)
    web = resolve_node("web", environ=env)
    assert isinstance(web, DicomWebNode) and web.token == "t"
    with pytest.raises(PacsError, match="not a node in"):
        resolve_node("nowhere", environ=env)
    (tmp_path / "pacs_nodes.json").write_text("{broken")
    with pytest.raises(PacsError, match="not a readable PACS settings file"):
        resolve_node("echo-lab", environ=env)


@pytest.mark.parametrize("text, expected", [("20250101-20251231", ("20250101", "20251231")),
                                            ("2025-01-01-", ("20250101", "")), ("-20250101", ("", "20250101")),
                                            ("20250101", ("20250101", "20250101")), (None, ("", ""))])
def test_date_ranges(text, expected):
    assert parse_date_range(text) == expected


def test_date_range_refuses_other_text():
    with pytest.raises(PacsError, match="--date"):
        parse_date_range("last week")
    with pytest.raises(PacsError, match="20251345 is no date"):  # had gone to the node as its query
        parse_date_range("2025-13-45")


@pytest.mark.parametrize("argv, said", [
    (["--study", "not-a-uid!"], "argument --study: 'not-a-uid!' is not a DICOM UID"),
    (["--study", "1.2.3", "--series", "1.2.x"], "argument --series: '1.2.x' is not a DICOM UID"),
    (["--study", "1.2.3", "--move-port", "99999"], "argument --move-port: must be a port number 1-65535"),
])
def test_get_refuses_a_malformed_uid_or_port_before_asking_the_node(tmp_path, capsys, argv, said):
    """They had been sent (the node said 'connection refused' or an error of its own)."""
    from app.cli import main

    assert main(["pacs", "get", "--node", "X@127.0.0.1:9", "--out", str(tmp_path / "o"), *argv]) == 2
    assert said in capsys.readouterr().err


def test_cache_keeps_only_complete_series_and_fits_its_limit(tmp_path):
    cache = SeriesCache(tmp_path, limit_bytes=2500)
    for n, series in enumerate(("1.2.1", "1.2.2", "1.2.3")):
        staging = cache.begin()
        (staging / "a.dcm").write_bytes(b"x" * 1000)
        if n == 2:
            with pytest.raises(PacsError, match="received 1 of 2"):
                cache.commit(staging, "1.2", series, expected=2)
            assert not staging.exists()
        else:
            cache.commit(staging, "1.2", series, expected=1)
    assert cache.lookup("1.2", "1.2.3") is None  # the incomplete one was never kept
    assert cache.lookup("1.2", "1.2.1") is not None and cache.lookup("1.2", "1.2.2") is not None
    for series in ("1.2.4", "1.2.5"):
        staging = cache.begin()
        (staging / "a.dcm").write_bytes(b"x" * 1000)
        cache.commit(staging, "1.2", series, expected=1)
    assert cache.size_bytes() <= 2500
    assert cache.lookup("1.2", "1.2.5") is not None and cache.lookup("1.2", "1.2.1") is None
    with pytest.raises(PacsError, match="not a DICOM UID"):
        cache.series_folder("../etc", "1")
