"""Structured channel pruning: initialise a narrower echo U-Net / ConvLSTM U-Net from a trained wider one.

A network with fewer filters per level (e.g. 8,16,32,64,64 instead of 16,32,64,128,128) is ~4x cheaper on a
CPU, but trained from scratch it needs many hours. Pruning keeps, in every layer, the filters that matter
most in the trained network and copies their weights, so fine-tuning starts close to the wide network:

- conv + BatchNorm layers keep the output channels with the largest |BN gamma| (network slimming,
  Liu et al. 2017: a channel's output is scaled by gamma before the ReLU);
- a ConvLSTM cell keeps the hidden units whose output the next conv reads most (L1 norm of its weights
  over that unit), with the four gate rows (i, f, o, g) and the recurrent input columns of those units;
- every layer's input columns follow what its producer kept (skip concatenations included);
- the last decoder conv also keeps, for every class, the channel the head reads most in its favour.
Both networks must have the same number of levels, ConvLSTM levels and classes; names are those of
app/ml/nets/unet.py and convlstm_unet.py.
"""

from __future__ import annotations

import torch

from app.ml.nets.unet import IN_CHANNELS

BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


def top_channels(scores: torch.Tensor, k: int, required: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of the k largest scores, `required` ones first, in ascending index order (keeps the original
    channel order)."""
    order = torch.argsort(scores, descending=True)
    if required is not None:
        required = torch.unique(required)[:k]
        order = torch.cat([required, order[~torch.isin(order, required)]])
    return torch.sort(order[:k]).values


def head_channels(wide: dict, prefix: str) -> torch.Tensor:
    """For each class, the channel of the last decoder conv `prefix` that raises its score most (positive
    head weight x |gamma|). The features are ReLU outputs: a class whose positive readers are all pruned can
    only win where every feature is ~0, and fine-tuning does not recover it (seen: LA Dice 0 after 300 steps)."""
    head = wide["decoder.head.weight"].flatten(1).float()  # (K, C)
    best, idx = (head.clamp(min=0) * wide[f"{prefix}.1.weight"].abs().float()).max(dim=1)
    return idx[best > 0]


def _conv_bn(wide: dict, out: dict, prefix: str, in_idx: torch.Tensor, k: int,
             required: torch.Tensor | None = None) -> torch.Tensor:
    """Slice `prefix`.0 (conv, no bias) and `prefix`.1 (BatchNorm) to the top-k |gamma| outputs (`required`
    ones always); -> kept idx."""
    keep = top_channels(wide[f"{prefix}.1.weight"].abs(), k, required)
    out[f"{prefix}.0.weight"] = wide[f"{prefix}.0.weight"][keep][:, in_idx].clone()
    for name in BN_TENSORS:
        out[f"{prefix}.1.{name}"] = wide[f"{prefix}.1.{name}"][keep].clone()
    out[f"{prefix}.1.num_batches_tracked"] = wide[f"{prefix}.1.num_batches_tracked"].clone()
    return keep


def _lstm(wide: dict, out: dict, level: int, in_idx: torch.Tensor, c_in_wide: int, k: int) -> torch.Tensor:
    """Slice encoder.<level>.lstm.gates to k hidden units; -> kept hidden idx."""
    gates = f"encoder.{level}.lstm.gates"
    c_wide = wide[f"{gates}.weight"].shape[0] // 4
    readers = wide[f"encoder.{level}.conv2.0.weight"]  # (c_out, c_wide, 3, 3): how much conv2 reads each unit
    keep = top_channels(readers.abs().sum(dim=(0, 2, 3)), k)
    rows = torch.cat([g * c_wide + keep for g in range(4)])
    cols = torch.cat([in_idx, c_in_wide + keep])
    out[f"{gates}.weight"] = wide[f"{gates}.weight"][rows][:, cols].clone()
    out[f"{gates}.bias"] = wide[f"{gates}.bias"][rows].clone()
    return keep


def prune_state(wide: dict, wide_channels, narrow_channels, lstm_levels=()) -> dict:
    """state_dict of the wide net -> state_dict of the same architecture with `narrow_channels` filters.

    wide_channels / narrow_channels: filters per level, coarsest last (narrow <= wide at every level).
    lstm_levels: encoder levels holding a ConvLSTM cell (empty for the base U-Net).
    """
    wide_channels, narrow_channels = list(map(int, wide_channels)), list(map(int, narrow_channels))
    if len(wide_channels) != len(narrow_channels) or any(
        n > w for n, w in zip(narrow_channels, wide_channels, strict=False)
    ):
        raise ValueError(f"cannot prune channels {wide_channels} to {narrow_channels}")
    out: dict = {}
    in_idx, c_in_wide = torch.arange(IN_CHANNELS), IN_CHANNELS
    skips = []
    for level, (w, n) in enumerate(zip(wide_channels, narrow_channels, strict=True)):
        if level in lstm_levels:
            first = _lstm(wide, out, level, in_idx, c_in_wide, n)
        else:
            first = _conv_bn(wide, out, f"encoder.{level}.conv1", in_idx, n)
        in_idx = _conv_bn(wide, out, f"encoder.{level}.conv2", first, n)
        c_in_wide = w
        skips.append(in_idx)
    rev_wide, rev_narrow = wide_channels[::-1], narrow_channels[::-1]
    x_idx = skips[-1]
    last = len(skips) - 2
    for j, skip in enumerate(skips[-2::-1]):
        prefix = f"decoder.blocks.{j}"
        up = _conv_bn(wide, out, f"{prefix}.up.1", x_idx, rev_narrow[j + 1])
        cat_idx = torch.cat([up, rev_wide[j + 1] + skip])
        first = _conv_bn(wide, out, f"{prefix}.conv1", cat_idx, rev_narrow[j + 1])
        required = head_channels(wide, f"{prefix}.conv2") if j == last else None
        x_idx = _conv_bn(wide, out, f"{prefix}.conv2", first, rev_narrow[j + 1], required)
    out["decoder.head.weight"] = wide["decoder.head.weight"][:, x_idx].clone()
    out["decoder.head.bias"] = wide["decoder.head.bias"].clone()
    return out
