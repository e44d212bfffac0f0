"""Temporal echo segmentation network: the U-Net with ConvLSTM layers in the encoder (Smistad et al.).

In each encoder level listed in `lstm_levels` the first 3x3 conv is replaced by a ConvLSTM cell with the
same filter count; other layers are those of `UNet`, with the same parameter names so base weights load
into them (`load_base_weights`). Levels not listed keep the plain conv (cheaper at full resolution on CPU).

- forward(x (B, T, 2, H, W), state=None) -> (logits (B, T, 4, H, W), state): non-stateful training over a
  subsequence (state None) or a chunk continuing from `state`.
- step(x (B, 2, H, W), state) -> (logits (B, 4, H, W), state): streaming, one frame at a time.
`state` is a list with one (h, c) tuple per ConvLSTM level (None before the first frame).
"""

from __future__ import annotations

import torch
from torch import nn

from app.ml.nets.convlstm import ConvLSTMCell
from app.ml.nets.unet import DEFAULT_CHANNELS, IN_CHANNELS, N_CLASSES, Decoder, conv_bn_relu, load_matching

DEFAULT_LSTM_LEVELS = (1, 2, 3, 4)


class TemporalEncoderBlock(nn.Module):
    """ConvLSTM (c_in -> c_out) + BatchNorm + ReLU-free tanh output, then conv_bn_relu (c_out -> c_out)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.lstm = ConvLSTMCell(c_in, c_out)
        self.conv2 = conv_bn_relu(c_out, c_out)


class PlainEncoderBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = conv_bn_relu(c_in, c_out)
        self.conv2 = conv_bn_relu(c_out, c_out)


class ConvLSTMUNet(nn.Module):
    """(B, T, 2, H, W) -> (B, T, 4, H, W) logits with temporal memory in the encoder."""

    def __init__(
        self,
        channels: tuple[int, ...] = DEFAULT_CHANNELS,
        lstm_levels: tuple[int, ...] = DEFAULT_LSTM_LEVELS,
        n_classes: int = N_CLASSES,
    ):
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.lstm_levels = tuple(sorted(int(i) for i in lstm_levels))
        c_in = [IN_CHANNELS, *self.channels[:-1]]
        self.encoder = nn.ModuleList(
            (TemporalEncoderBlock if i in self.lstm_levels else PlainEncoderBlock)(a, b)
            for i, (a, b) in enumerate(zip(c_in, self.channels, strict=True))
        )
        self.pool = nn.MaxPool2d(2)
        self.decoder = Decoder(self.channels, n_classes)

    @property
    def divisor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    def forward(self, x: torch.Tensor, state: list | None = None):
        """x (B, T, 2, H, W) -> (logits (B, T, K, H, W), new state). Layers without memory run batched over T."""
        b, t = x.shape[:2]
        state = list(state) if state is not None else [None] * len(self.lstm_levels)
        new_state: list[tuple[torch.Tensor, torch.Tensor]] = []
        flat = x.reshape(b * t, *x.shape[2:])
        features = []
        for i, block in enumerate(self.encoder):
            if i > 0:
                flat = self.pool(flat)
            if isinstance(block, TemporalEncoderBlock):
                seq = flat.reshape(b, t, *flat.shape[1:])
                out, st = block.lstm(seq, state[len(new_state)])
                new_state.append(st)
                flat = out.reshape(b * t, *out.shape[2:])
            else:
                assert isinstance(block, PlainEncoderBlock)  # the encoder holds these two kinds
                flat = block.conv1(flat)
            flat = block.conv2(flat)
            features.append(flat)
        logits = self.decoder(features)
        return logits.reshape(b, t, *logits.shape[1:]), new_state

    def step(self, x: torch.Tensor, state: list | None = None):
        """x (B, 2, H, W) one frame -> (logits (B, K, H, W), new state)."""
        logits, new_state = self.forward(x.unsqueeze(1), state)
        return logits[:, 0], new_state

    def load_base_weights(self, base_state: dict) -> list[str]:
        """Copy every tensor of a `UNet` state_dict whose name and shape match; returns the names copied."""
        return load_matching(self, base_state)
