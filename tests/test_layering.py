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
    # the subcommands sit beside the viewer: app.cli imports them by name, so they import neither it nor the viewer
    "commands": ("app.ui", "app.cli"),
}
# the top-level modules every layer uses import nothing of app/
BASE_MODULES = ("tasks.py", "paths.py", "ahead.py")


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


@pytest.mark.parametrize("name", BASE_MODULES)
def test_base_modules_import_nothing_of_the_app(name):
    bad = [m for m in imported_modules(APP / name) if _starts(m, ("app",))]
    assert not bad, f"app/{name} imports {bad}"


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


# ---- the lab boundary and import circles (issue 32) ----

LAB = APP.parent / "lab"
# Import circles still open in app/, each to be opened by the work named beside it; a new circle fails the test.
KNOWN_CIRCLES: dict[frozenset[str], str] = {}


def module_name(path: Path, root: Path = APP.parent) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges(path: Path, modules: set[str], root: Path = APP.parent) -> set[str]:
    """The modules of `modules` that `path` imports anywhere in the file, function-level (lazy) imports included;
    `from pkg import name` counts as importing pkg.name when that is a module, else pkg. Imports under
    `if TYPE_CHECKING:` are left out: they never run (annotations only)."""
    me = module_name(path, root)
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = me.split(".")[: len(me.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(package + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in modules else base)
    return (out & modules) - {me}


def _is_type_checking(node: ast.AST) -> bool:
    """An `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`) block."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_circles(files: list[Path], root: Path = APP.parent, strings: bool = True) -> list[frozenset[str]]:
    """Strongly connected components (more than one module) of the import graph of `files`; with `strings`,
    a module named by an import string (a registry's "app.x:f", app.cli's f"app.commands.{name}") counts as
    imported."""
    modules = {module_name(p, root): p for p in files}
    graph = {m: import_edges(p, set(modules), root) | (named_modules(p, set(modules)) if strings else set())
             for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[frozenset[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return circles


def test_app_never_imports_the_lab():
    """`train`/`evaluate` name lab entry points as strings (app/commands); no module of app/ imports lab."""
    bad = [
        f"{p.relative_to(APP.parent)} imports {m}"
        for p in python_files()
        for m in imported_modules(p)
        if _starts(m, ("lab",))
    ]
    assert not bad, "app/ imports the lab:\n" + "\n".join(bad)


def test_no_import_circles_inside_app():
    """No two modules of app/ import each other, directly or round a longer circle, counting lazy imports and
    import strings."""
    new = [sorted(c) for c in import_circles(python_files()) if c not in KNOWN_CIRCLES]
    assert not new, "import circles in app/:\n" + "\n".join(" <-> ".join(c) for c in new)


def test_no_import_circles_inside_the_lab():
    circles = [sorted(c) for c in import_circles(sorted(LAB.rglob("*.py")))]
    assert not circles, "import circles in lab/:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_circle_detector_sees_a_planted_circle(tmp_path):
    """The check itself can fail: a lazy import back from b to a is a circle; a one-way pair is not."""
    pkg = tmp_path / "app" / "pkg"
    pkg.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from app.pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from app.pkg.a import g\n")
    (pkg / "c.py").write_text("from . import a\n")
    files = sorted((tmp_path / "app").rglob("*.py"))
    modules = {module_name(p, tmp_path) for p in files}
    assert modules == {"app", "app.pkg", "app.pkg.a", "app.pkg.b", "app.pkg.c"}
    by_name = {module_name(p, tmp_path): p for p in files}
    assert import_edges(by_name["app.pkg.c"], modules, tmp_path) == {"app.pkg.a"}
    assert import_edges(by_name["app.pkg.b"], modules, tmp_path) == {"app.pkg.a"}
    assert import_circles(files, tmp_path) == [frozenset({"app.pkg.a", "app.pkg.b"})]
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.pkg.a import g\n")
    assert import_circles(files, tmp_path) == []  # an annotation-only import never runs
    (pkg / "b.py").write_text("x = 1\n")
    assert import_circles(files, tmp_path) == []
    bad = tmp_path / "app" / "uses_lab.py"
    bad.write_text("def f():\n    import lab.training.echo_seg\n")
    assert any(_starts(m, ("lab",)) for m in imported_modules(bad))


def test_train_and_evaluate_targets_name_lab_modules():
    """Every target is a string "lab.<module>:<function>" whose module file exists (nothing imported here)."""
    from app.commands import evaluate, train

    for targets in (train.TARGETS, evaluate.TARGETS):
        for name, target in targets.items():
            module, _, function = target.partition(":")
            assert module.startswith("lab.") and function, (name, target)
            assert (APP.parent / (module.replace(".", "/") + ".py")).is_file(), (name, target)


def test_train_and_evaluate_without_the_lab_exit_2_with_one_line():
    """As in the installed bundle (no lab/): `train`/`evaluate` say a source checkout runs them, exit 2."""
    code = (
        "import sys; sys.modules['lab'] = None\n"
        "from app.cli import main\n"
        "codes = [main(['train', 'echo-seg', '--help']), main(['evaluate', 'mri-seg']), main(['train', 'list'])]\n"
        "print(codes)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[2, 2, 0]"
    assert out.stderr.count("source checkout") == 2 and "Traceback" not in out.stderr


# ---- the product holds only product code (issue 57) ----

ENTRY_POINTS = ("app.__main__", "app.cli")  # `python -m app`, the `cardiotrace` script (app.cli:entry_point)


def named_modules(path: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that `path` names as import strings: "app.x.y" or "app.x.y:attr" constants
    (registries, the warm-up list), and f-strings "app.pkg.{name}" (every module of app.pkg)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            name = node.value.split(":")[0]
            if name in modules:
                out.add(name)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            prefix = str(node.values[0].value)
            if prefix.startswith("app.") and prefix.endswith("."):
                out.update(m for m in modules if m.startswith(prefix))
    return out


def reachable_modules(files: list[Path], entry_points: tuple[str, ...], root: Path = APP.parent) -> set[str]:
    """The modules of `files` that the entry points import (lazily too) or name as import strings, with the
    packages above each."""
    paths = {module_name(p, root): p for p in files}
    modules = set(paths)
    seen: set[str] = set()
    todo = [m for m in entry_points if m in modules]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))} & modules
        todo += sorted((import_edges(paths[m], modules, root) | named_modules(paths[m], modules) | parents) - seen)
    return seen


def test_every_module_of_the_product_is_reached_from_an_entry_point():
    """Code no entry point reaches (dataset loaders, evaluation metrics, developer tools) belongs in lab/ or
    benchmarks/, not in the product."""
    files = python_files()
    unreached = sorted({module_name(p) for p in files} - reachable_modules(files, ENTRY_POINTS))
    assert not unreached, "modules of app/ no entry point reaches:\n" + "\n".join(unreached)


def test_reachability_sees_an_orphan_and_an_import_string(tmp_path):
    pkg = tmp_path / "app"
    (pkg / "commands").mkdir(parents=True)
    for name, text in {
        "__init__.py": "",
        "cli.py": "import importlib\nimportlib.import_module(f'app.commands.{n}')\nREG = {'x': 'app.named:f'}\n",
        "commands/__init__.py": "",
        "commands/run.py": "def f():\n    from app import used\n",
        "used.py": "",
        "named.py": "",
        "orphan.py": "import app.used\n",
    }.items():
        (pkg / name).write_text(text)
    files = sorted(pkg.rglob("*.py"))
    found = reachable_modules(files, ("app.cli",), root=tmp_path)
    assert found == {"app", "app.cli", "app.commands", "app.commands.run", "app.used", "app.named"}


def test_a_circle_through_an_import_string_is_seen(tmp_path):
    """app.cli names its subcommands as strings; a subcommand that imports app.cli closes a circle."""
    pkg = tmp_path / "app"
    (pkg / "commands").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "commands" / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("import importlib\nimportlib.import_module(f'app.commands.{n}')\n")
    (pkg / "commands" / "run.py").write_text("def f():\n    from app.cli import UsageError\n")
    files = sorted(pkg.rglob("*.py"))
    assert import_circles(files, tmp_path) == [frozenset({"app.cli", "app.commands.run"})]
    assert import_circles(files, tmp_path, strings=False) == []
