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


def modules_imported_after_the_warm_up(steps: str) -> list[str]:
    """The modules a child process imports running `steps` (Python lines; the file is sys.argv[1], the demo A4C
    clip) after the viewer's warm-up."""
    import ast
    import os

    root = Path(__file__).resolve().parents[1]
    code = ("import sys\nfrom app.tasks import run_task\nfrom app.workflow.warmup import warm_up\n"
            f"run_task(warm_up())\nbefore = set(sys.modules)\n{steps}\nprint(sorted(set(sys.modules) - before))")
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code, str(root / "resources/demo/a4c.dcm")], cwd=root,
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stdout.strip().splitlines()[-1]))


def test_after_the_warm_up_opening_a_dicom_imports_nothing():
    """The first frame shows fast: pydicom and the readers were imported by the warm-up, off the GUI thread."""
    assert modules_imported_after_the_warm_up("from app.data.readers import load_recording\n"
                                              "load_recording(sys.argv[1])") == []


def test_after_the_warm_up_a_first_echo_analysis_imports_no_model_code_nor_onnx_runtime():
    """A first analysis imported ONNX Runtime in its worker (the int8 U-Net runs there on every CPU): 100-180 ms
    with the interpreter lock held, a stall of the viewer playing the clip on a 2-core laptop CPU."""
    imported = modules_imported_after_the_warm_up(
        "from app.data.readers import load_recording\nfrom app.workflow.segment_step import default_segmenter\n"
        "from app.workflow.study_analysis import analyze_for_viewer\n"
        "rec = load_recording(sys.argv[1]).with_view('a4c')\nsegmenter, _ = default_segmenter(rec)\n"
        "run_task(analyze_for_viewer(rec, segmenter=segmenter, strain=True))")
    assert not [m for m in imported if m.startswith(("onnxruntime", "app.ml", "app.workflow.study_analysis"))]
