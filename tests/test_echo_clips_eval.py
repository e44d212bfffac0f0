"""`evaluate echo-clips` (issue 53): the shipped pipeline on real clinical clips against the expert's EF."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.beats import Beat
from lab.evaluation import echo_clips
from lab.evaluation.echo_clips import ClipScore, beat_extreme_ratios, summarise


def _score(name, ref, ours, es=(1.0,), ed=(1.0,), view="a4c", p=0.9, fallback=""):
    return ClipScore(name, ref, ours, "area_curve" if fallback else "tempreg", fallback, 3, 2, es, ed, view, p)


def test_summary_reports_signed_bias_limits_of_agreement_and_placement():
    scores = [_score("a", 60.0, 50.0, es=(1.10, 1.0)), _score("b", 55.0, 57.0, ed=(0.9,)),
              _score("c", 65.0, 61.0, view="other", p=0.85), _score("d", 58.0, None, fallback="why", p=0.5)]
    s = summarise(scores)
    err = np.array([-10.0, 2.0, -4.0])
    assert s["n"] == 4 and s["scored"] == 3 and s["no_ef"] == ["d"]
    assert s["ef_mae_pts"] == pytest.approx(np.abs(err).mean(), abs=0.01)
    assert s["ef_bias_pts"] == pytest.approx(err.mean(), abs=0.01)
    low, high = s["ef_mae_ci95_pts"]  # the clips resampled: from all |-4|... to all |-10|
    assert 2.0 <= low < s["ef_mae_pts"] < high <= 10.0
    assert summarise(scores[:2])["ef_mae_ci95_pts"] == [None, None]
    sd = err.std(ddof=1)
    assert s["ef_loa_pts"] == pytest.approx([err.mean() - 1.96 * sd, err.mean() + 1.96 * sd], abs=0.01)
    assert s["within_5_pts"] == pytest.approx(2 / 3, abs=1e-3)
    assert s["es_area_over_beat_min"] == pytest.approx(np.mean([1.1, 1.0, 1.0, 1.0, 1.0]), abs=1e-3)
    assert s["es_beats_over_5pct"] == pytest.approx(0.2, abs=1e-3)
    assert s["tempreg_set_aside"] == 1 and s["ed_es_methods"] == {"tempreg": 3, "area_curve": 1}
    assert (s["view_not_a4c"], s["view_warnings"], s["view_below_0_8"]) == (1, 1, 1)


def test_the_heart_rate_is_checked_against_the_curves_own_rate():
    """No ECG on the clips: a heart rate half (a beat skipped) or twice (one made up) the curve's own rate is named."""
    from dataclasses import replace

    from tests.analysis_synth import cardiac_curve

    curve, _, _ = cardiac_curve(200, 50.0, 75.0, 120.0, 50.0)
    assert echo_clips.curve_rate_bpm(curve, 50.0) == pytest.approx(75.0, rel=0.03)
    assert echo_clips.curve_rate_bpm(curve, None) is None
    assert echo_clips.curve_rate_bpm(np.full(200, 100.0), 50.0) is None  # no beat in it
    scores = [replace(_score("same", 62.0, 58.0), heart_rate_bpm=72.0, curve_rate_bpm=75.0),
              replace(_score("halved", 55.0, 70.0), heart_rate_bpm=30.0, curve_rate_bpm=81.1),
              replace(_score("no curve rate", 60.0, 61.0), heart_rate_bpm=60.0),
              _score("no rates", 60.0, 59.0)]
    s = summarise(scores)
    assert s["heart_rate_with_curve_rate"] == 2 and s["heart_rate_off_curve_rate"] == [["halved", 30.0, 81.1]]
    assert "within 0.8-1.25x the LV curve's own rate in 1 of 2 clips; halved 30 bpm (curve 81)" in \
        echo_clips.format_summary(s)
    assert "LV curve's own rate" not in echo_clips.format_summary(summarise(scores[3:]))


def test_es_placement_is_the_area_at_es_over_the_beats_smallest():
    area = np.array([10, 9, 7, 5, 4, 5, 8, 9, 10, 8, 6, 5, 6, 9, 10], float)
    beats = [Beat(0, 5, 8, 10, 5), Beat(8, 11, 14, 10, 5), Beat(0, 4, None, 10, 4),
             Beat(8, 12, 14, 10, 6, trusted=False)]
    es, ed = beat_extreme_ratios(area, beats)
    assert es == pytest.approx((5 / 4, 1.0)) and ed == pytest.approx((1.0, 1.0))


def test_a_mask_drop_out_the_analysis_leaves_out_is_no_beats_smallest_cavity():
    area = np.array([10, 9, 7, 5, 4, 5, 8, 0.4, 10, 8, 6, 5, 6, 9, 10], float)  # frame 7: the mask vanished
    beats = [Beat(0, 4, 8, 10, 5)]
    assert beat_extreme_ratios(area, beats)[0] == pytest.approx((10.0,))
    assert beat_extreme_ratios(area, beats, spikes=[7])[0] == pytest.approx((1.0,))


def test_file_list_holds_the_present_clips_or_every_row(tmp_path):
    (tmp_path / "FileList.csv").write_text("FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames\n"
                                           "A.avi,60,40,100,112,112,50,100\nB,55,45,100,112,112,50,90\n")
    (tmp_path / "A.avi").write_bytes(b"")
    assert [r.name for r in echo_clips.read_file_list(tmp_path)] == ["A.avi"]
    every = echo_clips.read_file_list(tmp_path, present_only=False)
    assert [r.name for r in every] == ["A.avi", "B.avi"] and every[1].ef_pct == 55.0


def test_a_clips_file_that_cannot_be_read_or_names_no_clip_is_one_line(tmp_path):
    (tmp_path / "FileList.csv").write_text("FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames\n"
                                           "A.avi,60,40,100,112,112,50,100\n")
    (tmp_path / "A.avi").write_bytes(b"")
    with pytest.raises(SystemExit, match="--clips .*cannot read the clip names"):
        echo_clips.main(["--data", str(tmp_path), "--clips", str(tmp_path / "missing.txt")])
    (tmp_path / "other.txt").write_text("B.avi\nC.avi\n")
    with pytest.raises(SystemExit, match="none of the 2 clip names in .*other.txt is in"):
        echo_clips.main(["--data", str(tmp_path), "--clips", str(tmp_path / "other.txt")])


@pytest.mark.shared
def test_one_real_clip_through_the_shipped_pipeline(shared_data, tmp_path, capsys):
    root = shared_data / "echonet_clips"
    if not (root / "FileList.csv").is_file():
        pytest.skip(f"{root} has no FileList.csv")
    refs = echo_clips.read_file_list(root)
    assert len(refs) == 80 and all(50 <= r.ef_pct <= 70 for r in refs)
    wanted = tmp_path / "clips.txt"
    wanted.write_text("0X1154F8CD483D5CD5.avi\n")
    out = tmp_path / "out.json"
    assert echo_clips.main(["--data", str(root), "--clips", str(wanted), "--workers", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "0X1154F8CD483D5CD5.avi" in printed and "EF MAE" in printed and "limits of agreement" in printed
    result = json.loads(out.read_text())
    clip = result["clips"][0]
    assert clip["ef_pct"] is not None and abs(clip["ef_error"]) < 15
    assert clip["trusted_beats"] and all(ed < es for ed, es in clip["trusted_beats"])
    assert all(r < 1.05 for r in clip["es_ratios"])  # ES at its beat's smallest cavity
    assert result["summary"]["n"] == 1 and clip["view"]
    assert 0.8 <= clip["heart_rate_bpm"] / clip["curve_rate_bpm"] <= 1.25  # its curve beats at its heart rate
    assert "x the LV curve's own rate in 1 of 1 clips" in printed
    with pytest.raises(SystemExit, match="FileList.csv"):
        echo_clips.main(["--data", str(tmp_path)])


def test_pooled_folds_are_summarised_together(tmp_path, capsys):
    """The cross-validated figure: each fold scored by the model that did not train on it, then pooled."""
    from dataclasses import asdict

    folds = [[_score("a", 60.0, 50.0), _score("b", 55.0, 57.0)], [_score("c", 65.0, 61.0, es=(1.2,))]]
    paths = []
    for i, scores in enumerate(folds):
        path = tmp_path / f"fold{i}.json"
        path.write_text(json.dumps({"summary": summarise(scores),
                                    "clips": [{**asdict(s), "ef_error": s.ef_error} for s in scores]}))
        paths.append(str(path))
    out = tmp_path / "new" / "pooled.json"  # its folder made, as analyze's outputs' are
    assert echo_clips.main(["--pool", *paths, "--json", str(out), "--quiet"]) == 0
    pooled = json.loads(out.read_text())["summary"]
    assert pooled == summarise(folds[0] + folds[1]) and pooled["n"] == 3
    assert "EF MAE 5.33 pts (95 % interval " in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:  # where it cannot be written: refused before the run, not after
        echo_clips.main(["--pool", *paths, "--json", str(tmp_path / "fold0.json" / "pooled.json"), "--quiet"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "argument --json: cannot write" in err and "is a file, not a folder" in err


def test_two_runs_are_compared_clip_by_clip(tmp_path, capsys):
    """--compare-with: the MAE change of two runs on the clips both gave an EF, with its bootstrap interval, and
    the clips that changed most; an unreadable run is one clear line."""
    from dataclasses import asdict

    def write(name, scores):
        path = tmp_path / name
        path.write_text(json.dumps({"summary": summarise(scores),
                                    "clips": [{**asdict(s), "ef_error": s.ef_error} for s in scores]}))
        return str(path)

    now = [_score("a", 60.0, 58.0), _score("b", 55.0, 57.0), _score("c", 65.0, 61.0), _score("d", 60.0, None)]
    before = [_score("a", 60.0, 50.0), _score("b", 55.0, 56.0), _score("c", 65.0, 60.0), _score("d", 60.0, 40.0)]
    found = echo_clips.clip_agreement(now, before)
    assert found is not None and found.n_patients == 3  # d has no EF now
    assert (found.mae, found.previous_mae) == (2.67, 5.33) and (found.n_better, found.n_worse) == (2, 1)
    assert found.most_changed[0] == ("a", -2.0, -10.0)
    assert found.mae_change_ci[0] <= -2.67 <= found.mae_change_ci[1]
    assert echo_clips.main(["--pool", write("now.json", now), "--quiet",
                            "--compare-with", write("b0.json", before[:2]), write("b1.json", before[2:])]) == 0
    printed = capsys.readouterr().out
    assert "echonet_clips" in printed and "2.67" in printed and "a -2.0 / -10.0" in printed
    with pytest.raises(SystemExit, match="cannot read the clip scores"):
        echo_clips.main(["--pool", str(tmp_path / "now.json"), "--compare-with", str(tmp_path / "none.json")])
    assert echo_clips.clip_agreement(now[:2], before[:2]) is None


def test_the_beats_ef_spread_about_their_clips_is_pooled_over_clips_of_two_beats_or_more(tmp_path):
    """One beat's EF strays from its clip's by beat-to-beat variation and per-beat noise; the expert's EF is one
    beat's, so this spread is part of any clip's error. Kept per clip in the --json, pooled in the summary."""
    from dataclasses import asdict, replace

    clips = [replace(_score("a", 60.0, 55.0), beat_efs=(50.0, 60.0)),
             replace(_score("b", 50.0, 44.0), beat_efs=(40.0, 44.0, 48.0)),
             replace(_score("c", 55.0, 55.0), beat_efs=(55.0,))]
    assert echo_clips.beat_spread(clips) == pytest.approx(np.sqrt((50.0 + 32.0) / 3), abs=0.01)
    assert echo_clips.beat_spread(clips[2:]) is None
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"summary": summarise(clips),
                                "clips": [{**asdict(s), "ef_error": s.ef_error} for s in clips]}))
    again = echo_clips.read_scores(path)
    assert again[1].beat_efs == (40.0, 44.0, 48.0) and summarise(again) == summarise(clips)
    assert "a beat's EF about its clip's: SD 5.23 pts" in echo_clips.format_summary(summarise(again))
