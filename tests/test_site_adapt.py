"""Issue 58: the site's corrections become a site model, offered only when it checks better on held-out patients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.ml import site_adapt
from app.ml.site_adapt import AdaptError, DiceScore, adapt_site_model, split_patients, verdict
from app.ml.site_model import active_site_model, set_in_use, site_model
from app.ml.weights import model_dir, sha256_file
from app.tasks import run_task
from app.workflow.site_corrections import collect_corrections
from tests.site_studies import save_study, site_recording


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> Path:
    """Four patients' saved studies, eight frames corrected by hand in each."""
    folder = tmp_path_factory.mktemp("studies")
    for patient in range(4):
        save_study(patient, folder, hand=(0, 3, 6, 9, 12, 15, 18, 21))
    return folder


def test_corrected_propagated_and_confirmed_frames_are_collected(tmp_path):
    signed = save_study(1, tmp_path, hand=(0, 5), propagated=(6, 7), signed=True)
    save_study(2, tmp_path)  # analysed, never corrected, not signed: nothing to learn from
    (tmp_path / "broken.cardiotrace.json").write_text("{not json", encoding="utf-8")
    got = run_task(collect_corrections(tmp_path, 128))
    sources = {f.frame: f.source for f in got.frames}
    saved = json.loads(signed.read_text())
    assert saved["ed_frames"] == [0]  # the ED frame was also corrected: it counts once, as corrected by hand
    assert sources == {0: "hand", 5: "hand", 6: "propagated", 7: "propagated", saved["es_frames"][0]: "confirmed"}
    assert got.studies == 1 and got.patients == ("P001",)
    why = dict(got.skipped)
    assert why["broken.cardiotrace.json"].startswith("unreadable")
    assert any(w.startswith("no frame corrected by hand") for w in why.values())
    frame = got.frames[0]
    assert frame.image.shape == frame.labels.shape == (128, 128)
    assert {1, 2, 3} <= set(frame.labels.ravel().tolist())
    assert frame.image[frame.labels == 1].mean() > 0.6 > frame.image[frame.labels == 2].mean()  # the bright cavity


def test_a_study_whose_source_changed_is_left_out_with_the_reason(tmp_path):
    save_study(3, tmp_path, hand=(0,))
    site_recording(4, tmp_path).source_path.replace(tmp_path / "patient3.dcm")  # other pixels under the same name
    got = run_task(collect_corrections(tmp_path, 128))
    assert not got.frames
    assert "no longer holds the frames" in got.skipped[0][1]


def test_one_patient_cannot_make_a_site_model():
    with pytest.raises(AdaptError, match="at least 2"):
        split_patients(["P1", "P1"])
    train, held = split_patients([f"P{i}" for i in range(8)], seed=3)
    assert len(held) == 2 and not set(train) & set(held) and len(train) + len(held) == 8
    assert split_patients([f"P{i}" for i in range(8)], seed=3) == (train, held)


def score(lv, myo, la, per_frame, lv_area_error=0.03):
    return DiceScore(lv, myo, la, len(per_frame), tuple(per_frame), lv_area_error)


def test_the_verdict_needs_enough_frames_a_shown_gain_and_no_structure_worse():
    shipped = score(0.90, 0.80, 0.85, [0.85] * 8)
    assert verdict(shipped, score(0.93, 0.83, 0.86, [0.87, 0.88] * 4))[0]
    ok, why = verdict(shipped, score(0.902, 0.802, 0.852, [0.853, 0.855] * 4))
    assert not ok and "must gain" in why
    ok, why = verdict(shipped, score(0.99, 0.95, 0.80, [0.91] * 8))  # a better mean, the atrium worse
    assert not ok and "la Dice" in why
    ok, why = verdict(score(0.90, 0.80, 0.85, [0.85] * 2), score(0.95, 0.85, 0.90, [0.9] * 2))
    assert not ok and "at least 6" in why  # two frames show nothing
    ok, why = verdict(shipped, score(0.93, 0.83, 0.86, [0.98, 0.75] * 4))  # a mean gain, frames all over
    assert not ok and "not shown at 95 %" in why
    ok, why = verdict(shipped, score(0.93, 0.83, 0.86, [0.87, 0.88] * 4, lv_area_error=0.08))  # cavities drawn larger
    assert not ok and "LV area is 8.0 % off" in why


def test_a_site_model_that_checks_better_is_offered_and_used(studies, site_dir):
    shipped = sha256_file(model_dir("echo_seg_base") / "model.pt")
    corrections = run_task(collect_corrections(studies, 128))
    outcome = run_task(adapt_site_model(corrections, steps=30, batch=4, lr=1e-3))
    assert outcome.accepted, outcome.reason
    assert outcome.site.mean > outcome.shipped.mean + site_adapt.MIN_GAIN
    assert not set(outcome.train_patients) & set(outcome.heldout_patients)
    assert sha256_file(model_dir("echo_seg_base") / "model.pt") == shipped  # never over the shipped weights
    model = site_model()
    assert model is not None and model.folder == outcome.folder and model.studies == 4
    assert model.dice_site == pytest.approx(outcome.site.mean, abs=1e-4)

    from app.workflow.segment_step import default_segmenter

    recording = site_recording(0, studies)
    assert default_segmenter(recording)[1] == f"echo_seg_base + {model.label}"
    set_in_use("echo_seg_base", False)  # the user switches back
    assert active_site_model() is None and default_segmenter(recording)[1] == "echo_seg_base"


def test_a_site_model_that_is_not_better_is_refused_and_not_written(studies, site_dir):
    corrections = run_task(collect_corrections(studies, 128))
    outcome = run_task(adapt_site_model(corrections, steps=1, batch=2, lr=0.0))
    assert not outcome.accepted and outcome.reason.startswith("refused")
    assert outcome.folder is None and site_model() is None


def test_the_command_refuses_one_patient_and_reports_its_outcome(studies, tmp_path, site_dir, capsys):
    from app.cli import main

    one = tmp_path / "one"
    one.mkdir()
    save_study(5, one, hand=(0, 4))
    assert main(["adapt", "echo-seg", "--studies", str(one)]) == 2
    assert "at least 2" in capsys.readouterr().err
    out = tmp_path / "outcome.json"
    assert main(["adapt", "echo-seg", "--studies", str(studies), "--steps", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["studies"] == 4 and data["patients"] == 4 and data["frames_by_source"]["hand"] == 32
    assert data["site"]["frames"] == data["shipped"]["frames"] > 0
    assert (data["folder"] is not None) == data["accepted"] == (site_model() is not None)
    assert data["reason"].split(":")[0] in capsys.readouterr().out


def test_a_site_folder_that_cannot_be_written_is_refused_before_training(studies, tmp_path, monkeypatch, capsys):
    """CARDIOTRACE_SITE_DIR under a file (or a read-only folder) trained for 22 s, then failed with an internal
    error and lost the model. It is refused first, with one line."""
    import app.ml.site_adapt as site_adapt
    from app.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CARDIOTRACE_SITE_DIR", str(blocker / "site"))
    monkeypatch.setattr(site_adapt, "adapt_site_model", lambda *a, **k: pytest.fail("trained before the check"))
    assert main(["adapt", "echo-seg", "--studies", str(studies), "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the site model" in err[0] and "is a file, not a folder" in err[0]
