"""Clinical clips with the expert's EF as weak supervision for the echo U-Net (issue 53): the data side.

Each clip of `../shared/data/echonet_clips/` gives, per beat the shipped pipeline trusts, its ED and ES frames as
the network sees them (app.ml.inference.network_frames: the sector's box area-resized to the square input) and
the echocardiographer's EF of the clip. The beats' frames come from an `evaluate echo-clips --json` run of the
shipped model (its `trusted_beats`: ED at the beat's largest, ES at its smallest cavity), so the EF loss compares
our volumes at our extremes with the expert's EF. There are no tracings: nothing here says where the border is,
only how much the cavity must shrink.

Folds are by clip (`clip_folds`): a model trained on some clips is scored on the others only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ClipBeats:
    """One clip's trusted beats at the network's input.

    frames: (B, 2, S, S) uint8, ED then ES of each beat (0..255 = the network's 0..1);
    pixel_hw: (row, column) size of one network pixel in the clip's pixels (EF ignores a common scale, not a
    different one along rows and columns).
    """

    name: str
    ef_pct: float
    frames: np.ndarray
    pixel_hw: tuple[float, float]


def clip_beats(path: Path, name: str, ef_pct: float, beats, size: int) -> ClipBeats | None:
    """The (ED, ES) frames of `beats` in the clip at `path` as the network's input; None without a beat."""
    from app.data.readers import load_recording
    from app.ml.inference import network_frames

    beats = [(int(ed), int(es)) for ed, es in beats]
    if not beats:
        return None
    recording = load_recording(path, echo=True)
    flat = [t for pair in beats for t in pair]
    small, box = network_frames(recording, size, frames=flat)
    frames = np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8).reshape(len(beats), 2, size, size)
    return ClipBeats(name, float(ef_pct), frames, ((box[1] - box[0]) / size, (box[3] - box[2]) / size))


def load_clip_beats(root: Path, events_json: Path, size: int, cache: Path | None = None) -> list[ClipBeats]:
    """Every clip of an `evaluate echo-clips --json` run with trusted beats, read from `root`; cached in `cache`
    (an .npz) when given."""
    if cache is not None and cache.is_file():
        return read_cache(cache)
    from lab.evaluation.echo_clips import read_scores

    out = []
    for score in read_scores(events_json):
        beats = clip_beats(root / score.name, score.name, score.ref_ef_pct, score.trusted_beats, size)
        if beats is not None:
            out.append(beats)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, names=np.array([c.name for c in out]), ef=np.array([c.ef_pct for c in out]),
                            pixel_hw=np.array([c.pixel_hw for c in out]), counts=np.array([len(c.frames) for c in out]),
                            frames=np.concatenate([c.frames for c in out]))
    return out


def beat_frames(clips: list[ClipBeats]) -> np.ndarray:
    """(N, S, S) uint8: every beat's ED and ES frame of the clips, one after the other."""
    return np.concatenate([c.frames.reshape(-1, *c.frames.shape[2:]) for c in clips])


def read_cache(path: Path) -> list[ClipBeats]:
    with np.load(path) as z:
        starts = np.concatenate([[0], np.cumsum(z["counts"])])
        return [ClipBeats(str(n), float(ef), z["frames"][starts[i]:starts[i + 1]], tuple(float(v) for v in hw))
                for i, (n, ef, hw) in enumerate(zip(z["names"], z["ef"], z["pixel_hw"], strict=True))]


def clip_folds(names, k: int, seed: int = 0) -> list[list[str]]:
    """The clip names split into k folds of (nearly) equal size, shuffled with `seed`, each sorted."""
    names = sorted(set(names))
    order = np.random.default_rng(seed).permutation(len(names))
    return [sorted(names[i] for i in order[f::k]) for f in range(k)]
