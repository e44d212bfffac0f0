"""models/<name>/ weights: save/load round trip through the model card, sha256 check, the lab record."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.unet import UNet  # noqa: E402
from app.ml.weights import WeightsError, load_model, read_card, save_model  # noqa: E402
from tests.model_cards import card  # noqa: E402

CARD = card("UNet", {"channels": [4, 8, 8]}, input_size_px=32, channels=2)


def test_round_trip(tmp_path):
    net = UNet((4, 8, 8))
    save_model(net, "demo", CARD, root=tmp_path)
    saved = read_card("demo", tmp_path)
    assert saved.name == "demo" and len(saved.provenance.sha256) == 64 and saved.n_parameters > 0
    loaded = load_model("demo", torch.device("cpu"), root=tmp_path)
    assert not loaded.training
    x = torch.rand(1, 2, 32, 32)
    net.eval()
    assert torch.allclose(loaded(x), net(x))
    assert (tmp_path / "demo" / "model.pt").is_file()


def test_sha_mismatch_refused(tmp_path):
    save_model(UNet((4, 8, 8)), "demo", CARD, root=tmp_path)
    weights = tmp_path / "demo" / "model.pt"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_model("demo", torch.device("cpu"), root=tmp_path)


def test_missing_and_mismatched_network(tmp_path):
    with pytest.raises(WeightsError, match="no metadata.json"):
        load_model("absent", torch.device("cpu"), root=tmp_path)
    save_model(UNet((4, 8, 8)), "demo", card("UNet", {"channels": [4, 8, 16]}, input_size_px=32), root=tmp_path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_model("demo", torch.device("cpu"), root=tmp_path)
    save_model(UNet((4, 8, 8)), "demo", card("NoSuchNet", {}), root=tmp_path)
    with pytest.raises(WeightsError, match="unknown network class"):
        load_model("demo", torch.device("cpu"), root=tmp_path)


def test_a_card_with_lab_notes_in_it_is_refused(tmp_path):
    save_model(UNet((4, 8, 8)), "demo", CARD, root=tmp_path)
    path = tmp_path / "demo" / "metadata.json"
    meta = json.loads(path.read_text())
    path.write_text(json.dumps({**meta, "validation_metrics": {"dice_lv": 0.9}}))
    with pytest.raises(WeightsError, match="unknown keys"):
        load_model("demo", torch.device("cpu"), root=tmp_path)


def test_the_lab_record_is_updated_beside_the_models_not_in_them(tmp_path):
    from lab.model_notes import publish, read_metadata, update_metadata

    models = tmp_path / "models"
    publish(UNet((4, 8, 8)), "demo", {"architecture": "unet", "channels": [4, 8, 8], "input_size": 32,
                                      "command": "pytest"}, root=models)
    shipped = (models / "demo" / "metadata.json").read_text()
    update_metadata("demo", {"validation_metrics": {"dice_lv": 0.9}}, root=models)
    assert read_metadata("demo", models)["validation_metrics"]["dice_lv"] == 0.9
    assert (tmp_path / "lab" / "notes" / "demo.json").is_file()
    assert (models / "demo" / "metadata.json").read_text() == shipped
    load_model("demo", torch.device("cpu"), root=models)  # still verifies
    with pytest.raises(WeightsError):
        update_metadata("demo", {"sha256": "0" * 64}, root=models)


def test_half_storage_loads_into_float_network(tmp_path):
    net = UNet((4, 8, 8)).eval()
    save_model(net, "small", CARD, root=tmp_path, half=True)
    assert read_card("small", tmp_path).stored_dtype == "float16"
    loaded = load_model("small", torch.device("cpu"), root=tmp_path)
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(1, 2, 32, 32)
    assert torch.allclose(loaded(x), net(x), atol=1e-2)
