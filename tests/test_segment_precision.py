"""A segment's strain on a coarse clip rests on few pixels: the report says how long the segments are at
end-diastole and what one pixel is worth in a segment's strain and in the GLS (analyze --json:
segment_length_px). Truth: a straight centerline of known length, and phantoms of one heart at 112 and 224 px."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.strain import N_SEGMENTS, segment_length_px
from app.cli import main
from app.report.figure_pages import segment_precision
from tests.test_report_pdf import pdf_text


def test_a_segment_is_the_ed_centerline_over_the_segments():
    line = np.zeros((3, 121, 2))
    line[:, :, 0] = np.linspace(0.0, 120.0, 121)  # 120 px at every frame
    line[1, :, 0] *= 0.8  # a systolic frame, shorter: not an ED
    assert segment_length_px(line, [0, 2]) == pytest.approx(120.0 / N_SEGMENTS)
    assert segment_length_px(line, [1]) == pytest.approx(96.0 / N_SEGMENTS)
    assert segment_length_px(line, [7]) is None  # no ED inside the clip
    assert segment_length_px(None, [0]) is None


def test_the_precision_says_what_a_pixel_is_worth():
    text = segment_precision(20.0, 6)
    assert "about 20 px" in text and "5.0 strain points" in text and "0.8)" in text


@pytest.mark.parametrize(("size", "low", "high"), [(112, 12.0, 22.0), (224, 28.0, 40.0)])
def test_the_segment_length_reaches_the_json_and_the_report_in_the_clips_pixels(tmp_path, capsys, size, low, high):
    clip, out = tmp_path / "a4c.dcm", tmp_path / "r.json"
    assert main(["phantom", "--view", "a4c", "--size", f"{size}x{size}", "--seed", "2", "--out", str(clip)]) == 0
    assert main(["analyze", str(clip), "--json", str(out), "--report", str(tmp_path / "r.pdf")]) == 0
    capsys.readouterr()
    length_px = json.loads(out.read_text())["segment_length_px"]
    assert low < length_px < high  # the same heart: twice the pixels, twice the length
    assert f"Segments about {length_px:.0f} px long at end-diastole" in " ".join(pdf_text(tmp_path / "r.pdf").split())
