"""Staged training of the ConvLSTM approaches: start from a trained CNN-alone fold, then train the ConvLSTMs.

    python -m app train mri-seg --temporal multi --holdout SC-HF-I-4 --init-from-cnn c16b4 --freeze-cnn ...

The ConvLSTM approaches add cyclic ConvLSTMs with a residual connection (features + ConvLSTM(features)) to the
CNN alone, so a network with the CNN's weights and ConvLSTMs whose output is zero *is* that CNN. Zeroing the
gates' convolution weights does that: the candidate gate g = tanh(0) = 0 keeps the cell state at 0 and the
output h = o * tanh(0) at 0, while the gradient to g's weights (o * i = 0.25) is not zero, so training can move
away from the CNN. With --freeze-cnn only the ConvLSTMs train and the CNN's layers stay in eval mode (their
batch-norm statistics are the CNN's), so a fold starts exactly at its CNN's held-out score.
"""

from __future__ import annotations

import torch
from torch import nn

TEMPORAL_PREFIXES = ("lstm_half.", "lstm_quarter.")


def is_temporal(name: str) -> bool:
    """A parameter or buffer of one of the ConvLSTMs (the layers the CNN alone lacks)."""
    return name.startswith(TEMPORAL_PREFIXES)


def warm_start_from_cnn(net: nn.Module, cnn_state: dict[str, torch.Tensor]) -> None:
    """Load a CNN-alone state dict into a ConvLSTM network and silence its ConvLSTMs (output 0 at the start).

    Raises ValueError if the two networks differ anywhere but the ConvLSTMs (another width, another layout)."""
    own = net.state_dict()
    foreign = sorted(k for k in cnn_state if k not in own)
    missing = sorted(k for k in own if k not in cnn_state and not is_temporal(k))
    mismatched = sorted(k for k in cnn_state if k in own and own[k].shape != cnn_state[k].shape)
    if foreign or missing or mismatched:
        raise ValueError(f"the CNN's weights do not fit this network (unexpected {foreign[:3]}, "
                         f"missing {missing[:3]}, other shape {mismatched[:3]})")
    net.load_state_dict(cnn_state, strict=False)
    with torch.no_grad():
        for name, module in net.named_modules():
            if is_temporal(name + ".") and hasattr(module, "gates"):
                module.gates.weight.zero_()


def freeze_cnn(net: nn.Module) -> list[nn.Parameter]:
    """Only the ConvLSTMs' parameters keep requires_grad; returns them (for the optimizer)."""
    trainable = []
    for name, param in net.named_parameters():
        param.requires_grad_(is_temporal(name))
        if param.requires_grad:
            trainable.append(param)
    if not trainable:
        raise ValueError("--freeze-cnn needs a network with ConvLSTMs (--temporal single or multi)")
    return trainable


def train_mode(net: nn.Module, cnn_frozen: bool) -> None:
    """net.train(), with the frozen CNN's layers (and their batch-norm statistics) left in eval mode."""
    net.train()
    if cnn_frozen:
        for name, module in net.named_children():
            if not is_temporal(name + "."):
                module.eval()
