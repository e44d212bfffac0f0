"""Build echo segmentation networks from metadata dicts (shared by training, weights loading, inference)."""

from __future__ import annotations

from typing import Any

from app.ml.nets.convlstm_unet import DEFAULT_LSTM_LEVELS, ConvLSTMUNet
from app.ml.nets.unet import DEFAULT_CHANNELS, UNet

MODEL_NAMES = {"base": "echo_seg_base", "temporal": "echo_seg_temporal"}


def build_from_metadata(meta: dict[str, Any]):
    """metadata {'architecture': 'unet'|'convlstm_unet', 'channels': [...], 'lstm_levels': [...]} -> module."""
    arch = meta.get("architecture", "unet")
    channels = tuple(meta.get("channels", DEFAULT_CHANNELS))
    if arch == "unet":
        return UNet(channels)
    if arch == "convlstm_unet":
        return ConvLSTMUNet(channels, tuple(meta.get("lstm_levels", DEFAULT_LSTM_LEVELS)))
    raise ValueError(f"unknown echo segmentation architecture {arch!r}")


def architecture_for(arch: str) -> str:
    return {"base": "unet", "temporal": "convlstm_unet"}[arch]
