"""Import, once and off the GUI thread, the modules opening a file and an analysis load lazily.

Importing a large module holds the interpreter lock for long stretches (torch's and scikit-image's extension
modules, dataclass creation, bytecode loading), so a first analysis that imports them in its worker thread stalls
the viewer's GUI thread (`benchmarks/gui_responsiveness.py`; figures in benchmarks/NOTES.md: stack samples taken at
each stall showed the worker inside `importlib`). The viewer runs `warm_up` in a worker right after its window is
shown (app/ui/status.py, with the device probe), while nothing plays, so the imports are done before the user's
first analysis; later analyses import nothing new. Qt-free; cancellable like every task (app/tasks.py).

The warm-up itself must not stall the window either. Two things did (benchmarks/NOTES.md):
- the static initialisers of torch's C++ library and of SimpleITK's module, which run inside `dlopen` with the
  lock held when Python imports them. Loaded
  first through the C library's `dlopen`, which ctypes calls with the lock released, they run beside the GUI
  thread; the import then finds the library in memory (`load_native_libraries`);
- full garbage collections walking the objects the imports create. The automatic collector
  is paused during the imports, and the heap is then frozen (`freeze_long_lived`).
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import importlib.util
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from app.tasks import Cancel, Progress, is_cancelled

# What a first echo or MRI analysis imports that the window has not (sys.modules before and after
# `analyze_for_viewer` on a phantom clip), by the modules that pull in the rest.
# Opening a first DICOM file imported pydicom and its pixel decoders on the GUI thread, a stall before its first
# frame showed (benchmarks/NOTES.md). They go first.
# Opening a NIfTI file imports SimpleITK. Reopening a recording with a saved analysis measures it again.
ANALYSIS_MODULES = (
    "pydicom",
    "pydicom.pixels",
    "pydicom.pixel_data_handlers",
    "app.data.readers.dicom_file",
    "app.data.readers.dicom_us",
    "app.data.readers.mr_sources",
    "app.data.readers.series",
    "SimpleITK",
    "app.data.readers.nifti",
    "torch",
    "app.ml.nets.registry",
    "app.ml.nets.unet",
    "app.ml.nets.tempreg",
    "app.ml.nets.view_classifier",
    "app.ml.weights",
    "app.ml.site_model",
    "app.ml.inference",
    # the echo U-Net's int8 graph and the MRI members run in ONNX Runtime on every CPU: its import (pybind11's
    # classes registered with the lock held) stalled a first analysis' GUI by 100-180 ms on a laptop CPU
    "onnxruntime",
    "app.ml.onnx_step",
    "app.ml.edes",
    "app.ml.view",
    "app.ml.mri_inference",
    "app.analysis.lv_localise",
    "app.analysis.centerline",
    "app.analysis.kalman",
    "app.analysis.motion_classical",
    "app.workflow.strain_pipeline",
    "app.workflow.analyze",  # also what reopening a saved study measures and composes with
    "app.workflow.study_analysis",
    "app.workflow.study_result",
    "app.workflow.biplane",
    "skimage.exposure",
    "skimage.feature",
    "skimage.transform",
)

# Shared libraries (glob patterns in the package's folder) whose static initialisers are long: loaded before
# the module is imported (Linux; elsewhere the import loads them as before). Only the CPU library of torch: a
# CUDA build's libraries need the NVIDIA libraries torch itself finds first.
NATIVE_LIBRARIES = {
    "torch": ("lib/libtorch_cpu.so",),
    "SimpleITK": ("_SimpleITK*.so",),
}

_frozen = False


def warm_up(cancel: Cancel = None, modules: tuple[str, ...] = ANALYSIS_MODULES) -> Iterator[Progress]:
    """Import `modules` one by one (Progress per module); a module that fails to import is left for the
    analysis to report in its own words. The collector is paused meanwhile, and the heap frozen after."""
    with _collector_paused():
        for i, name in enumerate(modules):
            if is_cancelled(cancel):
                return
            try:
                load_native_libraries(name)
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - ImportError, or OSError from a missing library: the analysis says it
                continue
            yield Progress((i + 1) / len(modules), f"loading {name}")


def load_native_libraries(module: str) -> list[Path]:
    """dlopen the NATIVE_LIBRARIES of a module not imported yet, with the interpreter lock released (ctypes
    releases it around every foreign call); returns the libraries loaded. A library that does not load is
    left to the import."""
    patterns = NATIVE_LIBRARIES.get(module, ())
    if not patterns or module in sys.modules or not sys.platform.startswith("linux"):
        return []
    spec = importlib.util.find_spec(module)
    folders = list(spec.submodule_search_locations or []) if spec else []
    if spec is not None and not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    libc = ctypes.CDLL(None)
    libc.dlopen.restype = ctypes.c_void_p
    libc.dlopen.argtypes = (ctypes.c_char_p, ctypes.c_int)
    loaded = []
    for folder in folders:
        for pattern in patterns:
            for path in sorted(Path(folder).glob(pattern)):
                if libc.dlopen(os.fsencode(path), sys.getdlopenflags()):
                    loaded.append(path)
    return loaded


def freeze_long_lived() -> int:
    """Freeze the objects alive now (once per process) into the collector's permanent generation: they are
    still freed by reference counting, only no longer walked, so a full collection (long, with the lock held,
    once torch, SciPy and pyqtgraph are in: benchmarks/NOTES.md) sees only what the session made since.
    Returns how many objects the collector no longer walks."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
    return gc.get_freeze_count()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No automatic collection meanwhile; the objects made meanwhile then frozen, before the collector
    restarts (else its first young collection walks them all)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        freeze_long_lived()
        if enabled:
            gc.enable()
