"""A synthetic LV volume waveform with known ED and ES frames, for TempReg-Net training sequences.

The relative volume v(t) in 0..1 is 1 at ED and 0 at ES. Systole (ED -> ES) follows (1 - u)^p with p in
1.6..2.4 (fast ejection start, rounded end); diastole (ES -> ED) is rapid filling (exponential), slow
diastasis and an atrial kick, strictly increasing so each beat has one maximum and one minimum.
Beat lengths vary a few percent beat to beat; the clip starts at a random phase, so beats are cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CycleTruth:
    """Relative volume and events of one synthetic clip.

    volume: (T,) float64 relative volume 0..1 sampled at the frames.
    ed_frames, es_frames: frames of the maxima / minima whose event time lies inside the clip.
    event_frames: (E, 2) float64 continuous (frame, is_ed) of every event including ones just outside.
    """

    volume: np.ndarray
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    event_frames: np.ndarray


def _systole(u: np.ndarray, power: float) -> np.ndarray:
    return (1.0 - u) ** power


def _diastole(u: np.ndarray, tau: float, kick_start: float, kick_share: float) -> np.ndarray:
    """Rises 0 -> 1: exponential filling to (1 - kick_share) by kick_start, then the atrial kick."""
    early = (1.0 - kick_share) * (1.0 - np.exp(-u / tau)) / (1.0 - np.exp(-kick_start / tau))
    late_u = np.clip((u - kick_start) / (1.0 - kick_start), 0.0, 1.0)
    late = (1.0 - kick_share) + kick_share * late_u ** 1.3
    return np.where(u < kick_start, early, late)


def synthetic_cycle(n_frames: int, frames_per_beat: float, rng: np.random.Generator) -> CycleTruth:
    """Relative volume at n_frames frames for beats of about frames_per_beat frames, random phase."""
    if n_frames < 2 or frames_per_beat < 4:
        raise ValueError(f"need >= 2 frames and >= 4 frames per beat, got {n_frames}, {frames_per_beat}")
    power = rng.uniform(1.6, 2.4)
    tau, kick_start, kick_share = rng.uniform(0.08, 0.2), rng.uniform(0.6, 0.8), rng.uniform(0.15, 0.35)
    t = -rng.uniform(0.0, frames_per_beat) - frames_per_beat  # first ED, well before frame 0
    volume = np.zeros(n_frames)
    events: list[tuple[float, float]] = []
    k = np.arange(n_frames, dtype=np.float64)
    while t < n_frames + frames_per_beat:
        beat = frames_per_beat * rng.uniform(0.95, 1.05)
        t_es = t + beat * rng.uniform(0.30, 0.42)
        t_next = t + beat
        sys_mask = (k >= t) & (k < t_es)
        dia_mask = (k >= t_es) & (k < t_next)
        volume[sys_mask] = _systole((k[sys_mask] - t) / (t_es - t), power)
        volume[dia_mask] = _diastole((k[dia_mask] - t_es) / (t_next - t_es), tau, kick_start, kick_share)
        events += [(t, 1.0), (t_es, 0.0)]
        t = t_next
    events_arr = np.array(events)
    ed, es = discrete_events(volume, events_arr)
    return CycleTruth(volume, ed, es, events_arr)


def discrete_events(volume: np.ndarray, events: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ED/ES frames: the volume's max / min frame around each event whose time lies in [0, T - 1]."""
    n = len(volume)
    ed, es = [], []
    times = events[:, 0]
    for i, (time, is_ed) in enumerate(events):
        if not 0.0 <= time <= n - 1:
            continue
        lo = int(np.ceil(times[i - 1])) if i > 0 else 0
        hi = int(np.floor(times[i + 1])) if i + 1 < len(events) else n - 1
        lo, hi = max(lo, 0), min(hi, n - 1)
        window = volume[lo:hi + 1]
        (ed if is_ed else es).append(lo + int(np.argmax(window) if is_ed else np.argmin(window)))
    return tuple(ed), tuple(es)


def phantom_timing_cycle(n_frames: int, frames_per_beat: float, rng: np.random.Generator) -> CycleTruth:
    """Like synthetic_cycle but with the phantom's waveform (isovolumic plateaus, diastasis, atrial kick).

    ED is mitral closure (start of the isovolumic-contraction plateau) and ES aortic closure (start of
    the isovolumic-relaxation plateau), found exactly as app.data.phantom.timing does.
    """
    from app.data.phantom.timing import ed_es_frames, normalised_volume, systole_fraction

    ratio = rng.uniform(0.4, 0.9)
    start = rng.uniform(0.0, 1.0)
    phases = np.arange(n_frames) / frames_per_beat + start
    volume = normalised_volume(phases, ratio)
    ed, es = ed_es_frames(volume, phases, ratio)
    return CycleTruth(volume, ed, es, phantom_events(n_frames, frames_per_beat, start, systole_fraction(ratio)))


def phantom_events(n_frames: int, frames_per_beat: float, start_phase: float, systole_fraction: float) -> np.ndarray:
    """(E, 2) continuous (frame, is_ED) of the phantom's nominal events: ED at integer phases, ES at
    phase k + systole_fraction; frame = (phase - start_phase) * frames_per_beat. Covers the clip +- 1 beat."""
    last_phase = start_phase + (n_frames - 1) / frames_per_beat
    events = []
    for k in range(int(np.floor(start_phase)) - 1, int(np.ceil(last_phase)) + 2):
        events += [((k - start_phase) * frames_per_beat, 1.0),
                   ((k + systole_fraction - start_phase) * frames_per_beat, 0.0)]
    return np.array(events)
