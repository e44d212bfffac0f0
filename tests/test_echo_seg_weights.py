"""models/<name>/ weights: save/load round trip, sha256 check, metadata updates."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from app.ml.nets.unet import UNet  # noqa: E402
from app.ml.weights import WeightsError, load_model, read_metadata, save_model, update_metadata  # noqa: E402

META = {"architecture": "unet", "channels": [4, 8, 8], "input_size": 32}


def _build(meta):
    return UNet(tuple(meta["channels"]))


def test_round_trip(tmp_path):
    net = UNet((4, 8, 8))
    folder = save_model(net, "demo", META, root=tmp_path)
    meta = read_metadata("demo", tmp_path)
    assert meta["name"] == "demo" and len(meta["sha256"]) == 64 and meta["n_parameters"] > 0
    loaded = load_model("demo", _build, torch.device("cpu"), root=tmp_path)
    assert not loaded.training
    x = torch.rand(1, 2, 32, 32)
    net.eval()
    assert torch.allclose(loaded(x), net(x))
    assert (folder / "model.pt").is_file()


def test_sha_mismatch_refused(tmp_path):
    save_model(UNet((4, 8, 8)), "demo", META, root=tmp_path)
    weights = tmp_path / "demo" / "model.pt"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        load_model("demo", _build, torch.device("cpu"), root=tmp_path)


def test_missing_and_mismatched_network(tmp_path):
    with pytest.raises(WeightsError, match="no metadata.json"):
        load_model("absent", _build, torch.device("cpu"), root=tmp_path)
    save_model(UNet((4, 8, 8)), "demo", META, root=tmp_path)
    with pytest.raises(WeightsError, match="do not fit"):
        load_model("demo", lambda m: UNet((4, 8, 16)), torch.device("cpu"), root=tmp_path)


def test_update_metadata_keeps_hash(tmp_path):
    save_model(UNet((4, 8, 8)), "demo", META, root=tmp_path)
    update_metadata("demo", {"validation_metrics": {"dice_lv": 0.9}}, root=tmp_path)
    meta = json.loads((tmp_path / "demo" / "metadata.json").read_text())
    assert meta["validation_metrics"]["dice_lv"] == 0.9
    load_model("demo", _build, torch.device("cpu"), root=tmp_path)  # still verifies
    with pytest.raises(WeightsError):
        update_metadata("demo", {"sha256": "0" * 64}, root=tmp_path)


def test_half_storage_loads_into_float_network(tmp_path):
    net = UNet((4, 8, 8)).eval()
    save_model(net, "small", META, root=tmp_path, half=True)
    assert read_metadata("small", tmp_path)["stored_dtype"] == "float16"
    loaded = load_model("small", _build, torch.device("cpu"), root=tmp_path)
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(1, 2, 32, 32)
    assert torch.allclose(loaded(x), net(x), atol=1e-2)
