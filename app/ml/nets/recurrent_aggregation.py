"""Recurrent aggregation network for echo sequences (after Li et al., MICCAI 2019), sized for a laptop CPU.

The U-Net encoder of `app.ml.nets.unet` gives the pyramid of features (one level per resolution). At each
level in `levels` (default 2, 3, 4: 1/4, 1/8 and 1/16 of the input):
- a pyramid dilated dense block (`PyramidDilatedDenseBlock`: 3x3 convs at dilation rates 1, 2, 4, each fed
  the block input and every earlier output, fused by a 1x1 conv) widens the receptive field;
- a ConvLSTM runs over time on it, hierarchically: the coarser level's hidden states (upsampled x2) are
  part of the finer level's input, so memory flows across levels and time;
- its hidden state, projected by a 1x1 conv, is added to the level's features, which the decoder takes as
  its skip connection (the aggregation of levels, time and scales).
A view-classification branch reads the coarsest hidden state and the predicted class fractions (the
segmentation guides the classification) and predicts the view (`VIEWS`); it is trained with cross-entropy
beside the segmentation's BCE + Dice.

The dense blocks' and the projections' last BatchNorm/conv start at zero, so a network fresh from
`load_base_weights(unet_state)` computes exactly that U-Net; training then learns what time adds.

- forward(x (B, T, 2, H, W), state=None) -> (logits (B, T, 4, H, W), state)
- forward_with_view(x, state=None) -> (logits (B, T, 4, H, W), view logits (B, T, V), state)
- step(x (B, 2, H, W), state) -> (logits (B, 4, H, W), state): streaming, one frame at a time.
`state` is a list with one (h, c) tuple per level (coarsest first), None before the first frame.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from app.ml.nets.convlstm import ConvLSTMCell
from app.ml.nets.unet import DEFAULT_CHANNELS, IN_CHANNELS, N_CLASSES, Decoder, EncoderBlock, load_matching

DEFAULT_LEVELS = (2, 3, 4)
VIEWS = ("a4c", "a2c", "a3c")
DILATION_RATES = (1, 2, 4)


class PyramidDilatedDenseBlock(nn.Module):
    """(B, c, H, W) -> (B, c, H, W): x + fuse(cat(x, d1, d2, d4)), d_r = 3x3 conv at dilation r over all before."""

    def __init__(self, channels: int, growth: int, rates: tuple[int, ...] = DILATION_RATES):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels + i * growth, growth, 3, padding=r, dilation=r, bias=False),
                          nn.BatchNorm2d(growth), nn.ReLU(inplace=True))
            for i, r in enumerate(rates)
        )
        fuse_conv = nn.Conv2d(channels + len(rates) * growth, channels, 1, bias=False)
        fuse_norm = nn.BatchNorm2d(channels)
        self.fuse = nn.Sequential(fuse_conv, fuse_norm)
        nn.init.zeros_(fuse_norm.weight)  # identity at the start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.convs:
            features.append(conv(torch.cat(features, dim=1)))
        return x + self.fuse(torch.cat(features, dim=1))


class RecurrentAggregationNet(nn.Module):
    """(B, T, 2, H, W) -> (B, T, 4, H, W) logits (+ (B, T, V) view logits) with hierarchical ConvLSTMs."""

    def __init__(self, channels: tuple[int, ...] = DEFAULT_CHANNELS, levels: tuple[int, ...] = DEFAULT_LEVELS,
                 n_classes: int = N_CLASSES, n_views: int = len(VIEWS)):
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        self.levels = tuple(sorted(int(i) for i in levels))  # finest first; the state list is coarsest first
        if not self.levels or self.levels[0] < 1 or self.levels[-1] >= len(self.channels):
            raise ValueError(f"levels {levels} must lie in 1..{len(self.channels) - 1}")
        c_in = [IN_CHANNELS, *self.channels[:-1]]
        self.encoder = nn.ModuleList(EncoderBlock(a, b) for a, b in zip(c_in, self.channels, strict=True))
        self.pool = nn.MaxPool2d(2)
        self.decoder = Decoder(self.channels, n_classes)
        self.hidden = {lv: max(self.channels[lv] // 2, 8) for lv in self.levels}
        self.dense = nn.ModuleDict({str(lv): PyramidDilatedDenseBlock(self.channels[lv], max(self.channels[lv] // 4, 8))
                                    for lv in self.levels})
        self.lstm, self.project = nn.ModuleDict(), nn.ModuleDict()
        for coarser, lv in zip((None, *self.levels[::-1]), self.levels[::-1], strict=False):
            extra = self.hidden[coarser] if coarser is not None else 0
            self.lstm[str(lv)] = ConvLSTMCell(self.channels[lv] + extra, self.hidden[lv])
            project = nn.Conv2d(self.hidden[lv], self.channels[lv], 1)
            self.project[str(lv)] = project
            assert project.bias is not None  # Conv2d's default
            nn.init.zeros_(project.weight)
            nn.init.zeros_(project.bias)
        top = self.hidden[self.levels[-1]]
        self.view_head = nn.Sequential(nn.Linear(top + n_classes, 32), nn.ReLU(inplace=True), nn.Linear(32, n_views))

    @property
    def divisor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    @property
    def lstm_levels(self) -> tuple[int, ...]:
        """Levels with memory, in the order of the state list (coarsest first)."""
        return self.levels[::-1]

    def state_shapes(self, size: int) -> list[tuple[int, ...]]:
        """(1, hidden, S/2^l, S/2^l) of h and c for every level, in state order (for ONNX export)."""
        return [(1, self.hidden[lv], size >> lv, size >> lv) for lv in self.lstm_levels for _ in ("h", "c")]

    def forward_with_view(self, x: torch.Tensor, state: list | None = None):
        """x (B, T, 2, H, W) -> (logits (B, T, K, H, W), view logits (B, T, V), new state)."""
        b, t = x.shape[:2]
        state = list(state) if state is not None else [None] * len(self.levels)
        flat = x.reshape(b * t, *x.shape[2:])
        features = []
        for i, block in enumerate(self.encoder):
            flat = block(flat if i == 0 else self.pool(flat))
            features.append(flat)
        new_state, above = [], None
        for k, lv in enumerate(self.lstm_levels):
            dense = self.dense[str(lv)](features[lv])
            seq_in = dense if above is None else torch.cat([dense, F.interpolate(above, scale_factor=2.0)], dim=1)
            out, st = self.lstm[str(lv)](seq_in.reshape(b, t, *seq_in.shape[1:]), state[k])
            new_state.append(st)
            above = out.reshape(b * t, *out.shape[2:])
            features[lv] = dense + self.project[str(lv)](above)
            if k == 0:
                top = above
        logits = self.decoder(features)
        summary = torch.cat([top.mean(dim=(2, 3)), torch.softmax(logits.float(), 1).mean(dim=(2, 3)).to(top.dtype)], 1)
        views = self.view_head(summary)
        return logits.reshape(b, t, *logits.shape[1:]), views.reshape(b, t, -1), new_state

    def forward(self, x: torch.Tensor, state: list | None = None):
        """x (B, T, 2, H, W) -> (logits (B, T, K, H, W), new state)."""
        logits, _, new_state = self.forward_with_view(x, state)
        return logits, new_state

    def step(self, x: torch.Tensor, state: list | None = None):
        """x (B, 2, H, W) one frame -> (logits (B, K, H, W), new state)."""
        logits, new_state = self.forward(x.unsqueeze(1), state)
        return logits[:, 0], new_state

    def load_base_weights(self, base_state: dict) -> list[str]:
        """Copy every tensor of a `UNet` state_dict whose name and shape match; returns the names copied."""
        return load_matching(self, base_state)
