"""The one format of a model folder's metadata.json: a frozen ModelCard, loaded and validated from JSON.

    {
      "name": "echo_seg_base",
      "network": {"class": "UNet", "args": {"channels": [16, 32, 64, 128, 128]}},   # app/ml/nets/registry.py
      "preprocessing": {"input_size_px": 128 | null, "grid_mm": 1.25 | null, "spacing": "...",
                        "channels": 2, "intensity": "...", "tta_views": 4 | null, "kind": "..." | null,
                        "flags": {...}},                                  # switches the runtime reads
      "provenance": {"data": "...", "command": "...", "metrics": {"dice_lv": 0.93, ...},
                     "sha256": "<of model.pt>", "date": "2026-11-23", "notes": "lab/notes/echo_seg_base.md"},
      "classes": ["background", "lv", ...],                               # optional
      "outputs": "...",                                                   # optional
      "stored_dtype": "float16" | "float32", "n_parameters": 1422532,
      "int8": {"file": "model_int8.onnx", "sha256": "...", "from_weights_sha256": "<of model.pt>",
               "calibration": "...", "command": "...", "date": "...", "default": true}   # optional
    }

Nothing else: what was tried, old metric tables and training histories live in the lab's notes
(lab/notes/<name>.md). `metrics` holds the headline figures only (name -> number).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

TOP_KEYS = {"name", "network", "preprocessing", "provenance", "classes", "outputs", "stored_dtype", "n_parameters",
            "int8"}
REQUIRED_TOP = TOP_KEYS - {"classes", "outputs", "int8"}
INT8_KEYS = {"file", "sha256", "from_weights_sha256", "calibration", "command", "date", "default"}
PREPROCESSING_KEYS = {"input_size_px", "grid_mm", "spacing", "channels", "intensity", "tta_views", "kind", "flags"}
PROVENANCE_KEYS = {"data", "command", "metrics", "sha256", "date", "notes"}
MAX_METRICS = 12  # headline figures only
STORED_DTYPES = ("float16", "float32")


class ModelCardError(ValueError):
    """metadata.json does not follow the model card schema."""


@dataclass(frozen=True)
class Network:
    class_name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Preprocessing:
    channels: int
    intensity: str
    spacing: str
    input_size_px: int | None = None
    grid_mm: float | None = None
    tta_views: int | None = None
    kind: str | None = None
    flags: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Provenance:
    data: str
    command: str
    metrics: Mapping[str, float]
    sha256: str
    date: str
    notes: str | None = None


@dataclass(frozen=True)
class Int8Graph:
    """An int8 ONNX graph beside the weights (lab.training.quantize_echo): made from the weights whose sha256 is
    from_weights_sha256, run only for those; `default`: its accuracy was measured to hold, so the ONNX Runtime
    path runs it unless told not to (app.ml.device.use_int8)."""

    file: str
    sha256: str
    from_weights_sha256: str
    calibration: str
    command: str
    date: str
    default: bool = False


@dataclass(frozen=True)
class ModelCard:
    name: str
    network: Network
    preprocessing: Preprocessing
    provenance: Provenance
    stored_dtype: str
    n_parameters: int
    classes: tuple[str, ...] | None = None
    outputs: str | None = None
    int8: Int8Graph | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelCard":
        """Validate and freeze; ModelCardError naming the first problem."""
        if not isinstance(data, Mapping):
            raise ModelCardError("metadata is not a JSON object")
        _keys("metadata", data, TOP_KEYS, REQUIRED_TOP)
        net = _section(data, "network")
        _keys("network", net, {"class", "args"}, {"class", "args"})
        pre = _section(data, "preprocessing")
        _keys("preprocessing", pre, PREPROCESSING_KEYS, {"channels", "intensity", "spacing"})
        prov = _section(data, "provenance")
        _keys("provenance", prov, PROVENANCE_KEYS, PROVENANCE_KEYS - {"notes"})
        metrics = _section(prov, "metrics")
        if len(metrics) > MAX_METRICS or not all(isinstance(v, (int, float)) for v in metrics.values()):
            raise ModelCardError(f"provenance.metrics: at most {MAX_METRICS} headline numbers")
        if data["stored_dtype"] not in STORED_DTYPES:
            raise ModelCardError(f"stored_dtype must be one of {STORED_DTYPES}")
        return cls(
            name=_text(data, "name"),
            network=Network(_text(net, "class"), _frozen(_section(net, "args"))),
            preprocessing=Preprocessing(
                channels=int(pre["channels"]), intensity=_text(pre, "intensity"), spacing=_text(pre, "spacing"),
                input_size_px=_optional(pre, "input_size_px", int), grid_mm=_optional(pre, "grid_mm", float),
                tta_views=_optional(pre, "tta_views", int), kind=_optional(pre, "kind", str),
                flags=_frozen(pre.get("flags") or {})),
            provenance=Provenance(
                data=_text(prov, "data"), command=_text(prov, "command"), metrics=_frozen(metrics),
                sha256=_text(prov, "sha256"), date=_text(prov, "date"), notes=_optional(prov, "notes", str)),
            stored_dtype=str(data["stored_dtype"]),
            n_parameters=int(data["n_parameters"]),
            classes=None if data.get("classes") is None else tuple(str(c) for c in data["classes"]),
            outputs=_optional(data, "outputs", str),
            int8=None if data.get("int8") is None else _int8(_section(data, "int8")),
        )

    def to_dict(self) -> dict[str, Any]:
        pre = self.preprocessing
        out: dict[str, Any] = {
            "name": self.name,
            "network": {"class": self.network.class_name, "args": _thawed(self.network.args)},
            "preprocessing": {k: v for k, v in (
                ("input_size_px", pre.input_size_px), ("grid_mm", pre.grid_mm), ("spacing", pre.spacing),
                ("channels", pre.channels), ("intensity", pre.intensity), ("tta_views", pre.tta_views),
                ("kind", pre.kind), ("flags", _thawed(pre.flags) or None)) if v is not None},
            "provenance": {k: v for k, v in (
                ("data", self.provenance.data), ("command", self.provenance.command),
                ("metrics", _thawed(self.provenance.metrics)), ("sha256", self.provenance.sha256),
                ("date", self.provenance.date), ("notes", self.provenance.notes)) if v is not None},
            "stored_dtype": self.stored_dtype,
            "n_parameters": self.n_parameters,
        }
        if self.classes is not None:
            out["classes"] = list(self.classes)
        if self.outputs is not None:
            out["outputs"] = self.outputs
        if self.int8 is not None:
            out["int8"] = {k: getattr(self.int8, k) for k in sorted(INT8_KEYS)}
        return out

    def flag(self, name: str, default: Any = None) -> Any:
        return self.preprocessing.flags.get(name, default)


def load_card(path: Path) -> ModelCard:
    """The ModelCard of a metadata.json file (ModelCardError when unreadable or off the schema)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelCardError(f"{path}: unreadable: {exc}") from exc
    try:
        return ModelCard.from_dict(data)
    except ModelCardError as exc:
        raise ModelCardError(f"{path}: {exc}") from None


def write_card(card: ModelCard, path: Path) -> None:
    """Write atomically (a .tmp beside it, then a rename)."""
    import os

    tmp = Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _int8(section: Mapping) -> Int8Graph:
    _keys("int8", section, INT8_KEYS, INT8_KEYS - {"default"})
    return Int8Graph(file=_text(section, "file"), sha256=_text(section, "sha256"),
                     from_weights_sha256=_text(section, "from_weights_sha256"),
                     calibration=_text(section, "calibration"), command=_text(section, "command"),
                     date=_text(section, "date"), default=bool(section.get("default", False)))


def _keys(where: str, data: Mapping, allowed: set[str], required: set[str]) -> None:
    unknown, missing = sorted(set(data) - allowed), sorted(required - set(data))
    if unknown:
        raise ModelCardError(f"{where}: unknown keys {unknown} (lab notes go to lab/notes/<name>.md)")
    if missing:
        raise ModelCardError(f"{where}: missing keys {missing}")


def _section(data: Mapping, key: str) -> Mapping:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ModelCardError(f"{key} must be an object")
    return value


def _text(data: Mapping, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ModelCardError(f"{key} must be a non-empty string")
    return value


def _optional(data: Mapping, key: str, kind):
    value = data.get(key)
    return None if value is None else kind(value)


def _frozen(value):
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value):
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value
