"""TempReg-Net targets: the synthetic volume-like curve of Kong et al. (MICCAI 2016).

Between an ED frame and the following ES frame (systole) the target is
    y_k = |(k - N_es) / (N_es - N_ed)| ** delta          (delta = 3)
and between an ES frame and the following ED frame (diastole)
    y_k = |(k - N_es) / (N_ed_next - N_es)| ** upsilon   (upsilon = 1/3)
so the curve is 1 at every ED frame, 0 at every ES frame and monotone in between. Recordings with several
beats use the nearest event on each side; frames before the first or after the last event use a
virtual event one mean phase length away, so a beat cut at either end still gets a full target.
"""

from __future__ import annotations

import numpy as np

DELTA = 3.0
UPSILON = 1.0 / 3.0


def event_sequence(ed_frames, es_frames) -> list[tuple[float, str]]:
    """Sorted (frame, 'ed'|'es') events; raises ValueError unless ED and ES alternate."""
    events = sorted([(float(f), "ed") for f in ed_frames] + [(float(f), "es") for f in es_frames])
    for (_, a), (_, b) in zip(events, events[1:], strict=False):
        if a == b:
            raise ValueError(f"ED and ES frames must alternate, got {events}")
    return events


def _mean_phase_lengths(events: list[tuple[float, str]], n_frames: int) -> tuple[float, float]:
    """(systole, diastole) mean lengths in frames, from the events (defaults: 35 % / 65 % of a beat)."""
    sys_len = [b[0] - a[0] for a, b in zip(events, events[1:], strict=False) if a[1] == "ed"]
    dia_len = [b[0] - a[0] for a, b in zip(events, events[1:], strict=False) if a[1] == "es"]
    if sys_len and not dia_len:
        dia_len = [np.mean(sys_len) * 65.0 / 35.0]
    if dia_len and not sys_len:
        sys_len = [np.mean(dia_len) * 35.0 / 65.0]
    if not sys_len:
        beat = max(float(n_frames), 2.0)
        sys_len, dia_len = [0.35 * beat], [0.65 * beat]
    return float(np.mean(sys_len)), float(np.mean(dia_len))


def extend_events(events: list[tuple[float, str]], n_frames: int) -> list[tuple[float, str]]:
    """Add virtual events before frame 0 and after the last frame so every frame lies between two."""
    if not events:
        raise ValueError("at least one ED or ES frame is needed to build the target curve")
    sys_len, dia_len = _mean_phase_lengths(events, n_frames)
    out = list(events)
    while out[0][0] > 0:
        frame, kind = out[0]
        out.insert(0, (frame - (sys_len if kind == "es" else dia_len), "ed" if kind == "es" else "es"))
    while out[-1][0] < n_frames - 1:
        frame, kind = out[-1]
        out.append((frame + (sys_len if kind == "ed" else dia_len), "es" if kind == "ed" else "ed"))
    return out


def target_curve(n_frames: int, ed_frames, es_frames, *, delta: float = DELTA,
                 upsilon: float = UPSILON) -> np.ndarray:
    """(n_frames,) float32 target in 0..1: 1 at ED, 0 at ES, Kong et al.'s powers in between."""
    events = extend_events(event_sequence(ed_frames, es_frames), n_frames)
    times = np.array([e[0] for e in events])
    k = np.arange(n_frames, dtype=np.float64)
    seg = np.clip(np.searchsorted(times, k, side="right") - 1, 0, len(events) - 2)
    start, end = times[seg], times[seg + 1]
    starts_at_ed = np.array([events[i][1] == "ed" for i in seg])
    es_frame = np.where(starts_at_ed, end, start)
    length = np.maximum(end - start, 1e-6)
    ratio = np.clip(np.abs(k - es_frame) / length, 0.0, 1.0)
    y = np.where(starts_at_ed, ratio ** delta, ratio ** upsilon)
    return y.astype(np.float32)
