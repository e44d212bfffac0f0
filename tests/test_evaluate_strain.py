"""`evaluate strain` (lab/evaluation/strain.py): the strain pipeline against the phantom's exact truth, at one or
several phantom sizes (pixel sizes): the same hearts at each, scored and summarised per size."""

from __future__ import annotations

import json

import pytest

from lab.evaluation import strain


def test_the_same_hearts_are_scored_at_each_pixel_size(tmp_path, capsys):
    out = tmp_path / "strain.json"
    assert strain.main(["--cases", "1", "--motion", "classical", "--sizes", "160,224", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    cases = result["cases"]
    assert [c["size_px"] for c in cases] == [160, 224]
    assert cases[0]["pixel_mm"] == pytest.approx(cases[1]["pixel_mm"] * 224 / 160, rel=0.01)  # the same depth
    assert [c["case"] for c in cases] == ["a4c-excellent-0@160", "a4c-excellent-0@224"]
    assert cases[0]["truth_gls_pct"] == pytest.approx(cases[1]["truth_gls_pct"], abs=0.3)  # one heart, two grids
    summary = result["summary"]["classical"]
    assert set(summary["gls_bias_by_size_px"]) == {"160", "224"} and summary["cases"] == 2
    for case in cases:
        assert abs(case["gls_error_pct"]) < 1.5  # measured within 0.4 points at either size
        assert summary["gls_abs_error_by_size_px"][str(case["size_px"])] == pytest.approx(abs(case["gls_error_pct"]),
                                                                                           abs=1e-3)
    assert f"by phantom size: 160 px ({cases[0]['pixel_mm']:.2f} mm)" in printed


@pytest.mark.parametrize("sizes", ["224,big", "64", ""])
def test_bad_sizes_are_one_clear_line(sizes):
    with pytest.raises(SystemExit, match="--sizes"):
        strain.main(["--cases", "1", "--sizes", sizes])
