"""Publishing a trained network: its model card into models/<name>/ and its lab record into lab/notes/.

The lab's trainers and evaluations describe a model with one free-form record (what they always wrote:
architecture, build settings, metric tables, command histories, what was tried). `publish` writes the
weights with the model card derived from that record (app/ml/model_card.py, the one format the app reads)
and keeps the whole record in lab/notes/<name>.json beside the models folder's project (`read_metadata` /
`update_metadata` read and merge it: the evaluations' tables never touch the shipped folder).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from app.ml.nets.registry import ARCHITECTURES, echo_network
from app.ml.weights import WeightsError, models_dir, save_model

# the lab record's "architecture" of an echo segmentation network -> `train echo-seg --arch`
ECHO_ARCHITECTURES = {"unet": "base", "convlstm_unet": "temporal", "recurrent_aggregation": "aggregation"}
RECORD_ARCHITECTURES = {v: k for k, v in ECHO_ARCHITECTURES.items()}
MAX_HEADLINE = 8


def notes_dir(root: Path | None = None) -> Path:
    """lab/notes of the project whose models folder is `root` (default: the app's models folder)."""
    return Path(root or models_dir()).resolve().parent / "lab" / "notes"


def notes_path(name: str, root: Path | None = None) -> Path:
    return notes_dir(root) / f"{name}.json"


def read_metadata(name: str, root: Path | None = None) -> dict[str, Any]:
    """The lab record of model `name` (everything its trainer and evaluations wrote); WeightsError when absent."""
    path = notes_path(name, root)
    if not path.is_file():
        raise WeightsError(f"model '{name}' has no lab record {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def update_metadata(name: str, updates: dict[str, Any], root: Path | None = None) -> None:
    """Merge `updates` into the lab record of `name` (the shipped model card and weights are untouched)."""
    record = read_metadata(name, root)
    if "sha256" in updates:
        raise WeightsError("the sha256 is computed from the weights, not set by hand")
    record.update(updates)
    _write_record(name, record, root)


def publish(module, name: str, metadata: dict[str, Any], root: Path | None = None, half: bool = False) -> Path:
    """Write the weights + model card (from `metadata`) into models/<name> and `metadata` as the lab record."""
    card = save_model(module, name, card_from_record(name, metadata), root, half)
    _write_record(name, {**metadata, "name": name, "sha256": card.provenance.sha256,
                         "n_parameters": card.n_parameters, "stored_dtype": card.stored_dtype}, root)
    return Path(root or models_dir()) / name


def _write_record(name: str, record: dict[str, Any], root: Path | None) -> None:
    path = notes_path(name, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def card_from_record(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """The model card fields (without sha256, n_parameters, stored_dtype) of a lab record."""
    network_class, args, pre = _network_and_preprocessing(record)
    card: dict[str, Any] = {
        "network": {"class": network_class, "args": args},
        "preprocessing": pre,
        "provenance": {"data": _text(record.get("datasets") or record.get("training_data") or "unknown"),
                       "command": _command(record), "metrics": headline(record), "date": _date(record),
                       "notes": f"lab/notes/{name}.md"},
    }
    arch = record.get("architecture")
    classes = record.get("classes") or (arch.get("classes") if isinstance(arch, dict) else None)
    if classes:
        card["classes"] = list(classes)
    outputs = record.get("output") or record.get("outputs")
    if outputs:
        card["outputs"] = _text(outputs)
    return card


def _network_and_preprocessing(record: dict[str, Any]) -> tuple[str, dict, dict]:
    arch, build = record.get("architecture"), dict(record.get("build") or {})
    if arch is None or (isinstance(arch, str) and (arch in ECHO_ARCHITECTURES or arch in ARCHITECTURES.values())):
        arch_name = ECHO_ARCHITECTURES.get(arch, "base") if arch in ECHO_ARCHITECTURES or arch is None else \
            next(k for k, v in ARCHITECTURES.items() if v == arch)
        network_class, args = echo_network(arch_name, record.get("channels", (16, 32, 64, 128, 128)),
                                           record.get("lstm_levels", ()))
        flags = {"long_axis_flag_trained": bool(record.get("long_axis_flag_trained", False))}
        return network_class, args, {
            "input_size_px": int(record["input_size"]), "channels": 2, "flags": flags,
            "spacing": "none: the image area-resized to input_size_px square (rows = depth)",
            "intensity": "grey 0..1 (the recording's display scale); second channel the long-axis flag plane"}
    if "feature_dim" in build:
        size = int(build.get("input_size", 64))
        window = int((record.get("input") or {}).get("window_frames", 128))
        return "TempRegNet", build, {
            "input_size_px": size, "channels": 1, "flags": {"window_frames": window},
            "spacing": "none: cropped to the sector box, area-resized to input_size_px square",
            "intensity": "grey 0..1 by the 1st-99.5th percentile of the clip"}
    if isinstance(arch, dict) and "trained_classes" in arch:
        args = {"trained": list(arch["trained_classes"]), "widths": list(arch.get("widths", (8, 16, 32, 48, 64)))}
        return "ViewNet", args, {
            "input_size_px": int(record.get("input_size", 96)), "channels": 1,
            "flags": {"data_by_view": dict(record.get("data_by_view", {}))},
            "spacing": "none: one frame cropped to the sector bounding box, area-resized to input_size_px square",
            "intensity": "grey 0..1 (the recording's display scale)"}
    if isinstance(arch, dict) and "width" in arch:
        return "FlowNet", {"width": int(arch["width"]), "feat": int(arch.get("feat", 12))}, {
            "channels": 1, "spacing": "the recording's pixels, padded to multiples of 8",
            "intensity": "grey 0..1 (the recording's display scale)"}
    if "base_channels" in build:
        member = {"base_channels": int(build["base_channels"]), "temporal": str(build.get("temporal", "multi")),
                  "closed_cycle": bool(build.get("closed_cycle", True)), "n_classes": int(build.get("n_classes", 3)),
                  "context_blocks": int(build.get("context_blocks", 0))}
        if int(build.get("in_channels", 1)) != 1:  # slice context: the slice and its neighbours
            member["in_channels"] = int(build["in_channels"])
        if int(build.get("min_cycle_phases", 0)):  # ConvLSTMs over cycles of at least this many phases only
            member["min_cycle_phases"] = int(build["min_cycle_phases"])
        members = int(build.get("members", 1))
        network = ("MriEnsemble", {"members": members, "member": member}) if members > 1 else \
            ("MultiLevelConvLSTMNet", member)
        inp = dict(record.get("input") or {})
        whole = inp.get("kind") == "whole_slice"
        pre = {"channels": int(inp.get("channels", 1)), "grid_mm": float(inp.get("grid_mm", 1.0)),
               "kind": "whole_slice" if whole else "crop",
               "spacing": f"resampled to a {float(inp.get('grid_mm', 1.0))} mm grid" +
                          ("" if whole else f", {inp.get('crop_px', 128)} px crop around the located LV"),
               "intensity": str(inp.get("preprocessing", "0..1 by percentiles"))}
        if inp.get("tta_views") is not None:
            pre["tta_views"] = int(inp["tta_views"])
        return network[0], network[1], pre
    raise WeightsError(f"cannot tell the network of a record with architecture {arch!r}")


def headline(record: dict[str, Any]) -> dict[str, float]:
    """At most MAX_HEADLINE numbers: the record's own "headline" dict, else the first numbers of its metrics."""
    if isinstance(record.get("headline"), dict):
        return {k: float(v) for k, v in record["headline"].items()}
    for key in ("metrics", "selection_metrics_holdout", "validation"):
        if isinstance(record.get(key), dict):
            flat = {k: float(v) for k, v in record[key].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if flat:
                return dict(list(flat.items())[:MAX_HEADLINE])
    return {}


def _command(record: dict[str, Any]) -> str:
    build = record.get("build") if isinstance(record.get("build"), dict) else {}
    return _text(record.get("command") or build.get("command") or "unknown")


def _date(record: dict[str, Any]) -> str:
    build = record.get("build") if isinstance(record.get("build"), dict) else {}
    return str(record.get("date") or build.get("date") or _dt.datetime.now(_dt.timezone.utc).date().isoformat())


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items() if isinstance(v, str)) or json.dumps(value)
    return str(value)
