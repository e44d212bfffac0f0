"""Multi-level ConvLSTM network for short-axis cine MRI (after Zhang et al.).

A ResNet-style CNN extracts features at 1/2 and 1/4 resolution from every phase; one ConvLSTM per
resolution runs over the phases of the cardiac cycle with the cycle closed (a first pass gives the state
after the last phase, which starts the second pass at the first phase); the low-resolution output is
upsampled (transposed conv), concatenated with the high-resolution one, and upsampled to class scores
(background, LV blood pool, myocardium, and with n_classes=4 the RV blood pool).

`context_blocks` adds dilated residual blocks (dilations 2, 4, 2, 4, ...) at 1/4 resolution: a field of view
wide enough to tell the right ventricle from the other bright structures around the heart.

`temporal` chooses the approach compared in the paper's table:
  "none"   the CNN alone (each phase on its own),
  "single" one ConvLSTM at 1/4 resolution,
  "multi"  ConvLSTMs at 1/2 and 1/4 resolution.

`min_cycle_phases` > 0 runs the ConvLSTMs only over cycles of at least that many phases: a 2-phase ED/ES stack
(or the two phases the heart's box is located on) is no cycle, and the network is then its CNN alone, exactly.

`in_channels` 3 gives each slice its two neighbours in the stack (the slice before, the slice, the slice after;
zeros past the stack's ends; app/ml/mri_preprocess.neighbour_channels): the context that tells a basal slice,
whose right-ventricle-like region is atrium at end-systole, from the slices below it.

Shapes: input (B, T, in_channels, H, W) with H, W multiples of 4; output logits (B, T, n_classes, H, W).
"""

from __future__ import annotations

import torch
from torch import nn

from app.ml.nets.convlstm import ConvLSTMCell

N_CLASSES = 3
TEMPORAL_MODES = ("none", "single", "multi")


class ResBlock(nn.Module):
    """Two 3x3 conv + BN + ReLU with an identity (or 1x1 strided) shortcut: (B, c_in, H, W) -> (B, c_out, H/s, W/s)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class CyclicConvLSTM(nn.Module):
    """A ConvLSTM over a periodic sequence: (B, T, c, H, W) -> (B, T, c, H, W).

    With `closed=True` the sequence runs twice; the second pass starts from the state after the last phase,
    so the first phases see the end of the cycle. A residual connection keeps the CNN features.
    """

    def __init__(self, channels: int, closed: bool = True):
        super().__init__()
        self.cell = ConvLSTMCell(channels, channels)
        self.closed = closed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = None
        if self.closed:
            _, state = self.cell(x)
        out, _ = self.cell(x, state)
        return x + out


class MultiLevelConvLSTMNet(nn.Module):
    """ResNet features at 1/2 and 1/4 + cyclic ConvLSTMs + transposed-conv decoder; see the module doc."""

    def __init__(self, base_channels: int = 16, temporal: str = "multi", closed_cycle: bool = True,
                 n_classes: int = N_CLASSES, context_blocks: int = 0, in_channels: int = 1,
                 min_cycle_phases: int = 0):
        super().__init__()
        if temporal not in TEMPORAL_MODES:
            raise ValueError(f"temporal must be one of {TEMPORAL_MODES}, got {temporal!r}")
        c1, c2, c3 = base_channels, 2 * base_channels, 4 * base_channels
        self.temporal = temporal
        self.in_channels = int(in_channels)
        self.min_cycle_phases = int(min_cycle_phases)
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(inplace=True)
        )
        self.down_half = nn.Sequential(ResBlock(c1, c2, stride=2), ResBlock(c2, c2))
        context = [ResBlock(c3, c3, dilation=2 if i % 2 == 0 else 4) for i in range(context_blocks)]
        self.down_quarter = nn.Sequential(ResBlock(c2, c3, stride=2), ResBlock(c3, c3), *context)
        self.lstm_half = CyclicConvLSTM(c2, closed_cycle) if temporal == "multi" else None
        self.lstm_quarter = CyclicConvLSTM(c3, closed_cycle) if temporal in ("single", "multi") else None
        self.up_quarter = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.fuse = ResBlock(2 * c2, c2)
        self.up_half = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.head = nn.Sequential(ResBlock(2 * c1, c1), nn.Conv2d(c1, n_classes, 1))

    def forward(self, x: torch.Tensor, cycle: bool | None = None) -> torch.Tensor:
        """x (B, T, in_channels, H, W) in 0..1 -> logits (B, T, n_classes, H, W). cycle: run the ConvLSTMs
        (None: when T >= min_cycle_phases; False: the CNN alone, as the ConvLSTMs' training compares with)."""
        b, t = x.shape[:2]
        if cycle is None:
            cycle = t >= self.min_cycle_phases
        flat = x.reshape(b * t, *x.shape[2:])
        full = self.stem(flat)
        half = self.down_half(full)
        quarter = self.down_quarter(half)
        if self.lstm_half is not None and cycle:
            half = self._over_time(self.lstm_half, half, b, t)
        if self.lstm_quarter is not None and cycle:
            quarter = self._over_time(self.lstm_quarter, quarter, b, t)
        merged = self.fuse(torch.cat([self.up_quarter(quarter), half], dim=1))
        logits = self.head(torch.cat([self.up_half(merged), full], dim=1))
        return logits.reshape(b, t, *logits.shape[1:])

    @staticmethod
    def _over_time(layer: CyclicConvLSTM, features: torch.Tensor, b: int, t: int) -> torch.Tensor:
        seq = features.reshape(b, t, *features.shape[1:])
        return layer(seq).reshape(b * t, *features.shape[1:])
