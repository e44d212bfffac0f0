"""Build echo segmentation networks from metadata dicts (shared by training, weights loading, inference).

The names and architectures load without torch; the networks are imported when one is built."""

from __future__ import annotations

from typing import Any

MODEL_NAMES = {"base": "echo_seg_base", "temporal": "echo_seg_temporal", "aggregation": "echo_seg_aggregation"}
ARCHITECTURES = {"base": "unet", "temporal": "convlstm_unet", "aggregation": "recurrent_aggregation"}
RECURRENT_ARCHITECTURES = ("convlstm_unet", "recurrent_aggregation")  # stateful: step(x, state)


def build_from_metadata(meta: dict[str, Any]):
    """metadata {'architecture': 'unet'|'convlstm_unet'|'recurrent_aggregation', 'channels': [...],
    'lstm_levels': [...]} -> module."""
    from app.ml.nets.convlstm_unet import DEFAULT_LSTM_LEVELS, ConvLSTMUNet
    from app.ml.nets.recurrent_aggregation import DEFAULT_LEVELS, RecurrentAggregationNet
    from app.ml.nets.unet import DEFAULT_CHANNELS, UNet

    arch = meta.get("architecture", "unet")
    channels = tuple(meta.get("channels", DEFAULT_CHANNELS))
    if arch == "unet":
        return UNet(channels)
    if arch == "convlstm_unet":
        return ConvLSTMUNet(channels, tuple(meta.get("lstm_levels", DEFAULT_LSTM_LEVELS)))
    if arch == "recurrent_aggregation":
        return RecurrentAggregationNet(channels, tuple(meta.get("lstm_levels", DEFAULT_LEVELS)))
    raise ValueError(f"unknown echo segmentation architecture {arch!r}")


def architecture_for(arch: str) -> str:
    return ARCHITECTURES[arch]


def is_recurrent(meta: dict[str, Any]) -> bool:
    """True for a network that carries a state from frame to frame (runs over sequences, streams by step)."""
    return meta.get("architecture", "unet") in RECURRENT_ARCHITECTURES
