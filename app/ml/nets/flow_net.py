"""A compact dense-motion network for echo speckle (~60 k parameters).

Shared feature encoder at 1/2 resolution -> local correlation (radius 3: 49 displacements) -> an
initial flow as the soft-argmax of the correlation (expected displacement under a softmax with a
learned temperature) -> a small U-Net (1/2, 1/4, 1/8) on [correlation, features of the first frame,
initial flow] adds a residual -> flow at 1/2 resolution, bilinearly upsampled. The soft-argmax start
keeps the network from settling on the trivial zero-flow answer early in training. Input: two (B, 1, H, W) float frames
0..1 (H, W multiples of 8). Output: (B, 2, H, W) flow (dx, dy) in full-resolution pixels: the point x of the first frame
is at x + flow(x) in the second.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

CORR_RADIUS = 3


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2), nn.LeakyReLU(0.1, inplace=True))


def local_correlation(f1: torch.Tensor, f2: torch.Tensor, radius: int = CORR_RADIUS) -> torch.Tensor:
    """(B, C, H, W) x2 -> (B, (2r+1)^2, H, W): mean over channels of f1 * f2 shifted by (dy, dx)."""
    b, c, h, w = f1.shape
    padded = F.pad(f2, (radius, radius, radius, radius))
    out = []
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out.append((f1 * padded[:, :, dy : dy + h, dx : dx + w]).mean(dim=1))
    return torch.stack(out, dim=1)


class FlowNet(nn.Module):
    """See the module docstring. `width` scales every layer (default 24)."""

    def __init__(self, width: int = 24, feat: int = 12) -> None:
        super().__init__()
        w = width
        n_corr = (2 * CORR_RADIUS + 1) ** 2
        self.features = nn.Sequential(_conv(1, feat, 3, 2), _conv(feat, feat))
        self.stem = nn.Sequential(_conv(n_corr + feat + 2, w, 1), _conv(w, w))
        self.log_temperature = nn.Parameter(torch.tensor(2.0))
        r = torch.arange(-CORR_RADIUS, CORR_RADIUS + 1, dtype=torch.float32)
        dy, dx = torch.meshgrid(r, r, indexing="ij")
        self.register_buffer("offsets", torch.stack([dx.reshape(-1), dy.reshape(-1)]), persistent=False)
        self.down1 = nn.Sequential(_conv(w, 4 * w // 3, 3, 2), _conv(4 * w // 3, 4 * w // 3))
        self.down2 = nn.Sequential(_conv(4 * w // 3, 2 * w, 3, 2), _conv(2 * w, 2 * w))
        self.up1 = _conv(2 * w + 4 * w // 3, 4 * w // 3)
        self.up0 = _conv(4 * w // 3 + w, w)
        self.head = nn.Conv2d(w, 2, 3, 1, 1)

    @staticmethod
    def _normalise(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        both = torch.cat([a, b], dim=1)
        mean = both.mean(dim=(1, 2, 3), keepdim=True)
        std = both.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return (a - mean) / std, (b - mean) / std

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        a, b = self._normalise(first, second)
        fa, fb = self.features(a), self.features(b)
        corr = local_correlation(fa, fb)
        weights = torch.softmax(corr * self.log_temperature.exp(), dim=1)  # (B, 49, h, w)
        flow0 = torch.einsum("bkhw,ck->bchw", weights, self.offsets)  # half-resolution pixels
        x0 = self.stem(torch.cat([F.leaky_relu(corr, 0.1), fa, flow0], dim=1))
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        u1 = self.up1(torch.cat([F.interpolate(x2, size=x1.shape[-2:], mode="bilinear", align_corners=False), x1], 1))
        u0 = self.up0(torch.cat([F.interpolate(u1, size=x0.shape[-2:], mode="bilinear", align_corners=False), x0], 1))
        flow_half = flow0 + self.head(u0)
        return 2.0 * F.interpolate(flow_half, size=first.shape[-2:], mode="bilinear", align_corners=False)
