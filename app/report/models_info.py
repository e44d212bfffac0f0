"""Versions of the installed models for the report: one line per models/<name>/metadata.json."""

from __future__ import annotations

import json
from pathlib import Path

from app.report.model import ModelInfo


def _models_root(root: Path | None) -> Path:
    if root is not None:
        return Path(root)
    from app.ml.weights import models_dir  # torch-free module; honours CARDIOTRACE_MODELS_DIR

    return models_dir()


def installed_models(root: Path | None = None) -> tuple[ModelInfo, ...]:
    """ModelInfo(name, version, detail) for every readable metadata.json under the models folder.

    version: metadata "version" if given, else the first 12 hex digits of the weights' sha256.
    detail: what the model does and what it learned from, in plain words (app.report.plain_words).
    """
    folder = _models_root(root)
    if not folder.is_dir():
        return ()
    out = []
    for meta_path in sorted(folder.glob("*/metadata.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out.append(ModelInfo(meta_path.parent.name, "unreadable", "metadata.json could not be read"))
            continue
        if not isinstance(meta, dict):
            continue
        name = str(meta.get("name") or meta_path.parent.name)
        version = str(meta.get("version") or str(meta.get("sha256", ""))[:12] or "unknown")
        has_weights = any(meta_path.parent.glob("*.pt")) or any(meta_path.parent.glob("*.onnx"))
        out.append(ModelInfo(name, version, _detail(meta, has_weights, meta_path.parent.name)))
    return tuple(out)


def _detail(meta: dict, has_weights: bool, folder: str = "") -> str:
    """What the model does and what it learned from, in plain words (no metric names, nothing cut off)."""
    from app.report.plain_words import MODEL_WORDS

    if folder in MODEL_WORDS:
        does, data = MODEL_WORDS[folder]
        parts = [does, f"trained on {data}"]
    else:
        arch = meta.get("architecture")
        if isinstance(arch, dict):
            arch = arch.get("name") or arch.get("class")
        parts = [str(arch)] if arch else []
    if not has_weights:
        parts.append("weights file missing")
    return "; ".join(parts)
