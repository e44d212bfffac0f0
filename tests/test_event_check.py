"""ED/ES frames against the LV curve: app.analysis.edes_checks."""

import numpy as np
import pytest

from app.analysis.edes_checks import MAX_GATED_EVENT_DEPTH, curve_contradiction, event_depths, misplaced_event


def _cycle(n_frames: int = 20, beats: int = 1) -> np.ndarray:
    """A volume curve (ml): ED (136) at frame 0, ES (21) halfway, `beats` cycles."""
    return 78.5 + 57.5 * np.cos(2 * np.pi * beats * np.arange(n_frames) / n_frames)


def test_true_events_sit_at_their_beats_extremes():
    curve = _cycle(40, beats=2)
    depths = event_depths(curve, (0, 20), (10, 30))
    assert [(d.kind, d.frame) for d in depths] == [("ED", 0), ("ES", 10), ("ED", 20), ("ES", 30)]
    assert all(d.depth == pytest.approx(0.0) for d in depths)
    assert curve_contradiction(curve, (0, 20), (10, 30)) == ""


def test_an_ed_halfway_through_filling_is_named():
    curve = _cycle(20)
    depth = {d.frame: d.depth for d in event_depths(curve, (0, 16), (10,), periodic=True)}
    expected = (curve[0] - curve[16]) / (curve[0] - curve[10])  # the wrap brings frame 0 into its window
    assert depth[16] == pytest.approx(expected) and depth[16] > MAX_GATED_EVENT_DEPTH
    assert misplaced_event(curve, (0, 16), (10,), periodic=True).startswith(f"ED at frame 16 is {100 * expected:.0f} %")
    assert "ED at frame 16" in curve_contradiction(curve, (0, 16), (10,), gated=True)
    assert curve_contradiction(curve, (0, 16), (10,)) == ""  # not gated (echo): EDV > ESV only


def test_the_window_stops_at_the_clip_end_unless_the_cycle_wraps():
    """Frame 19 of a non-periodic clip is the largest volume after the ES: in place; on a gated cycle the
    volume rises on to frame 0 (the same phase as frame 20 would be), so it is slightly below the top."""
    curve = _cycle(20)
    open_clip = {d.frame: d.depth for d in event_depths(curve, (19,), (10,))}
    cycle = {d.frame: d.depth for d in event_depths(curve, (19,), (10,), periodic=True)}
    assert open_clip[19] == pytest.approx(0.0) and 0.0 < cycle[19] < 0.05


def test_an_es_on_the_way_down_is_named_and_swapped_events_say_edv_esv():
    curve = _cycle(40, beats=2)
    assert misplaced_event(curve, (0, 20), (5, 30)).startswith("ES at frame 5")
    assert misplaced_event(curve, (0, 20), (5, 30), max_depth=0.6) == ""
    assert curve_contradiction(curve, (10, 30), (20,)) == "EDV <= ESV"


def test_gaps_are_filled_and_flat_or_short_curves_pass():
    curve = _cycle(20)
    curve[3:5] = np.nan
    assert curve_contradiction(curve, (0,), (10,), gated=True) == ""
    assert event_depths(np.full(10, 50.0), (0,), (5,))[0].depth == 0.0
    assert event_depths(np.array([1.0, 2.0]), (0,), (1,)) == ()
