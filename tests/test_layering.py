"""The layers stay one-way: no Qt below app/ui, no torch outside app/ml, nothing imports upward."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6", "PyQt5", "PyQt6", "superqt")
# layer -> packages it must not import
FORBIDDEN = {
    "data": ("app.analysis", "app.ml", "app.workflow", "app.report", "app.ui", "app.cli", "app.commands", "app.pacs"),
    "analysis": ("app.ml", "app.workflow", "app.report", "app.ui", "app.cli", "app.commands", "app.pacs"),
    "ml": ("app.workflow", "app.report", "app.ui", "app.cli", "app.commands", "app.pacs"),
    "workflow": ("app.report", "app.ui", "app.cli", "app.commands", "app.pacs"),
    # PACS networking sits beside app/data: it may use app.data (readers) and app.tasks, nothing above;
    # app/report builds and sends the DICOM results through it, app/ui and app/commands call it
    "pacs": ("app.analysis", "app.ml", "app.workflow", "app.report", "app.ui", "app.cli", "app.commands"),
    "report": ("app.ui", "app.cli", "app.commands"),
}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def python_files(sub: str = "") -> list[Path]:
    return sorted((APP / sub).rglob("*.py"))


def _starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_no_qt_outside_ui():
    bad = [
        f"{p.relative_to(APP.parent)} imports {m}"
        for p in python_files()
        if "ui" not in p.relative_to(APP).parts[:1]
        for m in imported_modules(p)
        if _starts(m, QT_MODULES)
    ]
    assert not bad, "Qt imported below app/ui:\n" + "\n".join(bad)


def test_no_torch_outside_ml():
    bad = [
        f"{p.relative_to(APP.parent)} imports {m}"
        for p in python_files()
        if p.relative_to(APP).parts[:1] != ("ml",)
        for m in imported_modules(p)
        if _starts(m, ("torch", "torchvision", "onnxruntime"))
    ]
    assert not bad, "torch imported outside app/ml:\n" + "\n".join(bad)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downward(layer):
    bad = [
        f"{p.relative_to(APP.parent)} imports {m}"
        for p in python_files(layer)
        for m in imported_modules(p)
        if _starts(m, FORBIDDEN[layer])
    ]
    assert not bad, f"app/{layer} imports a layer above it:\n" + "\n".join(bad)


def test_detector_sees_a_violation(tmp_path):
    """The check itself can fail: a file importing PySide6 is reported."""
    f = tmp_path / "bad.py"
    f.write_text("import os\nfrom PySide6.QtCore import QObject\nimport torch.nn as nn\n")
    mods = imported_modules(f)
    assert any(_starts(m, QT_MODULES) for m in mods)
    assert any(_starts(m, ("torch",)) for m in mods)


def test_cli_help_does_not_import_torch_or_qt():
    """Heavy imports stay lazy: the CLI and the data layer load without torch or Qt."""
    code = (
        "import sys, app.cli, app.data, app.analysis, app.workflow\n"
        "app.cli.build_parser()\n"
        "heavy = [m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout.strip()}"
