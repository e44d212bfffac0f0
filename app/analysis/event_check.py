"""Moved to app/analysis/edes_fusion.py (ED/ES in one place); these names stay importable for
app/ml/evaluation_edes_seg.py until it moves out to the lab."""

from app.analysis.edes_fusion import (  # noqa: F401
    MAX_GATED_EVENT_DEPTH,
    EventDepth,
    curve_contradiction,
    event_depths,
    misplaced_event,
)
