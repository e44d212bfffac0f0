"""`evaluate echo-files` (lab/evaluation/echo_files.py): CAMUS pairs as files through `analyze`."""

from __future__ import annotations

import json

from lab.evaluation.echo_files import FileScore, main, summarise


def test_summary_keeps_gross_failures_and_missing_ef_apart():
    scores = [FileScore("a", "pair", (100.0, 40.0, 60.0), (100.0, 45.0, 55.0)),
              FileScore("b", "pair", (90.0, 50.0, 44.4), (100.0, 40.0, 60.0)),
              FileScore("c", "pair", (80.0, 70.0, 12.5), (100.0, 45.0, 55.0)),  # 42.5 points off: gross
              FileScore("d", "pair", (None, None, None), (100.0, 45.0, 55.0))]
    s = summarise(scores)
    assert (s["n"], s["scored"], s["gross"], s["no_ef"]) == (4, 2, ["c"], ["d"])
    assert s["ef_bias_pts"] == round((5.0 - 15.6) / 2, 2) and s["ef_mae_pts"] == round((5.0 + 15.6) / 2, 2)
    assert s["edv_ratio"] == 0.95 and s["esv_ratio"] == round((40 / 45 + 50 / 40) / 2, 3)


def test_two_camus_patients_as_a_file_pair_and_as_two_frames_agree(shared_data, tmp_path, capsys):
    out = tmp_path / "summary.json"
    assert main(["--limit", "2", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["pair"]["scored"] == summary["frames"]["scored"] == 2
    assert summary["pair"] == summary["frames"]  # the join gives what the 2-frame file gives
    assert 0.85 < summary["pair"]["edv_ratio"] < 1.15 and summary["pair"]["ef_mae_pts"] < 15
    assert "pair" in capsys.readouterr().out
