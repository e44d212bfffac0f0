"""Labelled echo phantom cycles (app.data.phantom.make_echo) for temporal training and evaluation.

Clips are rendered once with varied hearts, rates, image quality and geometry, area-resized to the
network size and cached as one npz (frames (N, T, S, S) float32 are stored per clip, clips differ in T).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

QUALITIES = ("excellent", "good", "fair", "poor")
GEOMETRIES = ("fixed", "varied")


def random_params(rng: np.random.Generator, image_px: int = 128, views: tuple[str, ...] = ("a4c",),
                  geometry: str = "fixed"):
    """Varied EchoPhantomParams for one training clip (view drawn from views).

    geometry "fixed": a square image_px fan just deep enough for the heart, sector 75-95 deg (the stream of the
    older caches); "varied": also the acquisition a scanner varies, zoomed-in depths that cut the atrium, narrow
    sectors and real-resolution, non-square images area-resized to the network size.
    """
    if geometry == "varied":
        return _varied_geometry(rng, random_params(rng, image_px, views))
    from app.data.phantom import EchoPhantomParams, HeartParams

    edv = float(rng.uniform(80, 200))
    ef = float(rng.uniform(0.25, 0.65))
    heart = HeartParams(edv_ml=edv, esv_ml=edv * (1 - ef), heart_rate_bpm=float(rng.uniform(50, 110)),
                        start_phase=float(rng.uniform(0, 0.9)))
    view = str(rng.choice(views)) if len(views) > 1 else views[0]  # one view: the rng stream of old caches
    return EchoPhantomParams(
        heart=heart, view=view, beats=1, frame_rate_hz=float(rng.uniform(25, 60)),
        quality=str(rng.choice(QUALITIES)), sector_deg=float(rng.uniform(75, 95)),
        image_shape_px=(image_px, image_px), tilt_deg=float(rng.uniform(-10, 10)),
    )


def _varied_geometry(rng: np.random.Generator, params):
    from dataclasses import replace

    rows = int(rng.integers(128, 513))
    cols = int(np.clip(rows * rng.uniform(0.9, 1.3), 128, 640))
    depth = None if rng.random() < 0.4 else float(rng.uniform(130.0, 190.0))
    return replace(params, image_shape_px=(rows, cols), depth_mm=depth, sector_deg=float(rng.uniform(55, 95)))


def render_clip(params, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """-> frames (T, S, S) float32 0..1, labels (T, S, S) uint8 at the network size."""
    from app.data.phantom import make_echo

    case = make_echo(params, seed=seed)
    frames = case.recording.frames_unit()
    labels = case.truth.labels
    frames = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])
    labels = np.stack([cv2.resize(lb, (size, size), interpolation=cv2.INTER_NEAREST_EXACT) for lb in labels])
    return frames.astype(np.float32), labels.astype(np.uint8)


@dataclass
class PhantomBank:
    """A list of labelled phantom clips; draws subsequences like SequenceBank."""

    frames: list
    labels: list
    description: str = "echo phantom cycles (app.data.phantom.make_echo, a4c, varied EDV/EF/HR/quality/tilt)"
    views: tuple[str, ...] = ()  # each clip's view ("a4c", "a2c", ...); empty: all a4c

    @staticmethod
    def cache_file(cache_dir: Path, n_clips: int, size: int, seed: int = 0, views: tuple[str, ...] = ("a4c",),
                   geometry: str = "fixed") -> Path:
        """Where `build` keeps the bank of these arguments."""
        tag = ("" if tuple(views) == ("a4c",) else "_" + "-".join(views))
        tag += "" if geometry == "fixed" else f"_{geometry}"
        return Path(cache_dir) / f"phantom_{n_clips}_{size}_{seed}{tag}.npz"

    @classmethod
    def build(cls, n_clips: int, size: int, cache_dir: Path | None, seed: int = 0, log: Callable | None = None,
              views: tuple[str, ...] = ("a4c",), geometry: str = "fixed"):
        views = tuple(views)
        description = cls.description.replace("a4c,", f"{'/'.join(views)},")
        if geometry != "fixed":
            description = description.replace("quality/tilt", f"quality/tilt, {geometry} depth/sector/size")
        cache = cls.cache_file(cache_dir, n_clips, size, seed, views, geometry) if cache_dir else None
        if cache is not None and cache.is_file():
            with np.load(cache) as data:
                n = int(data["n"])
                clip_views = tuple(str(v) for v in data["views"]) if "views" in data else ("a4c",) * n
                if "views" in data or views == ("a4c",):  # older caches of several views: render again
                    return cls([data[f"f{i}"] for i in range(n)], [data[f"l{i}"] for i in range(n)], description,
                               clip_views)
        rng = np.random.default_rng(seed)
        frames, labels, clip_views = [], [], []
        for i in range(n_clips):
            attempts = 5 if geometry == "fixed" else 20  # zoomed depths and narrow sectors miss more hearts
            for attempt in range(attempts):  # a big heart may not fit a narrow sector: draw again
                try:
                    params = random_params(rng, image_px=max(size, 96), views=views, geometry=geometry)
                    f, lb = render_clip(params, seed=seed * 1000 + i, size=size)
                    break
                except ValueError:
                    if attempt == attempts - 1:
                        raise
            frames.append(f)
            labels.append(lb)
            clip_views.append(params.view)
            if log:
                log(f"phantom clip {i + 1}/{n_clips}: {f.shape[0]} frames")
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            arrays = {f"f{i}": f for i, f in enumerate(frames)} | {f"l{i}": lb for i, lb in enumerate(labels)}
            np.savez_compressed(cache, n=len(frames), views=np.array(clip_views), **arrays)
        return cls(frames, labels, description, tuple(clip_views))

    def view_of(self, clip: int) -> str:
        return self.views[clip] if self.views else "a4c"

    def batch(self, batch: int, seq_len: int, rng: np.random.Generator, augment: Callable | None = None,
              with_views: bool = False):
        """-> frames (B, T, S, S) float32, labels (B, T, S, S) int64, labelled (B, T) bool (all True)
        [, views: B view names, when with_views]."""
        out_f, out_l, out_v = [], [], []
        for _ in range(batch):
            i = int(rng.integers(0, len(self.frames)))
            out_v.append(self.view_of(i))
            n = self.frames[i].shape[0]
            step = int(rng.integers(1, 3))
            t = (int(rng.integers(0, n)) + step * np.arange(seq_len)) % n  # clips are one periodic beat
            f, lb = self.frames[i][t], self.labels[i][t]
            if augment is not None:
                f, lb = augment(f, lb, rng)
            out_f.append(f)
            out_l.append(lb)
        labels = np.stack(out_l).astype(np.int64)
        out = (np.stack(out_f).astype(np.float32), labels, np.ones(labels.shape[:2], bool))
        return (*out, out_v) if with_views else out

    def frame_batch(self, n: int, rng: np.random.Generator, augment: Callable | None = None):
        """Single frames for the base network: (n, S, S) float32, (n, S, S) int64."""
        frames, labels = [], []
        for _ in range(n):
            i = int(rng.integers(0, len(self.frames)))
            t = int(rng.integers(0, self.frames[i].shape[0]))
            f, lb = self.frames[i][t : t + 1], self.labels[i][t : t + 1]
            if augment is not None:
                f, lb = augment(f, lb, rng)
            frames.append(f[0])
            labels.append(lb[0])
        return np.stack(frames).astype(np.float32), np.stack(labels).astype(np.int64)
