"""Re-registration of misdrawn Sunnybrook epicardia (lab/training/mri_epi_alignment.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lab.training.mri_data import NOT_POOL, TABLE_PATH, UNLABELLED, epi_shifts_for, epicardium_consistent
from lab.training.mri_epi_alignment import _shifted, shift_to_fit


def disc(centre_rc, radius, size=96):
    rr, cc = np.ogrid[:size, :size]
    return np.hypot(rr - centre_rc[0], cc - centre_rc[1]) <= radius


def test_shifted_moves_rows_and_columns_with_zeros_shifted_in():
    mask = np.zeros((6, 6), bool)
    mask[2, 3] = True
    moved = _shifted(mask, dx=-2, dy=3)
    assert moved[5, 1] and moved.sum() == 1
    assert not _shifted(mask, dx=4, dy=0).any()


def test_a_displaced_epicardium_is_moved_back_onto_the_heart():
    heart = disc((48, 50), 24)
    endo = disc((48, 50), 14)
    drawn_epi = disc((48 + 13, 50 - 4), 24)  # the expert's shape, drawn 13 rows down and 4 columns left
    assert not epicardium_consistent(endo, drawn_epi)
    (dx, dy), dice = shift_to_fit(heart, endo, drawn_epi, max_shift_px=20)
    assert (dx, dy) == (4, -13)
    assert dice == pytest.approx(1.0)
    assert epicardium_consistent(endo, _shifted(drawn_epi, dx, dy))


def test_no_shift_is_taken_when_none_encloses_the_blood_pool():
    heart, endo = disc((48, 48), 20), disc((48, 48), 18)
    too_small = disc((48, 48), 10)
    (dx, dy), dice = shift_to_fit(heart, endo, too_small, max_shift_px=5)
    assert (dx, dy) == (0, 0) and np.isnan(dice)


def test_the_table_is_read_per_training_run(tmp_path):
    table = tmp_path / "alignment.json"
    assert epi_shifts_for("none", table) == {}
    table.write_text(json.dumps({"shifts_by_training_run": {
        "none": {"SC-HF-I-6": {"79": {"dx": -3, "dy": -19, "dice": 0.9}}}}}))
    assert epi_shifts_for("none", table) == {"SC-HF-I-6": {79: (-3.0, -19.0)}}
    assert epi_shifts_for("SC-HF-I-6", table) == {}


def test_the_committed_table_was_validated_on_correct_epicardia():
    table = json.loads(TABLE_PATH.read_text())
    assert set(table["shifts_by_training_run"]) == {"SC-HF-I-4", "SC-HF-I-5", "none"}
    for run, by_case in table["shifts_by_training_run"].items():
        assert run not in by_case, "a run's held-out case is never re-registered"
    for errors in table["validation_on_correct_epicardia"].values():
        assert errors["mean_shift_px"] <= 3.0


@pytest.mark.shared
def test_re_registered_epicardia_give_myocardium_labels_only_to_training(shared_data, tmp_path):
    from lab.training.mri_seg import load_samples

    def ed_codes(shifts):
        samples = load_samples(shared_data / "sunnybrook", ("SC-HF-I-6",), tmp_path, shifts)
        codes = set()
        for s in samples:
            for t in s.target:
                if (t != UNLABELLED).any() and (t == 1).sum() and not (t == NOT_POOL).any():
                    codes |= set(np.unique(t).tolist())
        return codes

    assert 2 not in ed_codes(None)  # as drawn: the epicardium is dropped (held-out scoring)
    assert 2 in ed_codes(epi_shifts_for("SC-HF-I-4"))  # re-registered for the fold that trains on it


@pytest.mark.shared
def test_training_runs_re_register_when_told_to(shared_data, tmp_path, monkeypatch):
    from lab.training import mri_seg

    monkeypatch.setattr(mri_seg, "CHECKPOINTS_DIR", tmp_path)
    base = [
        "--temporal",
        "none",
        "--holdout",
        "SC-HF-I-4",
        "--base-channels",
        "2",
        "--data",
        str(shared_data / "sunnybrook"),
    ]

    def trainer(extra):
        args = mri_seg.build_parser().parse_args(base + extra)
        return mri_seg.Trainer(args, base + extra)

    aligned = trainer(["--realign-epicardia"])
    assert set(aligned.epi_shifts) == {"SC-HF-I-6"} and "re-registered" in aligned.epi_note()
    assert any((s.target == 2).any() for s in aligned.train if s.case == "SC-HF-I-6")
    assert {s.case for s in aligned.valid} == {"SC-HF-I-4"}
    dropped = trainer([])
    assert dropped.epi_shifts == {} and "dropped" in dropped.epi_note()
    assert not any((s.target == 2).any() for s in dropped.train if s.case == "SC-HF-I-6")
    held_out_6 = mri_seg.Trainer(mri_seg.build_parser().parse_args(
        base[:2] + ["--holdout", "SC-HF-I-6"] + base[4:] + ["--realign-epicardia"]), [])
    assert held_out_6.epi_shifts == {}  # scored on the contours as drawn: no myocardium to score
    assert not any((s.target == 2).any() for s in held_out_6.valid)
