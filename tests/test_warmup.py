"""The import warm-up the viewer runs in a worker at start (app/workflow/warmup.py)."""

from __future__ import annotations

import sys
import threading

from app.tasks import Progress
from app.workflow.warmup import ANALYSIS_MODULES, warm_up


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


def test_the_listed_modules_are_the_analysis_ones_and_exist():
    import importlib.util

    assert "app.ml.inference" in ANALYSIS_MODULES and "app.workflow.strain_pipeline" in ANALYSIS_MODULES
    assert all(importlib.util.find_spec(name) is not None for name in ANALYSIS_MODULES)
