"""Start-up of `analyze` (issue 33): an echo analysis imports none of the libraries it does not use.

skimage.morphology and skimage's Hough transform cost 0.1-0.2 s each to import and were loaded by every
`analyze` for a constant or an MRI-only step. scipy.signal (for find_peaks) cost 1.4 s with the scipy.stats it
pulls in (issue 56): the ED/ES steps find their peaks with app.analysis.peaks, the same indices (tests/test_peaks.py
compares it with scipy's). filterpy's Kalman filter (strain) still brings scipy.stats in: the field's library
stays. The analysis runs in a fresh interpreter (the CLI's own `main`,
the demo A2C DICOM) and then lists what it imported.
"""

import os
import subprocess
import sys

import numpy as np

from app.paths import demo_dir

NOT_NEEDED = ("skimage.morphology", "skimage.transform", "app.analysis.lv_localise", "matplotlib", "reportlab",
              "onnxruntime", "app.ui", "PySide6", "dask", "distributed", "scipy.signal")


def test_an_echo_analyze_imports_only_what_it_uses(tmp_path):
    code = ("import sys; from app.cli import main; "
            f"code = main(['analyze', {str(demo_dir() / 'a2c.dcm')!r}, '--json', {str(tmp_path / 'a.json')!r}]); "
            "print(code, ' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "CARDIOTRACE_BACKEND": "torch"})
    code, modules = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert code == "0"
    loaded = set(modules.split())
    assert "torch" in loaded and "pydicom" in loaded  # it did analyze
    assert [m for m in NOT_NEEDED if m in loaded] == []


def test_the_batch_main_process_imports_no_analysis_library():
    """`analyze --out DIR --workers N` only lists inputs and collects results in its own process: the
    networks' libraries load in the workers."""
    code = ("import sys; import app.commands.analyze, app.workflow.batch, app.workflow.cohort; "
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "app.workflow.analyze" in loaded
    assert [m for m in ("torch", "scipy.signal", "scipy.stats", "cv2") if m in loaded] == []


def test_the_viewer_window_imports_no_report_or_network_library():
    """The window opens without reportlab (loaded when a PDF is made) or torch (loaded by the first analysis,
    in a worker: app/workflow/warmup.py)."""
    code = "import sys; import app.ui.main_window; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    loaded = set(out.stdout.split())
    assert "app.ui.beat_table" in loaded
    assert [m for m in ("reportlab", "torch", "matplotlib") if m in loaded] == []


def test_the_sector_opening_disk_is_skimages_disk():
    from skimage.morphology import disk

    from app.data.readers.sector import _OPEN_DISK, _OPEN_RADIUS_PX

    np.testing.assert_array_equal(_OPEN_DISK, disk(_OPEN_RADIUS_PX).astype(bool))

