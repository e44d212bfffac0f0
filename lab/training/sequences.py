"""Synthetic cardiac-cycle sequences for temporal training, made from real CAMUS ED/ES frames.

For each patient a smooth deformation between ED and ES is found by SimpleITK symmetric-forces demons
registration of the (Gaussian-smoothed, label-coded) masks, both ways: u with ES(x) ~ ED(x + u(x)) and
v with ED(x) ~ ES(x + v(x)). A cycle of L frames uses alpha_t = (1 - cos(2 pi t / L)) / 2 (0 at ED,
1 at ES): image_t = (1 - a) ED(x + a u) + a ES(x + (1 - a) v), labels the argmax of the same blend of
warped one-hot masks (exact at ED and ES, registration-propagated in between), times a slowly
decorrelating multiplicative speckle field (AR(1) over frames).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from lab.training.camus_data import CamusArrays

LABEL_CODE = {1: 1.0, 2: 0.4, 3: 0.7}


def _coded(labels: np.ndarray) -> np.ndarray:
    out = np.zeros(labels.shape, np.float32)
    for k, v in LABEL_CODE.items():
        out[labels == k] = v
    return cv2.GaussianBlur(out, (0, 0), 1.5)


def register_labels(fixed: np.ndarray, moving: np.ndarray, iterations: int = 200) -> np.ndarray:
    """(S, S) label maps -> (S, S, 2) float32 displacement (dx, dy) with fixed(x) ~ moving(x + d(x))."""
    import SimpleITK as sitk

    demons = sitk.FastSymmetricForcesDemonsRegistrationFilter()
    demons.SetNumberOfThreads(1)  # small images: threading overhead dominates
    demons.SetNumberOfIterations(iterations)
    demons.SetStandardDeviations(2.0)
    field = demons.Execute(sitk.GetImageFromArray(_coded(fixed)), sitk.GetImageFromArray(_coded(moving)))
    return sitk.GetArrayFromImage(field).astype(np.float32)


def warp(image: np.ndarray, disp: np.ndarray, scale: float, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """image (H, W[, C]) pulled back along scale * disp (H, W, 2)."""
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    scale = np.float32(scale)
    map_x, map_y = xx + scale * disp[..., 0], yy + scale * disp[..., 1]
    return cv2.remap(image, map_x, map_y, interp, borderMode=cv2.BORDER_CONSTANT)


def cycle_frame(images: np.ndarray, labels: np.ndarray, u: np.ndarray, v: np.ndarray, alpha: float):
    """One frame at cycle phase alpha in [0, 1]: ((S, S) float32 image, (S, S) uint8 labels)."""
    ed, es = images
    image = (1 - alpha) * warp(ed, u, alpha) + alpha * warp(es, v, 1 - alpha)
    onehot = lambda lb: np.eye(4, dtype=np.float32)[lb]  # noqa: E731
    soft = (1 - alpha) * warp(onehot(labels[0]), u, alpha) + alpha * warp(onehot(labels[1]), v, 1 - alpha)
    return image.astype(np.float32), soft.argmax(-1).astype(np.uint8)


def speckle_fields(n: int, size: int, rng: np.random.Generator, rho: float = 0.7, strength: float = 0.12):
    """(n, S, S) multiplicative speckle factors around 1, correlated frame to frame with coefficient rho."""
    noise = rng.standard_normal((n, size, size)).astype(np.float32)
    out = np.empty_like(noise)
    out[0] = noise[0]
    for t in range(1, n):
        out[t] = rho * out[t - 1] + np.sqrt(1 - rho**2) * noise[t]
    out = np.stack([cv2.GaussianBlur(f, (0, 0), 1.0) for f in out])
    out /= out.std() + 1e-6
    return np.clip(1.0 + strength * out, 0.3, 2.0)


@dataclass
class SequenceBank:
    """ED/ES frames and both displacement fields per patient (registered lazily, cached); draws subsequences."""

    arrays: CamusArrays
    u: np.ndarray  # (N, S, S, 2) ED -> ES pull-back field
    v: np.ndarray  # (N, S, S, 2) ES -> ED
    done: np.ndarray  # (N,) bool: fields registered
    cache: Path | None = None
    description: str = (
        "sequences: ED<->ES cycles (12-30 frames) by demons registration of the masks + AR(1) speckle decorrelation; "
        "labels exact at ED/ES and registration-propagated in between"
    )

    @classmethod
    def build(cls, arrays: CamusArrays, cache_dir: Path | None, rng: np.random.Generator | None = None,
              eager: bool = False) -> "SequenceBank":
        """Fields come from cache_dir/demons_<key>.npz when present; missing ones are registered on first use
        (or now when eager)."""
        key = hashlib.sha1(("|".join(arrays.patients) + str(arrays.labels.shape)).encode()).hexdigest()[:12]
        cache = Path(cache_dir) / f"demons_{key}.npz" if cache_dir else None
        n, size = arrays.labels.shape[0], arrays.labels.shape[-1]
        bank = cls(arrays, np.zeros((n, size, size, 2), np.float32), np.zeros((n, size, size, 2), np.float32),
                   np.zeros(n, bool), cache)
        if cache is not None and cache.is_file():
            with np.load(cache) as data:
                bank.u[:], bank.v[:] = data["u"], data["v"]
                bank.done[:] = data["done"] if "done" in data else True
        if eager:
            for i in range(n):
                bank.fields(i)
            bank.save_cache()
        return bank

    def fields(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) of one patient, registering it now if needed."""
        if not self.done[index]:
            labels = self.arrays.labels[index]
            self.u[index] = register_labels(labels[1], labels[0])
            self.v[index] = register_labels(labels[0], labels[1])
            self.done[index] = True
        return self.u[index], self.v[index]

    def save_cache(self) -> None:
        if self.cache is not None and self.done.any():
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, u=self.u, v=self.v, done=self.done)
            tmp.replace(self.cache)

    def sequence(self, index: int, phases: np.ndarray, rng: np.random.Generator):
        """Frames at cycle phases alpha (T,) -> ((T, S, S) float32, (T, S, S) uint8), with speckle."""
        u, v = self.fields(index)
        pairs = [cycle_frame(self.arrays.images[index], self.arrays.labels[index], u, v, a) for a in phases]
        frames = np.stack([p[0] for p in pairs]) * speckle_fields(len(phases), self.arrays.images.shape[-1], rng)
        return np.clip(frames, 0, 1).astype(np.float32), np.stack([p[1] for p in pairs])

    def batch(self, batch: int, seq_len: int, rng: np.random.Generator, augment: Callable | None = None):
        """-> frames (B, T, S, S) float32, labels (B, T, S, S) int64, labelled (B, T) bool."""
        frames, labels = [], []
        for _ in range(batch):
            index = int(rng.integers(0, len(self.arrays.patients)))
            length = int(rng.integers(12, 31))
            step = int(rng.integers(1, 3))
            t = (int(rng.integers(0, length)) + step * np.arange(seq_len)) % length
            phases = (1 - np.cos(2 * np.pi * t / length)) / 2
            f, lb = self.sequence(index, phases, rng)
            if augment is not None:
                f, lb = augment(f, lb, rng)
            frames.append(f)
            labels.append(lb)
        labels_arr = np.stack(labels).astype(np.int64)
        return np.stack(frames), labels_arr, np.ones(labels_arr.shape[:2], bool)

    def evaluate(self, model, make_input: Callable, device, length: int = 20):
        """Run each patient's full cycle through a sequence model.

        Returns (pred (2N, S, S) at ED and ES, truth (2N, S, S), mean fraction of pixels flipping label).
        """
        import torch

        preds, truths, flips = [], [], []
        rng = np.random.default_rng(0)
        phases = (1 - np.cos(2 * np.pi * np.arange(length) / length)) / 2
        for i in range(len(self.arrays.patients)):
            frames, _ = self.sequence(i, phases, rng)
            logits, _ = model(make_input(torch.from_numpy(frames)[None]).to(device))
            labels = logits.float().argmax(2)[0].cpu().numpy()
            preds += [labels[0], labels[length // 2]]
            truths += [self.arrays.labels[i, 0], self.arrays.labels[i, 1]]
            flips.append(float((labels[1:] != labels[:-1]).mean()))
        return np.stack(preds), np.stack(truths), float(np.mean(flips))
