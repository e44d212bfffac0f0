"""ViewNet: a compact CNN that names the echo view of one frame (A4C, A2C, A3C, PLAX, PSAX or other).

Input: (B, 1, S, S) float 0..1, the frame cropped to the ultrasound sector's bounding box and
area-resized to S x S (S = 96 by default, any multiple of 32 works), exactly as app.ml.inference crops
frames for segmentation (see app.ml.view.frame_to_input).

Five blocks of (3x3 conv, batch norm, ReLU, 2x2 max pool) with 8, 16, 32, 48, 64 channels:
    (B, 1, 96, 96) -> (B, 8, 48, 48) -> (B, 16, 24, 24) -> (B, 32, 12, 12) -> (B, 48, 6, 6) -> (B, 64, 3, 3)
then global average pooling (B, 64), dropout and a linear layer to (B, 6) logits, one per CLASSES.

Classes without any training data (PLAX and PSAX today) are masked: their logits are replaced by
MASKED_LOGIT, so softmax gives them probability ~0 and the network can never be trained to, nor
answer, a view it has never seen. The mask is a buffer saved with the weights.
"""

from __future__ import annotations

import torch
from torch import nn

CLASSES = ("a4c", "a2c", "a3c", "plax", "psax", "other")
DEFAULT_TRAINED = ("a4c", "a2c", "a3c", "other")
WIDTHS = (8, 16, 32, 48, 64)
MASKED_LOGIT = -1.0e4


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """(B, c_in, H, W) -> (B, c_out, H/2, W/2)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class ViewNet(nn.Module):
    """(B, 1, S, S) frames -> (B, len(CLASSES)) logits; untrained classes masked to MASKED_LOGIT."""

    trained_mask: torch.Tensor  # a buffer (register_buffer)

    def __init__(self, trained: tuple[str, ...] = DEFAULT_TRAINED, widths: tuple[int, ...] = WIDTHS,
                 dropout: float = 0.2) -> None:
        super().__init__()
        unknown = set(trained) - set(CLASSES)
        if unknown:
            raise ValueError(f"unknown view classes {sorted(unknown)}; expected some of {CLASSES}")
        layers, c_in = [], 1
        for c_out in widths:
            layers.append(_block(c_in, c_out))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(c_in, len(CLASSES))
        mask = torch.tensor([name in trained for name in CLASSES], dtype=torch.bool)
        self.register_buffer("trained_mask", mask)

    @property
    def trained_classes(self) -> tuple[str, ...]:
        return tuple(c for c, ok in zip(CLASSES, self.trained_mask.tolist(), strict=True) if ok)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) -> (B, 6) logits."""
        features = self.features(x).mean(dim=(2, 3))  # (B, 64) global average pool
        logits = self.head(self.dropout(features))
        return logits.masked_fill(~self.trained_mask, MASKED_LOGIT)
