"""Pytest hooks (imported by conftest.py) that stop clinical tests from turning silently into skips.

Two rules, checked when the session ends:
- always: a skip whose reason is a failed import of our own packages (`app`, `lab`, `tests`) fails the session:
  our code is never an optional resource (a broken `app/data/phantom/__init__.py` once turned 27
  end-to-end EF/volume/strain tests into skips and the run still passed).
- in CI (env CI=true, or CARDIOTRACE_STRICT_SKIPS=1): a clinical test (marked `shared`, or in one of the
  end-to-end modules below) skipped while ../shared/data exists fails the session, unless its reason is an
  external resource the CI machine may lack (a GPU, pydicom's downloadable test files).
The terminal summary prints how many clinical tests ran and were skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# end-to-end clinical numbers (EF, volumes, strain, ED/ES) that need nothing outside the repository
CLINICAL_MODULES = frozenset({
    "test_cli_analyze.py", "test_pipeline_phantom.py", "test_pipeline_synthetic.py", "test_report_phantom.py",
    "test_strain_pipeline.py", "test_strain_camus.py", "test_analysis_camus.py", "test_echo_seg_real.py",
    "test_volume_eval.py", "test_clinical_rules.py",
})
OWN_IMPORT = re.compile(r"(could not import|No module named|cannot import name)[^\n]*['\"](app|lab|tests)[.'\"]")
EXTERNAL_REASON = re.compile(r"GPU|CUDA|pydicom test file", re.IGNORECASE)


class _Seen:
    """What this session collected, ran and skipped (one session per process)."""

    clinical: set[str] = set()
    ran: set[str] = set()
    skips: list[tuple[str, str, bool]] = []  # (nodeid, reason, clinical)


def strict_skips() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("CARDIOTRACE_STRICT_SKIPS") == "1"


def shared_data_dir(config: pytest.Config) -> Path:
    return Path(config.rootpath).parent / "shared" / "data"


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def pytest_configure(config: pytest.Config) -> None:
    _Seen.clinical, _Seen.ran, _Seen.skips = set(), set(), []


def pytest_collection_modifyitems(config: pytest.Config, items) -> None:
    for item in items:
        if item.get_closest_marker("shared") or Path(str(item.path)).name in CLINICAL_MODULES:
            _Seen.clinical.add(item.nodeid)


def pytest_collectreport(report) -> None:
    """A module skipped at import (module-level skip) yields no items: record it here."""
    if report.skipped:
        module = Path(report.nodeid.split("::")[0]).name
        _Seen.skips.append((report.nodeid, _skip_reason(report), module in CLINICAL_MODULES))


def pytest_runtest_logreport(report) -> None:
    clinical = report.nodeid in _Seen.clinical
    if report.skipped and not hasattr(report, "wasxfail"):
        _Seen.skips.append((report.nodeid, _skip_reason(report), clinical))
    elif report.when == "call" and clinical:
        _Seen.ran.add(report.nodeid)


def offending_skips(config: pytest.Config) -> list[str]:
    """'nodeid: why it may not be skipped' for every skip the rules above forbid."""
    strict, shared_exists = strict_skips(), shared_data_dir(config).is_dir()
    bad = []
    for nodeid, reason, clinical in _Seen.skips:
        if OWN_IMPORT.search(reason):
            bad.append(f"{nodeid}: skipped on an import of our own code ({reason.strip()})")
        elif strict and clinical and shared_exists and not EXTERNAL_REASON.search(reason):
            bad.append(f"{nodeid}: clinical test skipped in CI although ../shared/data exists ({reason.strip()})")
    return bad


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ok = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if offending_skips(session.config) and session.exitstatus in ok:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = [s for s in _Seen.skips if s[2]]
    if _Seen.ran or skipped:
        terminalreporter.write_line(f"clinical tests: {len(_Seen.ran)} ran, {len(skipped)} skipped"
                                    f" (strict skip rules {'on' if strict_skips() else 'off: set CI=true'})")
    bad = offending_skips(config)
    if bad:
        terminalreporter.section("forbidden skips (tests/skip_guard.py)", sep="=", red=True)
        for line in bad:
            terminalreporter.write_line(line, red=True)
