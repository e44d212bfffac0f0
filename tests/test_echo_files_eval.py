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


def test_clip_scores_name_timing_errors_missed_events_and_the_stroke_lost():
    import numpy as np

    from lab.evaluation.echo_clip_files import ClinicalClip, event_errors, missed_events, score_result

    volume = np.tile(np.r_[np.linspace(1.0, 0.0, 15), np.linspace(0.0, 1.0, 26)[1:-1]], 4)[:150]
    clip = ClinicalClip("p", None, (0, 39, 78, 117), (14, 53, 92, 131), volume)
    assert event_errors((40, 76), clip.ed_frames) == (1, -2) and event_errors((3,), ()) == ()
    assert missed_events((40, 76), clip.ed_frames, 150, 39.0) == 1  # 117 has no ED within 13 frames; 0 is at the edge
    beats = [{"trusted": True, "ef_pct": 50.0, "rr_s": 0.78}, {"trusted": True, "ef_pct": 54.0, "rr_s": 0.8},
             {"trusted": False, "ef_pct": 20.0, "rr_s": None}]
    result = {"ef_pct": 52.0, "ed_es_method": "tempreg", "ed_frames": [39, 78, 118], "es_frames": [15, 53, 92, 131],
              "beats": beats}
    s = score_result(clip, "clip", result, 55.0)
    assert s.ef_error == -3.0 and s.model_kept and s.missed_events == 0 and s.trusted_beats == 2
    assert s.ed_errors_frames == (0, 0, 1) and s.es_errors_frames == (1, 0, 0, 0)
    assert s.ed_stroke_lost[:2] == (0.0, 0.0) and s.ed_stroke_lost[2] > 0 and s.es_stroke_lost[0] > 0
    assert s.shortest_rr_s == 0.78 and abs(s.beat_ef_sd_pts - np.std([50, 54], ddof=1)) < 1e-9
    failed = score_result(clip, "clip", {}, 55.0)
    assert failed.ef_error is None and not failed.model_kept and failed.missed_events == 7  # all but the ED on frame 0


def test_a_camus_patient_as_a_clinical_clip(shared_data):
    import numpy as np

    from lab.evaluation.echo_clip_files import CLIP_RATE_HZ, clinical_clip
    from lab.training.camus_data import case_paths

    path = case_paths("valid")[0]
    native, small = clinical_clip(path, None), clinical_clip(path, 112)
    assert native.recording.n_frames == small.recording.n_frames == 150
    assert small.recording.image_shape == (112, 112) and abs(small.recording.frame_rate_hz - CLIP_RATE_HZ) < 1e-6
    assert native.ed_frames == small.ed_frames and 3 <= len(native.ed_frames) <= 5
    assert all(native.volume[f] == 1.0 for f in native.ed_frames)
    assert all(native.volume[f] == 0.0 for f in native.es_frames)
    assert np.array_equal(native.recording.frames, clinical_clip(path, None).recording.frames)  # seeded
    mpeg4 = clinical_clip(path, 112, "mpeg4").recording.frames
    assert mpeg4.shape == small.recording.frames.shape and not np.array_equal(mpeg4, small.recording.frames)
