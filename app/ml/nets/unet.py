"""Base echo segmentation network: a U-Net style fully convolutional encoder-decoder (Smistad et al.).

Each level has two 3x3 conv + BatchNorm + ReLU; max pooling down, 2x nearest upsampling + 3x3 conv up,
skip concatenation. Input (B, 2, H, W): channel 0 the image scaled to 0..1, channel 1 a constant plane
holding the long-axis / 3-chamber view flag (0 or 1). Output (B, K, H, W) logits over K=4 classes
(0 background, 1 LV cavity, 2 myocardium, 3 LA); softmax over dim 1 gives probabilities.
H and W must be divisible by 2**len(channels[:-1]).
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_CHANNELS = (16, 32, 64, 128, 128)
N_CLASSES = 4
IN_CHANNELS = 2


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv (no bias) + BatchNorm + ReLU: (B, c_in, H, W) -> (B, c_out, H, W)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class EncoderBlock(nn.Module):
    """Two conv_bn_relu: (B, c_in, H, W) -> (B, c_out, H, W) (the skip); pooling is done by the net."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = conv_bn_relu(c_in, c_out)
        self.conv2 = conv_bn_relu(c_out, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class DecoderBlock(nn.Module):
    """Upsample x2 + conv, concat the skip, two convs: (B, c_in, h, w) + (B, c_skip, 2h, 2w) -> (B, c_out, 2h, 2w)."""

    def __init__(self, c_in: int, c_skip: int, c_out: int):
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv_bn_relu(c_in, c_out))
        self.conv1 = conv_bn_relu(c_out + c_skip, c_out)
        self.conv2 = conv_bn_relu(c_out, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(torch.cat([self.up(x), skip], dim=1)))


class Decoder(nn.Module):
    """All decoder blocks + 1x1 head: encoder features (coarsest last) -> (B, K, H, W) logits."""

    def __init__(self, channels: tuple[int, ...], n_classes: int = N_CLASSES):
        super().__init__()
        rev = list(channels[::-1])
        self.blocks = nn.ModuleList(DecoderBlock(rev[i], rev[i + 1], rev[i + 1]) for i in range(len(rev) - 1))
        self.head = nn.Conv2d(channels[0], n_classes, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        for block, skip in zip(self.blocks, features[-2::-1], strict=False):
            x = block(x, skip)
        return self.head(x)


class UNet(nn.Module):
    """(B, 2, H, W) -> (B, 4, H, W) logits. `channels` are the filters per level, coarsest last."""

    def __init__(self, channels: tuple[int, ...] = DEFAULT_CHANNELS, n_classes: int = N_CLASSES):
        super().__init__()
        self.channels = tuple(int(c) for c in channels)
        c_in = [IN_CHANNELS, *self.channels[:-1]]
        self.encoder = nn.ModuleList(EncoderBlock(a, b) for a, b in zip(c_in, self.channels, strict=True))
        self.pool = nn.MaxPool2d(2)
        self.decoder = Decoder(self.channels, n_classes)

    @property
    def divisor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else self.pool(x))
            features.append(x)
        return self.decoder(features)


def load_matching(module: nn.Module, state: dict) -> list[str]:
    """Copy into `module` every tensor of `state` whose name and shape match its own; returns the names copied
    (a U-Net's weights into a network built around the same encoder and decoder)."""
    own = module.state_dict()
    copied = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    own.update(copied)
    module.load_state_dict(own)
    return sorted(copied)
