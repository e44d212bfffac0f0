"""`evaluate propagation` (lab/evaluation/propagation.py): a correction at the ED/ES frames, carried by the viewer's
propagation, scored against the phantom's truth in the frames it reaches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.polylines import polygon_area_px2
from lab.evaluation import propagation


def test_the_curve_distance_and_the_area_are_those_of_known_shapes():
    line = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert propagation.curve_distance_mm(line, line + [0.0, 2.0], (0.5, 1.0)) == pytest.approx(1.0)  # 2 rows of 0.5
    # shifted along itself: one end of each is 3 px past the other curve, the other end on it
    assert propagation.curve_distance_mm(line, line + [3.0, 0.0], (1.0, 1.0)) == pytest.approx(1.5)
    square_open = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 4.0], [4.0, 0.0]])  # closed by the last-first segment
    assert polygon_area_px2(square_open) == pytest.approx(16.0)  # the area the evaluation scores


def test_a_correction_carried_to_the_next_frames_brings_them_to_the_truth(tmp_path, capsys):
    out = tmp_path / "propagation.json"
    assert propagation.main(["--cases", "1", "--size", "160", "--span", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    frames, summary = result["frames"], result["summary"]
    assert {abs(f["offset"]) for f in frames} == {1, 2}
    assert {f["edited_frame"] for f in frames} >= {0}  # the phantom's first frame is its ED
    next_frames = summary[0]
    assert next_frames["offset"] == 1 and next_frames["frames"] >= 3
    # measured: 0.6-1.0 mm before, 0.2-0.3 after; a propagation that moved nothing or the wrong way fails here
    assert next_frames["distance_after_mm"] < 0.7 * next_frames["distance_before_mm"]
    assert next_frames["improved_share"] >= 0.75
    assert "distance mm before -> after" in capsys.readouterr().out


@pytest.mark.parametrize("option", [["--cases", "0"], ["--span", "21"], ["--degrade", "32"], ["--size", "50"]])
def test_bad_options_are_one_clear_line(option):
    with pytest.raises(SystemExit, match="evaluate propagation: --"):
        propagation.main(option)
