"""Learned dense motion: the FlowNet of app/ml/nets/flow_net.py behind the classical flow interface.

`load_learned_flow()` returns a callable (first, second) -> (H, W, 2) float32 flow (dx, dy) in pixels,
exactly like app.analysis.motion_classical.ClassicalFlow, so the strain pipeline can use either.
Weights: models/motion/model.pt + metadata.json (sha256-checked by app.ml.weights).
"""

from __future__ import annotations

import numpy as np

MODEL_NAME = "motion"


class LearnedFlow:
    """Callable flow estimator around a FlowNet module on a given torch device."""

    name = "learned-flownet"

    def __init__(self, module, device) -> None:
        self.module = module
        self.device = device

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return self.batch(np.asarray(first)[None], np.asarray(second)[None])[0]

    def batch(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """(B, H, W) float 0..1 pairs -> (B, H, W, 2) flows; pads H, W to multiples of 8."""
        import torch

        b, h, w = first.shape
        ph, pw = (-h) % 8, (-w) % 8
        pad = ((0, 0), (0, ph), (0, pw))
        a = np.pad(np.asarray(first, np.float32), pad, mode="edge")
        c = np.pad(np.asarray(second, np.float32), pad, mode="edge")
        with torch.inference_mode():
            ta = torch.from_numpy(a)[:, None].to(self.device)
            tc = torch.from_numpy(c)[:, None].to(self.device)
            flow = self.module(ta, tc)[:, :, :h, :w]
        return flow.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


def load_learned_flow(device=None, root=None) -> LearnedFlow:
    """The installed motion model; raises app.ml.weights.WeightsError when it is missing or corrupt."""
    from app.ml.device import choose_device
    from app.ml.weights import load_model

    device = device if device is not None else choose_device()
    module = load_model(MODEL_NAME, device=device, root=root)
    return LearnedFlow(module, device)
