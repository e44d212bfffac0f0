"""`evaluate mri-infarct` scoring: Dice over the LV slices and over the infarcted ones."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from lab.evaluation.mri_infarct import dice, score_stack  # noqa: E402


def _stack() -> np.ndarray:
    truth = np.zeros((4, 2, 20, 20), np.uint8)
    truth[1:, :, 5:15, 5:15] = 2
    truth[1:, :, 8:12, 8:12] = 1
    return truth


def test_perfect_segmentation_scores_one_everywhere():
    truth = _stack()
    s = score_stack(truth.copy(), truth, infarct_slices=(2, 3))
    assert s == {"myo": 1.0, "pool": 1.0, "myo_infarct": 1.0}


def test_a_missed_infarcted_wall_only_hurts_the_infarct_score_more():
    truth = _stack()
    pred = truth.copy()
    pred[3][pred[3] == 2] = 0  # the myocardium of the (infarcted) apical slice is lost
    s = score_stack(pred, truth, infarct_slices=(3,))
    assert s["myo_infarct"] == 0.0 and 0.5 < s["myo"] < 1.0 and s["pool"] == 1.0
    assert np.isnan(score_stack(pred, truth, infarct_slices=())["myo_infarct"])
    assert dice(np.zeros((2, 2)), np.zeros((2, 2)), 2) == 1.0


def test_metadata_record_keeps_the_approach_names():
    import argparse

    from lab.evaluation.mri_infarct import _key, metadata_record

    titles = ["CNN alone (LOO folds)", "one-level ConvLSTM (LOO folds)", "multi-level ConvLSTM (LOO folds)",
              "published models/mri_seg"]
    assert [_key(t) for t in titles] == ["cnn_alone_loo", "one_level_loo", "multi_level_loo", "published"]
    record = metadata_record({"published": {"myo": 0.71234, "pool": 0.6, "myo_infarct": 0.7}},
                             argparse.Namespace(stacks=4, threads=0, tag=""))
    assert record["dsc_myo_all_lv_slices"] == {"published": 0.712} and record["stacks"] == 4
    assert record["command"] == "python -m app evaluate mri-infarct --stacks 4"


def test_update_keeps_approaches_whose_folds_were_not_scored_again():
    from lab.evaluation.mri_infarct import merge_record

    previous = {"command": "old", "stacks": 4, "dsc_pool": {"multi_level_loo": 0.90, "cnn_alone_loo": 0.85},
                "dsc_myo_infarct_slices": {"multi_level_loo": 0.93, "cnn_alone_loo": 0.91}}
    new = {"command": "new", "stacks": 4, "dsc_pool": {"cnn_alone_loo": 0.88, "published": 0.87},
           "dsc_myo_infarct_slices": {"cnn_alone_loo": 0.92, "published": 0.92}}
    merged = merge_record(new, previous)
    assert merged["dsc_myo_infarct_slices"] == {"cnn_alone_loo": 0.92, "published": 0.92, "multi_level_loo": 0.93}
    assert merged["dsc_pool"]["multi_level_loo"] == 0.90 and merged["carried_over"] == {"multi_level_loo": "old"}
    assert merge_record(new, {**previous, "stacks": 8}) == new  # other phantoms: not comparable


def test_unfinished_fold_runs_are_not_scored(tmp_path, monkeypatch):
    """A fold stopped by --max-minutes (to be resumed) must not enter the comparison tables as if trained."""
    import lab.evaluation.mri_crop_loo as evaluation
    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
    from lab.evaluation.mri_infarct import _networks
    from lab.training.checkpoint import save_checkpoint
    from lab.training.mri_seg import CASES, run_name

    monkeypatch.setattr(evaluation, "CHECKPOINTS_DIR", tmp_path)
    monkeypatch.setattr("app.ml.mri_inference.load_mri_model", lambda: MultiLevelConvLSTMNet(4, "none"))
    state = {"model": MultiLevelConvLSTMNet(4, "multi").state_dict(), "args": {"base_channels": 4, "steps": 20}}
    save_checkpoint(tmp_path / run_name("multi", CASES[0], "t") / "last.pt", {**state, "step": 20})
    save_checkpoint(tmp_path / run_name("multi", CASES[1], "t") / "last.pt", {**state, "step": 12})
    _, step, args = evaluation.load_fold("multi", CASES[1], "t")
    assert step == 12 and not evaluation.fold_finished(step, args)
    titles = {title: len(nets) for title, nets, _, _ in _networks("t")}
    assert titles == {"multi-level ConvLSTM (LOO folds)": 1, "published models/mri_seg": 1}
