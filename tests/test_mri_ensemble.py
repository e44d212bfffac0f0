"""The MRI ensemble: averaged probabilities, loading from models/, fold ensembles and publishing."""

from __future__ import annotations

import json

import pytest
import torch

from app.ml.nets.mri_ensemble import MriEnsemble
from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet
from app.ml.nets.registry import build


def members(n: int = 2, temporal: str = "multi") -> list[MultiLevelConvLSTMNet]:
    nets = []
    for seed in range(n):
        torch.manual_seed(seed)
        nets.append(MultiLevelConvLSTMNet(4, temporal).eval())
    return nets


def test_the_ensemble_probabilities_are_the_mean_of_its_members():
    nets = members(3)
    x = torch.rand(1, 4, 1, 16, 16)
    with torch.no_grad():
        mean = torch.stack([torch.softmax(n(x), dim=2) for n in nets]).mean(0)
        got = torch.softmax(MriEnsemble(nets)(x), dim=2)
    assert got.shape == (1, 4, 3, 16, 16)
    torch.testing.assert_close(got, mean, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError):
        MriEnsemble([])


def test_build_makes_an_ensemble_only_when_the_metadata_names_members():
    single = build("MriEnsemble", {"members": 1, "member": {"base_channels": 4, "temporal": "multi"}})
    assert isinstance(single, MultiLevelConvLSTMNet)
    pair = build("MriEnsemble", {"members": 2, "member": {"base_channels": 4, "temporal": "multi"}})
    assert isinstance(pair, MriEnsemble) and len(pair.members) == 2


def test_a_saved_ensemble_loads_back_with_its_sha256_checked(tmp_path):
    from app.ml.weights import load_model, save_model
    from tests.model_cards import card

    ensemble = MriEnsemble(members(2))
    args = {"members": 2, "member": {"base_channels": 4, "temporal": "multi"}}
    save_model(ensemble, "mri_seg", card("MriEnsemble", args), root=tmp_path)
    loaded = load_model("mri_seg", "cpu", root=tmp_path)
    x = torch.rand(1, 3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), ensemble(x))


def _save_run(root, temporal, holdout, tag, net, step=5, steps=5, seed=0):
    from lab.training.checkpoint import save_checkpoint
    from lab.training.mri_seg import run_name

    args = {"base_channels": 4, "temporal": temporal, "holdout": holdout, "steps": steps, "seed": seed,
            "tag": tag, "bf16": True, "publish": False, "data": "x"}
    save_checkpoint(root / run_name(temporal, holdout, tag) / "last.pt",
                    {"model": net.state_dict(), "step": step, "args": args})


def test_a_comma_separated_tag_evaluates_the_ensemble_of_those_folds(tmp_path, monkeypatch):
    from lab.evaluation import mri_crop_loo as evaluation_mri

    monkeypatch.setattr(evaluation_mri, "CHECKPOINTS_DIR", tmp_path)
    a, b = members(2)
    _save_run(tmp_path, "multi", "SC-HF-I-4", "a", a)
    _save_run(tmp_path, "multi", "SC-HF-I-4", "b", b, step=3)
    net, step, args = evaluation_mri.load_fold("multi", "SC-HF-I-4", "a,b")
    assert isinstance(net, MriEnsemble) and len(net.members) == 2
    assert args["ensemble_of_tags"] == ["a", "b"]
    assert not evaluation_mri.fold_finished(step, args)  # member b stopped at step 3 of 5
    assert evaluation_mri.load_fold("multi", "SC-HF-I-4", "a,missing")[0] is None


def test_publishing_an_ensemble_needs_finished_runs_and_their_leave_one_out_table(tmp_path, monkeypatch, capsys):
    from lab.evaluation import mri_crop_loo as evaluation_mri
    from lab.model_notes import read_metadata
    from lab.training import mri_ensemble, mri_seg

    models = tmp_path / "models"
    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(models))
    monkeypatch.setattr(mri_ensemble, "CHECKPOINTS_DIR", tmp_path)
    monkeypatch.setattr(evaluation_mri, "CHECKPOINTS_DIR", tmp_path)
    monkeypatch.setattr(mri_seg, "CHECKPOINTS_DIR", tmp_path)
    a, b = members(2)
    _save_run(tmp_path, "multi", "none", "a", a)
    assert mri_ensemble.main(["--tags", "a"]) == 2
    assert mri_ensemble.main(["--tags", "a,b"]) == 2
    assert "no run at" in capsys.readouterr().err
    _save_run(tmp_path, "multi", "none", "b", b, seed=2)
    assert mri_ensemble.main(["--tags", "a,b"]) == 2
    assert "evaluate mri-seg --tag a,b" in capsys.readouterr().err

    summary = {"rows": [{"approach": "multi", "case": "SC-HF-I-4", "dice_myo": 0.8}],
               "decisions_all_folds": {"multi": {"pool_probability": 0.4, "heart_probability": 0.5}}}
    path = mri_seg.loo_summary_path("a,b")
    assert path.parent.name == "mri_seg_loo_a+b"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(summary))
    assert mri_ensemble.main(["--tags", "a,b"]) == 0
    meta = read_metadata("mri_seg")
    assert meta["build"]["members"] == 2
    assert meta["decision"]["pool_probability"] == 0.4
    assert meta["leave_one_out"]["rows"] == summary["rows"]
    assert "--seed 2" in meta["member_commands"][1] and "--bf16" in meta["member_commands"][1]
    assert "--bf16 True" not in meta["member_commands"][1]
    from app.ml.weights import load_model

    published = load_model("mri_seg", "cpu")
    x = torch.rand(1, 3, 1, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(published(x), MriEnsemble([a, b])(x))


def test_an_ensemble_shares_the_test_time_views_among_its_members(monkeypatch):
    import numpy as np

    from app.ml import mri_inference

    nets = members(2)
    crop = np.random.default_rng(0).random((4, 16, 16)).astype(np.float32)
    calls = []
    real = mri_inference._net_probs

    def counting(net, view):
        calls.append(id(net))
        return real(net, view)

    monkeypatch.setattr(mri_inference, "_net_probs", counting)
    got = mri_inference.predict_cycle_probs(MriEnsemble(nets), crop, tta_views=8)
    assert len(calls) == 8 and calls.count(id(nets[0])) == calls.count(id(nets[1])) == 4
    views = mri_inference._DIHEDRAL
    singles = []
    for i, (turns, mirror) in enumerate(views):
        view = np.rot90(crop[:, :, ::-1] if mirror else crop, turns, axes=(1, 2))
        probs = np.rot90(real(nets[i % 2], view), -turns, axes=(2, 3))
        singles.append(probs[:, :, :, ::-1] if mirror else probs)
    np.testing.assert_allclose(got, np.mean(singles, axis=0), atol=1e-5)
    calls.clear()
    one_view = mri_inference.predict_cycle_probs(MriEnsemble(nets), crop, tta_views=1)
    assert len(calls) == 2, "every member segments at least once"
    np.testing.assert_allclose(one_view, (real(nets[0], crop) + real(nets[1], crop)) / 2, atol=1e-5)
