"""Every shipped model folder follows the one model card schema (app/ml/model_card.py): the network the
registry builds, the preprocessing, the provenance with the weights' sha256, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.ml.model_card import MAX_METRICS, ModelCard, ModelCardError, load_card
from app.ml.nets.registry import NETWORKS
from app.ml.weights import METADATA_FILE, WEIGHTS_FILE, sha256_file

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p.parent for p in (ROOT / "models").glob(f"*/{METADATA_FILE}"))


def test_the_shipped_models_are_all_there():
    assert [f.name for f in FOLDERS] == ["echo_seg_base", "echo_seg_temporal", "ed_es", "motion", "mri_seg", "view"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_card_follows_the_schema_and_matches_the_weights(folder):
    card = load_card(folder / METADATA_FILE)
    assert card.name == folder.name
    assert card.network.class_name in NETWORKS
    assert card.provenance.sha256 == sha256_file(folder / WEIGHTS_FILE)
    assert 0 < len(card.provenance.metrics) <= MAX_METRICS
    assert card.provenance.notes == f"lab/notes/{folder.name}.md"
    assert (ROOT / card.provenance.notes).is_file()
    assert ModelCard.from_dict(card.to_dict()) == card  # written exactly as read


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_an_int8_graph_is_recorded_and_made_from_these_weights(folder):
    """A retrained model's card drops the int8 entry (save_model writes a new card): its old graph must go too,
    or be made again from the new weights (python -m lab.training.quantize_echo)."""
    card = load_card(folder / METADATA_FILE)
    graphs = sorted(p.name for p in folder.glob("*.onnx"))
    assert graphs == ([card.int8.file] if card.int8 else [])
    if card.int8:
        assert card.int8.sha256 == sha256_file(folder / card.int8.file)
        assert card.int8.from_weights_sha256 == card.provenance.sha256


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_the_registry_builds_the_network_the_weights_fit(folder):
    pytest.importorskip("torch")
    from app.ml.weights import load_model

    net = load_model(folder.name, "cpu", root=folder.parent)
    assert sum(p.numel() for p in net.parameters()) == load_card(folder / METADATA_FILE).n_parameters


def test_the_facts_the_app_reads_are_in_the_cards():
    cards = {f.name: load_card(f / METADATA_FILE) for f in FOLDERS}
    for name in ("echo_seg_base", "echo_seg_temporal"):
        assert cards[name].preprocessing.input_size_px == 128 and cards[name].preprocessing.channels == 2
        assert cards[name].classes == ("background", "lv", "myocardium", "la")
    assert cards["mri_seg"].preprocessing.kind == "whole_slice" and cards["mri_seg"].preprocessing.tta_views == 4
    assert cards["mri_seg"].preprocessing.grid_mm == 1.25
    assert cards["view"].flag("data_by_view")["a4c"] == "real"
    assert cards["ed_es"].preprocessing.input_size_px == cards["ed_es"].network.args["input_size"] == 64


@pytest.mark.parametrize("broken, message", [
    (lambda d: d.pop("provenance"), "missing keys"),
    (lambda d: d.update(tried_not_kept=[]), "unknown keys"),
    (lambda d: d["preprocessing"].update(tta=4), "unknown keys"),
    (lambda d: d["provenance"]["metrics"].update({f"m{i}": i for i in range(MAX_METRICS)}), "headline"),
    (lambda d: d["provenance"]["metrics"].update(table={"a": 1}), "headline"),
    (lambda d: d["network"].pop("args"), "missing keys"),
    (lambda d: d.update(stored_dtype="int8"), "stored_dtype"),
])
def test_a_card_off_the_schema_is_refused(broken, message):
    data = json.loads((ROOT / "models" / "motion" / METADATA_FILE).read_text())
    ModelCard.from_dict(data)
    broken(data)
    with pytest.raises(ModelCardError, match=message):
        ModelCard.from_dict(data)
