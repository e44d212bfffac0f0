"""One file per phase (app.workflow.phase_files): CAMUS's 4CH_ED / 4CH_ES still frames and ACDC's frameED /
frameES stacks given together are joined into one recording per view, so `analyze` gives their EDV/ESV/EF (and,
with both apical views, the biplane EF). Before, each file was one still frame or one phase: no EF.
(The MRI stacks' own tests are in tests/test_mri_stack_shapes.py; the viewer's action in tests/test_ui_mri_study.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.data.recording import Recording
from app.workflow.phase_files import is_joined, join_groups, join_phases, join_where_possible, joined_note
from lab.evaluation.echo_files import write_metaimage


def _frame(view: str, value: int = 50, shape=(64, 64), spacing=(0.5, 0.5), n_frames: int = 1) -> Recording:
    frames = np.full((n_frames, *shape), value, np.uint8)
    return Recording(frames=frames, frame_times_s=np.arange(n_frames) / 30.0, modality="echo", view=view,
                     spacing_mm=spacing, sector_mask=np.ones(shape, bool))


def test_still_frames_join_per_view_in_the_order_given():
    recs = [_frame("a4c", 10), _frame("a2c", 20), _frame("a4c", 30), _frame("a3c", n_frames=5), _frame("a2c", 40)]
    assert join_groups(recs) == [[0, 2], [1, 4]]  # the 5-frame a3c clip is not one phase
    out, sources, problems = join_where_possible(recs)
    assert sources == [[0, 2], [1, 4], [3]] and problems == []
    a4c, a2c, clip = out
    assert a4c.view == "a4c" and a4c.frames.shape == (2, 64, 64) and list(a4c.frames[:, 0, 0]) == [10, 30]
    assert a2c.view == "a2c" and list(a2c.frames[:, 0, 0]) == [20, 40] and clip is recs[3]
    assert a4c.frame_times_nominal and a4c.heart_rate_bpm is None and is_joined(a4c) and not is_joined(clip)
    assert a4c.sector_mask.shape == (64, 64) and joined_note(clip) == ()


def test_three_frames_of_one_view_are_not_taken_for_a_pair():
    """Which two would be ED and ES? (And a 4-frame 'clip' of still frames is no cycle.) Each stays alone."""
    out, sources, problems = join_where_possible([_frame("a4c", v) for v in (10, 20, 30)])
    assert sources == [[0], [1], [2]] and len(out) == 3
    assert problems == ["one phase per file, but not phases of one series (3 of one view, where an ED/ES pair is "
                        "two): each is analyzed alone"]
    with pytest.raises(ValueError, match="an ED/ES pair is two"):
        join_phases([_frame("a4c")] * 3)


def test_frames_of_another_geometry_stay_apart_with_the_reason():
    recs = [_frame("a4c"), _frame("a4c", shape=(64, 80))]
    out, sources, problems = join_where_possible(recs)
    assert sources == [[0], [1]] and len(out) == 2
    assert problems == ["one phase per file, but not phases of one series (images of 64 x 64 px against 64 x 80): "
                        "each is analyzed alone"]
    with pytest.raises(ValueError, match="64 x 80"):
        join_phases(recs)
    assert [rec.reader_notes for rec in out] == [(problems[0],)] * 2  # each report and JSON says why, not stderr only
    assert join_where_possible([_frame("a4c"), _frame("a4c", spacing=(0.5, 0.6))])[2][0].startswith(
        "one phase per file, but not phases of one series (different pixel sizes)")


def _write(path, frames: np.ndarray, spacing_mm) -> str:
    return str(write_metaimage(path, frames, spacing_mm))


def _analyze(capsys, *argv) -> dict:
    code = main(["analyze", *argv, "--json", "-", "--no-strain"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_four_phantom_frames_give_both_pairs_and_the_biplane_ef(tmp_path, capsys):
    """A4C ED/ES and A2C ED/ES, one still frame per file as CAMUS stores a patient: two ED/ES pairs and the
    biplane EF, through the installed network."""
    from tests.analysis_synth import phantom_echo

    paths, truth_ef = [], {}
    for view in ("a4c", "a2c"):
        case = phantom_echo(view)
        rec, truth = case.recording, case.truth
        truth_ef[view] = truth.ef_pct
        for kind, frame in (("ED", truth.ed_frames[1]), ("ES", truth.es_frames[0])):
            paths.append(_write(tmp_path / f"patient_{view[1]}CH_{kind}.mhd", rec.frames[frame], rec.spacing_mm))
    result = _analyze(capsys, *paths, "--same-patient")  # .mhd files carry no patient
    a4c, a2c = result["recordings"]
    assert (a4c["view"], a2c["view"]) == ("a4c", "a2c") and a4c["frames"] == a2c["frames"] == 2
    for r in (a4c, a2c):
        assert r["ed_frames"] == [0] and r["es_frames"] == [1] and r["heart_rate_bpm"] is None
        assert any("one file per phase" in n for n in r["notes"])
        assert any("taken as one patient on the user's word (--same-patient)" in n for n in r["notes"])
        assert abs(r["ef_pct"] - truth_ef[r["view"]]) < 15, r["view"]  # the network's EF, not the truth's
    assert result["biplane"] is not None and result["biplane"]["ef_pct"] > 0


def test_two_files_without_identity_are_no_pair_unless_the_user_says_so(tmp_path, capsys):
    """Issue 54 fault 1: an ED frame of one patient and an ES frame of another, in files that carry no identity,
    made one ED/ES pair (EF 68 %, exit 0, no note). Now: exit 2, one line naming both files, nothing analyzed;
    files that name two patients stay refused even with --same-patient."""
    from dataclasses import replace

    from app.data.recording import PatientInfo
    from app.data.writers import write_recording
    from tests.analysis_synth import phantom_echo

    rec = phantom_echo("a4c").recording
    ed = _write(tmp_path / "patientA_4CH_ED.mhd", rec.frames[0], rec.spacing_mm)
    es = _write(tmp_path / "patientB_4CH_ES.mhd", rec.frames[5], rec.spacing_mm)
    assert main(["analyze", ed, es, "--json", "-", "--no-strain"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1, out.err
    assert "patientA_4CH_ED.mhd" in out.err and "patientB_4CH_ES.mhd" in out.err and "--same-patient" in out.err

    doe = tmp_path / "doe.dcm"
    roe = tmp_path / "roe.dcm"
    write_recording(replace(rec, patient=PatientInfo(name="Doe^John", patient_id="1")), doe)
    write_recording(replace(rec, patient=PatientInfo(name="Roe^Jane", patient_id="2")), roe)
    assert main(["analyze", str(doe), str(roe), "--same-patient", "--no-strain"]) == 2
    err = capsys.readouterr().err
    assert "different patient ID" in err and "DOE JOHN" in err and "ROE JANE" in err


def test_camus_ed_and_es_files_match_the_two_frame_file(shared_data, tmp_path, capsys):
    """CAMUS valid, first patient: `analyze 4CH_ES.mhd 4CH_ED.mhd --view a4c` (one --view for both) gives what
    the same two frames in one file give (the sector of a 2-frame file is found as on one frame:
    tests/test_sector.py)."""
    folder = shared_data / "camus_a4c" / "valid"
    with np.load(sorted(folder.glob("*.npz"))[0]) as data:
        ed, es, spacing = data["ed"], data["es"], tuple(float(v) for v in data["spacing_mm"])
    es_path = _write(tmp_path / "p_4CH_ES.mhd", es, spacing)
    ed_path = _write(tmp_path / "p_4CH_ED.mhd", ed, spacing)
    pair_path = _write(tmp_path / "pair.mhd", np.stack([es, ed]), spacing)
    joined = _analyze(capsys, es_path, ed_path, "--view", "a4c", "--same-patient")
    pair = _analyze(capsys, pair_path, "--view", "a4c")
    assert joined["frames"] == 2 and joined["ed_frames"] == [1] and joined["es_frames"] == [0]
    for key in ("edv_ml", "esv_ml", "ef_pct"):
        assert joined[key] == pytest.approx(pair[key], abs=0.05), key
    assert 20 < joined["ef_pct"] < 85


def test_the_report_gives_a_joined_pair_no_frame_rate():
    """Its 25 Hz is nominal: the report's recordings table says "unknown" (the viewer's header "timing unknown")."""
    from app.report.build import recording_section
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording

    def frame(radius: float) -> Recording:
        rows, cols = np.mgrid[:64, :64]
        labels = (((rows - 32) ** 2 + ((cols - 32) / 0.6) ** 2) <= radius ** 2).astype(np.uint8)
        return Recording(frames=labels[None] * 80, frame_times_s=np.zeros(1), modality="echo", view="a4c",
                         spacing_mm=(0.5, 0.5), sector_mask=np.ones((64, 64), bool))

    pair = join_phases([frame(20), frame(14)])
    labels = (pair.frames > 0).astype(np.uint8)
    analysis = run_task(analyze_recording(pair, segmenter=lambda rec: labels, strain=False))
    assert analysis.measurements.ef_pct > 0
    assert recording_section(analysis).frame_rate_text == "unknown"


def test_the_json_gives_a_joined_pair_no_frame_rate(tmp_path, capsys):
    """`analyze ED.mhd ES.mhd --same-patient --json`: the JSON said "frame_rate_hz": 25.0, the joining's nominal
    rate, where the report says "unknown" and --measurements / --csv null / empty; now null as they are, and the
    contours' frame times (0.04 s apart, made up) null as the report's curve is drawn by frame number."""
    rows, cols = np.mgrid[:64, :64]
    paths, labels = [], []
    for kind, radius in (("ED", 20), ("ES", 14)):
        lv = (((rows - 32) ** 2 + ((cols - 32) / 0.6) ** 2) <= radius ** 2).astype(np.uint8)
        paths.append(_write(tmp_path / f"p_4CH_{kind}.mhd", lv * 80, (0.5, 0.5)))
        np.save(tmp_path / f"{kind}.npy", lv[None])
        labels += ["--labels", str(tmp_path / f"{kind}.npy")]
    result = _analyze(capsys, *paths, *labels, "--view", "a4c", "--same-patient", "--measurements",
                      str(tmp_path / "m.json"), "--contours", str(tmp_path / "c.json"))
    assert result["frames"] == 2 and result["ef_pct"] > 0  # one recording: the two phases joined
    assert result["frame_rate_hz"] is None and result["heart_rate_bpm"] is None
    measurements = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert measurements["recordings"][0]["frame_rate_hz"] is None
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["frame_times_s"] is None
