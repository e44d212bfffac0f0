"""`evaluate volumes`: the end-to-end EF evaluation scores a clip against the phantom's truth."""

from __future__ import annotations

import json

import numpy as np

from lab.evaluation.volumes import main, phantom_clips, score_clip, summarise


def test_truth_segmenter_recovers_the_phantom_ef():
    name, view, quality, case = next(phantom_clips(1, seed=7))
    score = score_clip(name, view, quality, case, "truth")
    assert abs(score.ef_err_pct) < 3.0
    assert abs(score.edv_err_pct) < 3.0 and abs(score.esv_err_pct) < 5.0
    assert score.ed_frame_diff <= 1 and score.es_frame_diff <= 1


def test_summary_counts_a_biased_segmenter_as_outside_three_points():
    name, view, quality, case = next(phantom_clips(1, seed=7))
    good = score_clip(name, view, quality, case, "truth")
    from dataclasses import replace

    bad = replace(good, segmenter="biased", ef_pct=good.true_ef_pct - 8.0)
    summary = summarise([good, bad])
    assert summary["truth"]["ef_within_3_share"] == 1.0
    assert summary["biased"]["ef_within_3_share"] == 0.0
    assert np.isclose(summary["biased"]["ef_bias"], -8.0)


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["--cases", "1", "--segmenter", "truth", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["summary"]["truth"]["clips"] == 1
    assert "EF bias" in capsys.readouterr().out


def test_a_clip_degraded_as_a_clinical_export_keeps_its_truth():
    """--degrade 112: the truth labels follow the degraded grid, so the truth segmenter still finds the EF;
    the summary counts the clips whose ED/ES model was set aside and the shortest beat."""
    name, view, quality, case = next(phantom_clips(1, seed=7))
    score = score_clip(name, view, quality, case, "truth", degrade_px=112)
    assert abs(score.ef_err_pct) < 4.0 and abs(score.edv_err_pct) < 6.0
    assert score.min_rr_s >= 0.3
    summary = summarise([score])["truth"]
    assert summary["set_aside"] in (0, 1) and summary["min_rr_s"] == score.min_rr_s
