"""TempReg-Net (Kong et al., MICCAI 2016): per-frame CNN features, an LSTM, a per-frame regression.

Input (B, T, 1, S, S) float32 frames in 0..1 (S = INPUT_SIZE); output (B, T) float32, the predicted
volume-like curve (1 at ED, 0 at ES). ED frames are its local maxima, ES frames its local minima.
A bidirectional LSTM is used (the whole clip is available offline), and the CNN also sees the frame
difference to its neighbour so the small motion near ED and ES is visible at high frame rates.
About 0.4 M parameters; a 100-frame clip runs in a few tens of milliseconds on one CPU core.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

INPUT_SIZE = 64


@dataclass(frozen=True)
class TempRegConfig:
    """Architecture; stored in the weights' metadata so the loader rebuilds the same net."""

    input_size: int = INPUT_SIZE
    channels: tuple[int, ...] = (16, 32, 48, 64)
    feature_dim: int = 128
    hidden: int = 64
    bidirectional: bool = True

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "TempRegConfig":
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "channels" in fields:
            fields["channels"] = tuple(int(c) for c in fields["channels"])
        return cls(**fields)


def _block(c_in: int, c_out: int, double: bool = True) -> nn.Sequential:
    """3x3 conv (stride 2) + BN + ReLU [+ 3x3 conv + BN + ReLU]: halves H and W."""
    layers = [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    if double:
        layers += [nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class FrameEncoder(nn.Module):
    """(N, 2, S, S) frame + temporal difference -> (N, feature_dim) feature vector."""

    def __init__(self, config: TempRegConfig):
        super().__init__()
        chans = (2, *config.channels)
        self.blocks = nn.Sequential(
            *[_block(a, b, double=i > 0) for i, (a, b) in enumerate(zip(chans, chans[1:], strict=False))]
        )
        side = config.input_size // (2 ** len(config.channels))
        self.fc = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                nn.Linear(config.channels[-1] * side * side, config.feature_dim),
                                nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(x))


class TempRegNet(nn.Module):
    """(B, T, 1, S, S) frames -> (B, T) volume-like curve."""

    def __init__(self, config: TempRegConfig | None = None):
        super().__init__()
        self.config = config or TempRegConfig()
        self.encoder = FrameEncoder(self.config)
        self.lstm = nn.LSTM(self.config.feature_dim, self.config.hidden, batch_first=True,
                            bidirectional=self.config.bidirectional)
        out_dim = self.config.hidden * (2 if self.config.bidirectional else 1)
        self.head = nn.Linear(out_dim, 1)

    @staticmethod
    def with_difference(frames: torch.Tensor) -> torch.Tensor:
        """(B, T, 1, S, S) -> (B, T, 2, S, S): each frame and its central temporal difference."""
        padded = torch.cat([frames[:, :1], frames, frames[:, -1:]], dim=1)
        diff = (padded[:, 2:] - padded[:, :-2]) * 2.0
        return torch.cat([frames, diff], dim=2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.ndim != 5 or frames.shape[2] != 1:
            raise ValueError(f"expected (B, T, 1, S, S) frames, got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        x = self.with_difference(frames).flatten(0, 1)
        feats = self.encoder(x).view(b, t, -1)
        seq, _ = self.lstm(feats)
        return self.head(seq).squeeze(-1)


def build_tempreg(config: dict | TempRegConfig | None = None) -> TempRegNet:
    """A fresh TempReg-Net from a config (dict from metadata, a TempRegConfig, or the default)."""
    if isinstance(config, dict):
        config = TempRegConfig.from_dict(config)
    return TempRegNet(config)


def structured_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Kong et al.'s temporal structured loss for (B, T) curves.

    Hinge penalty on each step where the prediction decreases while the target increases, and where it
    increases while the target decreases; mean over steps.
    """
    d_pred = pred[:, 1:] - pred[:, :-1]
    d_true = target[:, 1:] - target[:, :-1]
    up = (d_true > 0).float() * torch.relu(-d_pred)
    down = (d_true < 0).float() * torch.relu(d_pred)
    return (up + down).mean()


def tempreg_loss(pred: torch.Tensor, target: torch.Tensor, model: nn.Module | None = None, *,
                 structured_weight: float = 1.0, l2_weight: float = 1e-6) -> torch.Tensor:
    """Squared error + structured_weight * structured loss + l2_weight * sum of squared weights."""
    loss = torch.mean((pred - target) ** 2) + structured_weight * structured_loss(pred, target)
    if model is not None and l2_weight > 0:
        loss = loss + l2_weight * sum((p ** 2).sum() for n, p in model.named_parameters() if "weight" in n)
    return loss
