"""Trained weights on disk: `models/<name>/model.pt` + `metadata.json` with a sha256 check.

Layout of one model folder::

    models/<name>/model.pt         torch state_dict (torch.save)
    models/<name>/metadata.json    the model card (app/ml/model_card.py): network, preprocessing, provenance

`save_model` writes both (the file atomically, then the card with the file's sha256); `load_model` builds
the card's network from the registry (app/ml/nets/registry.py) and refuses a file whose sha256 differs from
the card with a clear `WeightsError`. The runtime never writes a model folder; the lab publishes through
save_model and keeps its notebook in lab/notes/.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from app import paths
from app.ml.model_card import ModelCard, ModelCardError, load_card, write_card

MODELS_DIR = paths.install_root() / "models"  # the bundled models (checkout or PyInstaller bundle)
WEIGHTS_FILE = "model.pt"
METADATA_FILE = "metadata.json"


class WeightsError(Exception):
    """Weights missing, corrupted (sha256 mismatch) or not matching the network."""


def models_dir() -> Path:
    """The models folder (override with CARDIOTRACE_MODELS_DIR, e.g. in tests)."""
    return paths.models_dir()


def model_dir(name: str, root: Path | None = None) -> Path:
    return (root or models_dir()) / name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(name: str, root: Path | None = None) -> ModelCard:
    """The ModelCard of models/<name> (app/ml/model_card.py); WeightsError when absent or off the schema."""
    path = model_dir(name, root) / METADATA_FILE
    if not path.is_file():
        raise WeightsError(f"model '{name}' has no {METADATA_FILE} in {path.parent}")
    try:
        return load_card(path)
    except ModelCardError as exc:
        raise WeightsError(f"model '{name}': {exc}") from exc


def model_available(name: str, root: Path | None = None) -> bool:
    folder = model_dir(name, root)
    return (folder / WEIGHTS_FILE).is_file() and (folder / METADATA_FILE).is_file()


def save_model(module, name: str, card: dict[str, Any], root: Path | None = None, half: bool = False) -> ModelCard:
    """Write module.state_dict() and its model card. `card` holds network, preprocessing, provenance (without
    sha256), classes/outputs; name, provenance.sha256, n_parameters and stored_dtype are filled in here.

    half: store floating tensors as float16 (half the size; load_model casts back to the module's dtype).
    """
    import torch

    folder = model_dir(name, root)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, tmp)
    os.replace(tmp, weights)
    filled = {**card, "name": name, "n_parameters": int(sum(p.numel() for p in module.parameters())),
              "stored_dtype": "float16" if half else "float32",
              "provenance": {**card.get("provenance", {}), "sha256": sha256_file(weights)}}
    model_card = ModelCard.from_dict(filled)
    write_card(model_card, folder / METADATA_FILE)
    return model_card


def load_model(name: str, device=None, root: Path | None = None):
    """Build the network its model card names (app/ml/nets/registry.py), load models/<name>/model.pt after the
    sha256 check. Returns the module in eval mode on `device` (default: app.ml.device.choose_device()).
    Raises WeightsError when files are missing, the card is off the schema, the hash differs or the state
    does not fit."""
    import torch

    from app.ml.device import choose_device
    from app.ml.nets.registry import UnknownNetwork, build_network

    folder = model_dir(name, root)
    weights = folder / WEIGHTS_FILE
    card = read_card(name, root)
    if not weights.is_file():
        raise WeightsError(f"model '{name}' has no {WEIGHTS_FILE} in {folder}")
    expected = card.provenance.sha256
    actual = sha256_file(weights)
    if expected != actual:
        raise WeightsError(
            f"model '{name}': {weights} sha256 {actual[:12]}... does not match metadata "
            f"{expected[:12] or '(none)'}...; the file is corrupted or was replaced"
        )
    try:
        module = build_network(card.network)
    except (UnknownNetwork, TypeError) as exc:
        raise WeightsError(f"model '{name}': cannot build {card.network.class_name}: {exc}") from exc
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"model '{name}': weights do not fit the network: {exc}") from exc
    module.to(device if device is not None else choose_device())
    module.eval()
    return module
