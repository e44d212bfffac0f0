"""An ensemble of short-axis MRI networks: the members' class probabilities averaged.

The multi-level ConvLSTM study names ensembling (averaging several trained models) as an option. The
members are MultiLevelConvLSTMNet (app/ml/nets/mri_multilevel.py) of one build, trained from different
seeds; the ensemble returns the log of the mean softmax, so a softmax of its output is exactly the
members' mean probability and callers treat it as any single network's logits.

Shapes: input (B, T, 1, H, W); output (B, T, 3, H, W) log mean probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

PROBABILITY_FLOOR = 1e-8  # log(0) guard; far below any probability that changes a label


class MriEnsemble(nn.Module):
    """Mean class probability of `members` (each (B, T, 1, H, W) -> logits (B, T, 3, H, W))."""

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, 1, H, W) in 0..1 -> log mean softmax (B, T, 3, H, W)."""
        total = None
        for member in self.members:
            probs = torch.softmax(member(x).float(), dim=2)
            total = probs if total is None else total + probs
        assert total is not None  # an ensemble has members
        return torch.log((total / len(self.members)).clamp_min(PROBABILITY_FLOOR))


def ensemble_of(members: int, member) -> nn.Module:
    """An MriEnsemble of `members` MultiLevelConvLSTMNet built from the constructor arguments `member`
    (registry class "MriEnsemble"); one network when members is 1."""
    nets = [MultiLevelConvLSTMNet(**dict(member)) for _ in range(max(1, int(members)))]
    return nets[0] if len(nets) == 1 else MriEnsemble(nets)


def members_of(net: nn.Module) -> list[MultiLevelConvLSTMNet]:
    """The single networks inside `net` (itself when it is not an ensemble)."""
    return cast(list[MultiLevelConvLSTMNet], list(net.members) if isinstance(net, MriEnsemble) else [net])
