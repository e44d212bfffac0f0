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
    detail: architecture, training data and the headline metric when the metadata names them.
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
        out.append(ModelInfo(name, version, _detail(meta, has_weights)))
    return tuple(out)


def _detail(meta: dict, has_weights: bool) -> str:
    parts = []
    arch = meta.get("architecture")
    if isinstance(arch, dict):
        arch = arch.get("name") or arch.get("class") or ", ".join(f"{k}={v}" for k, v in list(arch.items())[:3])
    if arch:
        parts.append(str(arch))
    data = meta.get("training_data") or meta.get("data") or meta.get("dataset")
    if isinstance(data, (list, tuple)):
        data = ", ".join(str(d) for d in data[:3])
    elif isinstance(data, dict):
        data = data.get("name") or ", ".join(str(k) for k in list(data)[:3])
    if data:
        parts.append(f"data: {str(data)[:80]}")
    metrics = meta.get("metrics")
    if not isinstance(metrics, dict):
        metrics = next((v for k, v in meta.items() if "metric" in k and isinstance(v, dict)), None)
    if isinstance(metrics, dict):
        shown = [f"{k} {v:.3g}" if isinstance(v, (int, float)) else None for k, v in metrics.items()]
        shown = [s for s in shown if s and not s.startswith("step")][:3]
        if shown:
            parts.append("; ".join(shown))
    if not has_weights:
        parts.append("weights file missing")
    return " | ".join(parts)[:240]
