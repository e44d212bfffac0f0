"""Model card fields for test model folders (app/ml/model_card.py; save_model fills in the rest)."""

from __future__ import annotations


def card(network_class: str, args: dict, input_size_px: int | None = None, **preprocessing) -> dict:
    pre = {"channels": 1, "intensity": "test 0..1", "spacing": "test", **preprocessing}
    if input_size_px is not None:
        pre["input_size_px"] = input_size_px
    return {"network": {"class": network_class, "args": args}, "preprocessing": pre,
            "provenance": {"data": "test", "command": "pytest", "metrics": {}, "date": "2026-11-26"}}
