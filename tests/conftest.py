"""Shared fixtures. Real data lives in ../shared/data beside the checkout; tests that need it skip."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "CARDIOTRACE_ONNX_CACHE_DIR" not in os.environ:  # the tests' exported graphs stay out of the user's cache
    _onnx_cache = tempfile.mkdtemp(prefix="cardiotrace-test-onnx-")
    os.environ["CARDIOTRACE_ONNX_CACHE_DIR"] = _onnx_cache
    atexit.register(shutil.rmtree, _onnx_cache, True)
if "CARDIOTRACE_SITE_DIR" not in os.environ:  # a site model of this machine's user never steers the tests
    _site_dir = tempfile.mkdtemp(prefix="cardiotrace-test-site-")
    os.environ["CARDIOTRACE_SITE_DIR"] = _site_dir
    atexit.register(shutil.rmtree, _site_dir, True)

# the test PACS (Orthanc), one per session for every module that asks for it
from tests.orthanc_fixtures import orthanc, result_studies  # noqa: E402,F401

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture
def site_dir(tmp_path, monkeypatch) -> Path:
    """An empty site-model folder for this test only (app/ml/site_model.py; the session's one is shared)."""
    root = tmp_path / "site"
    monkeypatch.setenv("CARDIOTRACE_SITE_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test with the reason."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (the team provides it beside the checkout)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


# the skip rules (own-code import skips always fail; clinical skips fail in CI): see tests/skip_guard.py
from tests.skip_guard import (  # noqa: E402,F401  (hooks: pytest finds them in this module)
    pytest_collection_modifyitems,
    pytest_collectreport,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)
