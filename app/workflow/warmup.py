"""Import, once and off the GUI thread, the modules opening a file and an analysis load lazily.

Importing a large module holds the interpreter lock for long stretches (torch's and scikit-image's
extension modules, dataclass creation, bytecode loading), so a first analysis that imports them in its
worker thread stalls the viewer's GUI thread: `benchmarks/gui_responsiveness.py` measured 3 stalls of
270-400 ms during playback + the first analysis, and stack samples taken at each stall showed the worker
inside `importlib` (2026-11-26). The viewer runs `warm_up` in a worker right after its window is shown
(app/ui/status.py, with the device probe), while nothing plays, so the imports are done before the user's
first analysis; later analyses import nothing new. Qt-free; cancellable like every task (app/tasks.py).
"""

from __future__ import annotations

import importlib
from typing import Iterator

from app.tasks import Cancel, Progress, is_cancelled

# What a first echo or MRI analysis imported on 2026-11-26 that the window had not (sys.modules before and
# after `analyze_for_viewer` on a phantom clip), by the modules that pull in the rest.
# Opening a first DICOM file imported pydicom and its pixel decoders on the GUI thread: 0.8 s before its first
# frame showed (benchmarks/gui_responsiveness.py, 2026-11-26), 30 ms once they are imported. They go first.
ANALYSIS_MODULES = (
    "pydicom",
    "pydicom.pixels",
    "pydicom.pixel_data_handlers",
    "app.data.readers.dicom_file",
    "app.data.readers.dicom_us",
    "app.data.readers.mr_sources",
    "app.data.readers.series",
    "torch",
    "app.ml.nets.registry",
    "app.ml.inference",
    "app.ml.edes",
    "app.ml.view",
    "app.ml.mri_inference",
    "app.analysis.lv_localise",
    "app.analysis.centerline",
    "app.analysis.kalman",
    "app.analysis.motion_classical",
    "app.workflow.strain_pipeline",
    "skimage.exposure",
    "skimage.feature",
    "skimage.transform",
)


def warm_up(cancel: Cancel = None, modules: tuple[str, ...] = ANALYSIS_MODULES) -> Iterator[Progress]:
    """Import `modules` one by one (Progress per module); a module that fails to import is left for the
    analysis to report in its own words."""
    for i, name in enumerate(modules):
        if is_cancelled(cancel):
            return
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - ImportError, or OSError from a missing library: the analysis says it
            continue
        yield Progress((i + 1) / len(modules), f"loading {name}")
