"""A mean teacher for the clinical clips' frames (issue 53: contours that hold on clinical video).

The clip EF fine-tune tells the U-Net how much a clinical cavity shrinks, never where its border is. Here the
clips' own frames get labels from a teacher whose weights are the exponential moving average of the student's
(Tarvainen & Valpola, NeurIPS 2017; French et al., ICLR 2018 for domain adaptation): the teacher labels the frame
as the clip gives it, and the student learns that label through the training's augmentations and clinical-export
degradations (the "noisy student" of Xie et al., CVPR 2020). The student is pulled towards one border whatever
the clip's gain, codec and geometry; the average follows what the EF loss teaches, one weight update behind.
"""

from __future__ import annotations

import copy

import numpy as np


class EmaTeacher:
    """The student's weights averaged over its steps (parameters by `decay`, BatchNorm statistics copied), in
    eval mode, without gradients; it labels `frames_per_step` frames of `pool` ((M, S, S) uint8) a step."""

    def __init__(self, student, decay: float, pool: np.ndarray | None = None, frames_per_step: int = 0,
                 rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= decay < 1.0:
            raise SystemExit(f"--ema-decay {decay}: give 0 <= decay < 1")
        self.decay = decay
        self.model = copy.deepcopy(student).float().eval().requires_grad_(False)
        self.pool = np.zeros((0, 1, 1), np.uint8) if pool is None else pool
        self.frames_per_step = frames_per_step
        self.rng = rng or np.random.default_rng(0)

    def update(self, student) -> None:
        """teacher <- decay x teacher + (1 - decay) x student; buffers (BatchNorm running statistics) copied."""
        import torch

        with torch.no_grad():
            for mine, theirs in zip(self.model.parameters(), student.parameters(), strict=True):
                mine.mul_(self.decay).add_(theirs.detach().float(), alpha=1.0 - self.decay)
            for mine, theirs in zip(self.model.buffers(), student.buffers(), strict=True):
                mine.copy_(theirs)

    def labels(self, frames: np.ndarray, device) -> np.ndarray:
        """(N, S, S) float32 0..1 frames -> (N, S, S) uint8 argmax labels of the teacher."""
        import torch

        from app.ml.inference import make_input

        with torch.no_grad():
            logits = self.model(make_input(torch.from_numpy(frames.astype(np.float32))).to(device))
        return logits.float().argmax(1).cpu().numpy().astype(np.uint8)

    def batch(self, augment_fn, device) -> tuple[np.ndarray, np.ndarray]:
        """`frames_per_step` random frames of the pool, labelled as the clip gives them, then each frame and its
        label through one draw of `augment_fn`: (M, S, S) float32 and int64."""
        from lab.training.augment import augment_each

        pick = self.rng.choice(len(self.pool), size=min(self.frames_per_step, len(self.pool)), replace=False)
        frames = self.pool[pick].astype(np.float32) / 255.0
        return augment_each(frames, self.labels(frames, device), self.rng, augment_fn)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)

