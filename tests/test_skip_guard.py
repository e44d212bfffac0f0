"""The skip rules of tests/skip_guard.py, run on small throw-away test projects in a subprocess."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

CONFTEST = """from skip_guard import (pytest_collection_modifyitems, pytest_collectreport, pytest_configure,
    pytest_runtest_logreport, pytest_sessionfinish, pytest_terminal_summary)
"""
INI = "[pytest]\nmarkers =\n    shared: needs ../shared/data\n"


def run_project(tmp_path: Path, tests: dict[str, str], *, ci: bool, shared: bool) -> subprocess.CompletedProcess:
    project = tmp_path / "proj"
    (project / "tests").mkdir(parents=True)
    if shared:
        (tmp_path / "shared" / "data").mkdir(parents=True)
    (project / "pytest.ini").write_text(INI)
    shutil.copy(TESTS / "skip_guard.py", project / "tests" / "skip_guard.py")
    (project / "tests" / "conftest.py").write_text(CONFTEST)
    for name, body in tests.items():
        (project / "tests" / name).write_text("import pytest\n\n" + body)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CARDIOTRACE_STRICT_SKIPS")}
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **({"CI": "true"} if ci else {}))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=60)


OWN_IMPORT = {"test_own.py": 'phantom = pytest.importorskip("app.no_such_module")\n\ndef test_ef():\n    pass\n'}
SHARED_SKIP = {"test_real.py": ('@pytest.mark.shared\ndef test_ef_on_camus():\n'
                               '    pytest.skip("models/x not installed")\n')}
GPU_SKIP = {"test_real.py": '@pytest.mark.shared\ndef test_ef_on_camus():\n    pytest.skip("no CUDA GPU")\n'}


def test_skip_on_an_import_of_our_own_code_fails_even_outside_ci(tmp_path):
    done = run_project(tmp_path, OWN_IMPORT, ci=False, shared=False)
    assert done.returncode == 1, done.stdout
    assert "skipped on an import of our own code" in done.stdout


@pytest.mark.parametrize("tests,ci,shared,expected", [
    (SHARED_SKIP, True, True, 1),   # CI, data present: the clinical test may not skip
    (SHARED_SKIP, False, True, 0),  # a developer's run: counted and listed, not failed
    (SHARED_SKIP, True, False, 0),  # CI without ../shared: the resource is missing, the skip is right
    (GPU_SKIP, True, True, 0),      # an external resource the machine lacks
])
def test_clinical_skip_fails_in_ci_when_the_data_exists(tmp_path, tests, ci, shared, expected):
    done = run_project(tmp_path, tests, ci=ci, shared=shared)
    assert done.returncode == expected, done.stdout
    assert "clinical tests: 0 ran, 1 skipped" in done.stdout


def test_no_test_importorskips_our_own_modules():
    """Our modules are imported normally: a broken import must be an error, never a skip."""
    offenders = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "importorskip" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).split(".")[0] in ("app", "tests")):
                offenders.append(f"{path.name}:{node.lineno} {node.args[0].value}")
    assert not offenders, offenders
