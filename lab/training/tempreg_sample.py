"""Training clips for TempReg-Net, their on-disk cache and random training windows (numpy only).

A clip is frames (T, S, S) uint8 at the network's input size plus its label events (frame, is_ED),
which may include events just outside the clip (the cut beats), and the truth ED/ES frames inside it.
The cache is one .npz (all frames concatenated + offsets) so training never re-renders a phantom.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.training.tempreg_labels import target_curve


@dataclass(frozen=True)
class TrainClip:
    """frames (T, S, S) uint8; events (E, 2) float64 (frame, 1.0 for ED / 0.0 for ES), sorted."""

    frames: np.ndarray
    events: np.ndarray
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    source: str
    modality: str
    frame_rate_hz: float

    @classmethod
    def from_cycle(cls, frames: np.ndarray, cycle, source: str, modality: str,
                   frame_rate_hz: float) -> "TrainClip":
        """Label events: the truth frames inside the clip, the continuous events outside it.

        A continuous event within 30 % of a beat of a truth frame of the same kind is that truth event
        (e.g. nominal ED at frame -0.4 and truth ED at frame 0), so it is not added twice.
        """
        events = merge_events(len(frames), cycle.ed_frames, cycle.es_frames, cycle.event_frames)
        return cls(frames, events, tuple(cycle.ed_frames), tuple(cycle.es_frames), source, modality,
                   float(frame_rate_hz))

    def target(self) -> np.ndarray:
        """(T,) float32 Kong et al. target curve."""
        ed = self.events[self.events[:, 1] == 1.0, 0]
        es = self.events[self.events[:, 1] == 0.0, 0]
        return target_curve(len(self.frames), ed, es)


def merge_events(n_frames: int, ed_frames, es_frames, continuous: np.ndarray) -> np.ndarray:
    """(E, 2) sorted (frame, is_ED): truth frames + the continuous events outside 0..n-1 not near them."""
    inside = [(float(f), 1.0) for f in ed_frames] + [(float(f), 0.0) for f in es_frames]
    beat = 2.0 * float(np.median(np.diff(np.sort(continuous[:, 0])))) if len(continuous) > 1 else n_frames
    out = list(inside)
    for frame, is_ed in continuous:
        if 0.0 <= frame <= n_frames - 1:
            continue
        if any(k == is_ed and abs(f - frame) < 0.3 * beat for f, k in inside):
            continue
        out.append((float(frame), float(is_ed)))
    return np.array(sorted(out), dtype=np.float64)


def save_clips(path: Path, clips: list[TrainClip]) -> None:
    """Write clips to one compressed-free .npz (atomic: temp file then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lengths = np.array([len(c.frames) for c in clips], dtype=np.int64)
    n_events = np.array([len(c.events) for c in clips], dtype=np.int64)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        frames=np.concatenate([c.frames for c in clips]),
        lengths=lengths,
        events=np.concatenate([c.events for c in clips]),
        n_events=n_events,
        sources=np.array([c.source for c in clips]),
        modalities=np.array([c.modality for c in clips]),
        rates=np.array([c.frame_rate_hz for c in clips], dtype=np.float64),
    )
    tmp.replace(path)


def load_clips(path: Path) -> list[TrainClip]:
    """Clips from save_clips (truth frames rebuilt from the in-clip events)."""
    with np.load(path) as data:
        frames, lengths = data["frames"], data["lengths"]
        events, n_events = data["events"], data["n_events"]
        sources, modalities, rates = data["sources"], data["modalities"], data["rates"]
    clips = []
    f0 = e0 = 0
    for n, ne, src, mod, rate in zip(lengths, n_events, sources, modalities, rates, strict=False):
        ev = events[e0:e0 + ne]
        inside = ev[(ev[:, 0] >= 0) & (ev[:, 0] <= n - 1)]
        ed = tuple(int(f) for f, is_ed in inside if is_ed == 1.0)
        es = tuple(int(f) for f, is_ed in inside if is_ed == 0.0)
        clips.append(TrainClip(frames[f0:f0 + n], ev, ed, es, str(src), str(mod), float(rate)))
        f0, e0 = f0 + n, e0 + ne
    return clips


GROUP_SHARES = {"camus": 0.3, "phantom-echo": 0.35, "phantom-warp": 0.2, "phantom-mri": 0.15}


def clip_group(clip: TrainClip) -> str:
    """camus (CAMUS-warped), phantom-warp (phantom ED/ES warped), phantom-echo, phantom-mri, or other."""
    if clip.source.startswith("camus:phantom"):
        return "phantom-warp"
    if clip.source.startswith("camus:"):
        return "camus"
    if clip.source.startswith("phantom:"):
        return f"phantom-{clip.modality}"
    return "other"


def sampling_weights(clips: list[TrainClip], shares: dict[str, float] = GROUP_SHARES) -> np.ndarray:
    """(N,) probabilities giving each present group its share (renormalised), uniform within a group."""
    groups = [clip_group(c) for c in clips]
    present = {g: shares.get(g, 0.1) for g in set(groups)}
    total = sum(present.values())
    counts = {g: groups.count(g) for g in present}
    return np.array([present[g] / total / counts[g] for g in groups])


def sample_batch(clips: list[TrainClip], targets: list[np.ndarray], batch_size: int,
                 rng: np.random.Generator, min_len: int = 16, max_len: int = 128,
                 weights: np.ndarray | None = None, hflip: bool = False):
    """(B, L, S, S) float32 0..1 windows and (B, L) float32 targets; L random in [min_len, max_len].

    Windows start anywhere, so beats are cut at either end; a random temporal reversal is not used
    because ED/ES are not symmetric in time. hflip: mirror half of the windows left-right (the timing
    does not depend on the side the septum is shown on).
    """
    lengths = np.array([len(c.frames) for c in clips])
    length = int(rng.integers(min_len, max_len + 1))
    length = min(length, int(lengths.max()))
    pool = np.flatnonzero(lengths >= length)
    p = None
    if weights is not None:
        p = weights[pool] / weights[pool].sum()
    picks = rng.choice(pool, size=batch_size, replace=True, p=p)
    xs, ys = [], []
    for i in picks:
        start = int(rng.integers(0, lengths[i] - length + 1))
        window = clips[i].frames[start:start + length]
        xs.append(window[:, :, ::-1] if hflip and rng.random() < 0.5 else window)
        ys.append(targets[i][start:start + length])
    return np.stack(xs).astype(np.float32) / 255.0, np.stack(ys).astype(np.float32)
