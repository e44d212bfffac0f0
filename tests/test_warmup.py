"""The import warm-up the viewer runs in a worker at start (app/workflow/warmup.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.tasks import Progress
from app.workflow import warmup
from app.workflow.warmup import ANALYSIS_MODULES, load_native_libraries, warm_up

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def unfrozen_heap():
    """The warm-up freezes the heap once per process: the other tests of this process collect as before."""
    yield
    gc.unfreeze()
    warmup._frozen = False


def test_warm_up_imports_each_module_with_progress_and_skips_a_missing_one():
    sys.modules.pop("colorsys", None)
    steps = list(warm_up(modules=("colorsys", "no_such_module_here", "app.analysis.kalman")))
    assert "colorsys" in sys.modules and "app.analysis.kalman" in sys.modules
    assert all(isinstance(s, Progress) for s in steps)
    assert [round(s.fraction, 3) for s in steps] == [0.333, 1.0]  # the missing module gives no step


def test_warm_up_stops_when_cancelled():
    stop = threading.Event()
    stop.set()
    assert list(warm_up(stop, modules=("colorsys",))) == []
    assert gc.isenabled()


def test_the_collector_is_paused_while_importing_then_the_heap_is_frozen_and_collection_resumes():
    """Full collections of the objects the imports make stalled the window (40-120 ms each)."""
    before = gc.get_freeze_count()
    assert gc.isenabled()
    seen = [gc.isenabled() for _ in warm_up(modules=("colorsys", "app.analysis.kalman"))]
    assert seen == [False, False]
    assert gc.isenabled() and gc.get_freeze_count() > max(before, 10000)
    assert warmup.freeze_long_lived() == gc.get_freeze_count()  # once per process: a second call adds nothing


def test_the_collector_resumes_when_the_warm_up_is_abandoned():
    steps = warm_up(modules=("colorsys", "app.analysis.kalman"))
    next(steps)
    assert not gc.isenabled()
    steps.close()
    assert gc.isenabled()


def test_each_module_s_native_libraries_are_loaded_before_it_is_imported(monkeypatch):
    calls = []
    monkeypatch.setattr(warmup, "load_native_libraries", lambda name: calls.append(("libraries", name)))
    monkeypatch.setattr(warmup.importlib, "import_module", lambda name: calls.append(("import", name)))
    list(warm_up(modules=("SimpleITK", "torch")))
    assert calls == [("libraries", "SimpleITK"), ("import", "SimpleITK"), ("libraries", "torch"), ("import", "torch")]


def test_the_listed_modules_are_the_analysis_ones_and_exist():
    import importlib.util

    assert "app.ml.inference" in ANALYSIS_MODULES and "app.workflow.strain_pipeline" in ANALYSIS_MODULES
    assert all(importlib.util.find_spec(name) is not None for name in ANALYSIS_MODULES)
    assert set(warmup.NATIVE_LIBRARIES) <= set(ANALYSIS_MODULES)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the libraries are preloaded on Linux only")
def test_torch_s_library_is_loaded_before_torch_is_imported_and_the_import_then_uses_it():
    """Its static initialisers (140 ms) run in dlopen without the interpreter lock; `import torch` then finds
    the library already in the process."""
    code = ("import sys\nfrom app.workflow.warmup import load_native_libraries\n"
            "loaded = load_native_libraries('torch')\nassert 'torch' not in sys.modules\n"
            "maps = open('/proc/self/maps').read()\nprint([p.name for p in loaded], 'libtorch_cpu.so' in maps)\n"
            "import torch\nprint(float(torch.ones(3).sum()), load_native_libraries('torch'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["['libtorch_cpu.so'] True", "3.0 []"]


def test_a_module_without_listed_libraries_or_already_imported_loads_nothing():
    assert load_native_libraries("colorsys") == []
    assert load_native_libraries("no_such_module_here") == []
    assert load_native_libraries("sys") == []
