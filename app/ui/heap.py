"""Keep Python's full garbage collections short, so they never freeze the GUI.

A full (generation-2) collection walks every object alive: once torch, scipy and pyqtgraph are imported
that is a few hundred thousand objects and 150-400 ms with the GIL held, in whichever thread triggers it,
so the GUI thread stops painting (measured: the one 180-380 ms stall of a burst of contour edits,
benchmarks/gui_responsiveness.py). `freeze_long_lived()` moves the objects alive now (modules, classes,
the window) to the collector's permanent generation (gc.freeze): they are still freed by reference
counting, only no longer walked, so later full collections see just what the session created since.
Called once, when the start-up warm-up has imported the heavy modules (app/ui/status.py).
"""

from __future__ import annotations

import gc

_done = False


def freeze_long_lived() -> int:
    """Freeze the objects alive now (once per process); returns how many the collector no longer walks."""
    global _done
    if not _done:
        _done = True
        gc.freeze()
    return gc.get_freeze_count()
