"""The one builder registry of every network: a model card's `network` {class, args} -> torch module.

    network class            module                               constructor arguments (JSON)
    UNet                     app.ml.nets.unet                     channels, n_classes
    ConvLSTMUNet             app.ml.nets.convlstm_unet            channels, lstm_levels, n_classes
    RecurrentAggregationNet  app.ml.nets.recurrent_aggregation    channels, levels, n_classes, n_views
    TempRegNet               app.ml.nets.tempreg                  TempRegConfig fields (input_size, channels, ...)
    FlowNet                  app.ml.nets.flow_net                 width, feat
    ViewNet                  app.ml.nets.view_classifier          trained, widths, dropout
    MultiLevelConvLSTMNet    app.ml.nets.mri_multilevel           base_channels, temporal, closed_cycle, n_classes,
                                                                  context_blocks, in_channels, min_cycle_phases
    MriEnsemble              app.ml.nets.mri_ensemble             members (count), member (MultiLevelConvLSTMNet args)

The names and the echo segmentation architectures load without torch; a network's module is imported when
it is built. JSON lists become tuples for the constructors.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

MODEL_NAMES = {"base": "echo_seg_base", "temporal": "echo_seg_temporal", "aggregation": "echo_seg_aggregation"}
# `train echo-seg --arch` name -> network class
ARCHITECTURES = {"base": "UNet", "temporal": "ConvLSTMUNet", "aggregation": "RecurrentAggregationNet"}
RECURRENT_CLASSES = ("ConvLSTMUNet", "RecurrentAggregationNet")  # stateful: step(x, state)

NETWORKS: dict[str, str] = {
    "UNet": "app.ml.nets.unet:UNet",
    "ConvLSTMUNet": "app.ml.nets.convlstm_unet:ConvLSTMUNet",
    "RecurrentAggregationNet": "app.ml.nets.recurrent_aggregation:RecurrentAggregationNet",
    "TempRegNet": "app.ml.nets.tempreg:build_tempreg",
    "FlowNet": "app.ml.nets.flow_net:FlowNet",
    "ViewNet": "app.ml.nets.view_classifier:ViewNet",
    "MultiLevelConvLSTMNet": "app.ml.nets.mri_multilevel:MultiLevelConvLSTMNet",
    "MriEnsemble": "app.ml.nets.mri_ensemble:ensemble_of",
}


class UnknownNetwork(ValueError):  # noqa: N818 - public name, caught by callers and tests
    """A model card names a network class the registry does not know."""


def build(network_class: str, args: Mapping[str, Any] | None = None):
    """A fresh module of `network_class` built from its constructor arguments (a model card's network)."""
    if network_class not in NETWORKS:
        raise UnknownNetwork(f"unknown network class {network_class!r}; known: {', '.join(sorted(NETWORKS))}")
    module_name, factory = NETWORKS[network_class].split(":")
    kwargs = {k: _tuples(v) for k, v in dict(args or {}).items()}
    if network_class == "TempRegNet":
        return getattr(importlib.import_module(module_name), factory)(dict(args or {}))
    return getattr(importlib.import_module(module_name), factory)(**kwargs)


def build_network(network) -> Any:
    """The module of a model card's `network` (app.ml.model_card.Network)."""
    return build(network.class_name, network.args)


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def echo_network(arch: str, channels, lstm_levels=()) -> tuple[str, dict[str, Any]]:
    """(class, args) of an echo segmentation network from `train echo-seg --arch` and its options."""
    network_class = ARCHITECTURES[arch]
    args: dict[str, Any] = {"channels": [int(c) for c in channels]}
    if network_class == "ConvLSTMUNet":
        args["lstm_levels"] = [int(i) for i in lstm_levels]
    elif network_class == "RecurrentAggregationNet":
        args["levels"] = [int(i) for i in lstm_levels]
    return network_class, args


def is_recurrent(network_class: str) -> bool:
    """True for a network that carries a state from frame to frame (runs over sequences, streams by step)."""
    return network_class in RECURRENT_CLASSES
