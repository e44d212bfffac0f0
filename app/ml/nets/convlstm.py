"""Convolutional LSTM cell (Shi et al. 2015) used inside the temporal segmentation network.

One step: x (B, c_in, H, W) and state (h, c) each (B, c_out, H, W) -> new (h, c). The four gates come
from one 3x3 convolution over cat(x, h). A None state means zeros (the start of a sequence).
"""

from __future__ import annotations

import torch
from torch import nn


class ConvLSTMCell(nn.Module):
    """ConvLSTM cell with `c_out` filters; `step` runs one frame, `forward` a whole (B, T, c_in, H, W)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3):
        super().__init__()
        self.c_out = c_out
        self.gates = nn.Conv2d(c_in + c_out, 4 * c_out, kernel_size, padding=kernel_size // 2)
        with torch.no_grad():  # forget-gate bias 1: remember by default at the start of training
            bias = self.gates.bias
            assert bias is not None  # Conv2d's default
            bias.zero_()
            bias[c_out : 2 * c_out].fill_(1.0)

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None):
        """x (B, c_in, H, W); state (h, c) or None -> (h, c), each (B, c_out, H, W)."""
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.c_out, x.shape[2], x.shape[3])
            state = (zeros, zeros)
        h, c = state
        i, f, o, g = torch.chunk(self.gates(torch.cat([x, h], dim=1)), 4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c

    def forward(self, x: torch.Tensor, state=None):
        """x (B, T, c_in, H, W) -> (outputs (B, T, c_out, H, W), final state (h, c))."""
        outputs = []
        for t in range(x.shape[1]):
            state = self.step(x[:, t], state)
            outputs.append(state[0])
        return torch.stack(outputs, dim=1), state
