"""Trained weights on disk: `models/<name>/model.pt` + `metadata.json` with a sha256 check.

Layout of one model folder::

    models/<name>/model.pt         torch state_dict (torch.save)
    models/<name>/metadata.json    {"name", "sha256", "architecture", "build": {...}, ... free keys}

`save_model` writes both (the file atomically, then the metadata with the file's sha256);
`load_model` refuses a file whose sha256 differs from the metadata with a clear `WeightsError`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from app import paths

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


def read_metadata(name: str, root: Path | None = None) -> dict[str, Any]:
    """metadata.json of models/<name> as a dict; WeightsError when absent or unreadable."""
    path = model_dir(name, root) / METADATA_FILE
    if not path.is_file():
        raise WeightsError(f"model '{name}' has no {METADATA_FILE} in {path.parent}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"model '{name}': unreadable {METADATA_FILE}: {exc}") from exc


def model_available(name: str, root: Path | None = None) -> bool:
    folder = model_dir(name, root)
    return (folder / WEIGHTS_FILE).is_file() and (folder / METADATA_FILE).is_file()


def save_model(module, name: str, metadata: dict[str, Any], root: Path | None = None, half: bool = False) -> Path:
    """Write module.state_dict() and metadata (+ name, sha256, n_parameters, stored_dtype). Returns the folder.

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
    meta = dict(metadata)
    meta["name"] = name
    meta["sha256"] = sha256_file(weights)
    meta["n_parameters"] = int(sum(p.numel() for p in module.parameters()))
    meta["stored_dtype"] = "float16" if half else "float32"
    meta_tmp = folder / (METADATA_FILE + ".tmp")
    meta_tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(meta_tmp, folder / METADATA_FILE)
    return folder


def load_model(
    name: str,
    build_fn: Callable[[dict[str, Any]], Any],
    device=None,
    root: Path | None = None,
):
    """Build the network with `build_fn(metadata)`, load models/<name>/model.pt after the sha256 check.

    Returns the module in eval mode on `device` (default: app.ml.device.choose_device()).
    Raises WeightsError when files are missing, the hash differs or the state does not fit.
    """
    import torch

    from app.ml.device import choose_device

    folder = model_dir(name, root)
    weights = folder / WEIGHTS_FILE
    meta = read_metadata(name, root)
    if not weights.is_file():
        raise WeightsError(f"model '{name}' has no {WEIGHTS_FILE} in {folder}")
    expected = str(meta.get("sha256", ""))
    actual = sha256_file(weights)
    if expected != actual:
        raise WeightsError(
            f"model '{name}': {weights} sha256 {actual[:12]}... does not match metadata "
            f"{expected[:12] or '(none)'}...; the file is corrupted or was replaced"
        )
    module = build_fn(meta)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise WeightsError(f"model '{name}': weights do not fit the network: {exc}") from exc
    module.to(device if device is not None else choose_device())
    module.eval()
    return module


def update_metadata(name: str, updates: dict[str, Any], root: Path | None = None) -> None:
    """Merge `updates` into models/<name>/metadata.json (the weights and their sha256 are untouched)."""
    meta = read_metadata(name, root)
    if "sha256" in updates:
        raise WeightsError("the sha256 is computed from the weights, not set by hand")
    meta.update(updates)
    folder = model_dir(name, root)
    tmp = folder / (METADATA_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, folder / METADATA_FILE)
