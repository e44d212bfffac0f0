"""Versions of the installed models for the report: one line per models/<name>/metadata.json."""

from __future__ import annotations

from pathlib import Path

from app.ml.model_card import ModelCard, ModelCardError, load_card
from app.report.model import ModelInfo


def _models_root(root: Path | None) -> Path:
    if root is not None:
        return Path(root)
    from app.ml.weights import models_dir  # torch-free module; honours CARDIOTRACE_MODELS_DIR

    return models_dir()


def installed_models(root: Path | None = None) -> tuple[ModelInfo, ...]:
    """ModelInfo(name, version, detail) for every readable metadata.json under the models folder.

    version: the first 12 hex digits of the weights' sha256 (the model card's provenance, app/ml/model_card.py).
    detail: what the model does and what it learned from, in plain words (app.report.plain_words).
    """
    folder = _models_root(root)
    if not folder.is_dir():
        return ()
    out = []
    for meta_path in sorted(folder.glob("*/metadata.json")):
        try:
            card = load_card(meta_path)
        except ModelCardError:
            out.append(ModelInfo(meta_path.parent.name, "unreadable", "metadata.json is not a readable model card"))
            continue
        has_weights = any(meta_path.parent.glob("*.pt")) or any(meta_path.parent.glob("*.onnx"))
        out.append(ModelInfo(card.name, card.provenance.sha256[:12], _detail(card, has_weights, meta_path.parent.name)))
    return tuple(out)


def _detail(card: ModelCard, has_weights: bool, folder: str = "") -> str:
    """What the model does and what it learned from, in plain words (no metric names, nothing cut off)."""
    from app.report.plain_words import MODEL_WORDS

    if folder in MODEL_WORDS:
        does, data = MODEL_WORDS[folder]
        parts = [does, f"trained on {data}"]
    else:
        parts = [card.network.class_name]
    if not has_weights:
        parts.append("weights file missing")
    return "; ".join(parts)
