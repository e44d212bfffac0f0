"""Per-frame quality flags of a recording's contours, and the frames a volume curve must not trust.

A frame is flagged when it has no contour, when the segmenter's confidence is below LOW_CONFIDENCE, when its
cavity area jumps against both neighbours (app.analysis.edes_curve.area_jump_frames), with the segmenter's own
flags (e.g. a cavity cut in two), and when the user edited it. Area jumps and split cavities not edited by
hand are left out of the curve ED/ES come from (`spike_frames`); a split cavity's volume is interpolated where
an ED or ES falls on it (`split_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from app.analysis.edes_curve import area_jump_frames
from app.workflow.results import (
    FLAG_AREA_JUMP,
    FLAG_CAVITY_SPLIT,
    FLAG_EDITED,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_CONTOUR,
)

LOW_CONFIDENCE = 0.5


def frame_quality(frames_present: np.ndarray, area: np.ndarray, confidence: np.ndarray | None,
                  edited_frames: Iterable[int], issues: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    n = len(area)
    flags: list[list[str]] = [[] for _ in range(n)]
    # app.analysis.edes_curve: implausible against both neighbours; a split cavity's piece is no neighbour
    split = [t for t in range(n) if FLAG_CAVITY_SPLIT in issues[t]]
    jumps = set(area_jump_frames(np.where(np.isin(np.arange(n), split), np.nan, area)))
    for t in range(n):
        if not frames_present[t]:
            flags[t].append(FLAG_NO_CONTOUR)
            continue
        flags[t].extend(issues[t])
        if confidence is not None and np.isfinite(confidence[t]) and confidence[t] < LOW_CONFIDENCE:
            flags[t].append(FLAG_LOW_CONFIDENCE)
        if t in jumps:
            flags[t].append(FLAG_AREA_JUMP)
    for t in edited_frames:
        if 0 <= t < n:
            flags[t].append(FLAG_EDITED)
    return tuple(tuple(dict.fromkeys(f)) for f in flags)


def merge_flags(issues: list[Sequence[str]], frame_flags: Mapping[int, Sequence[str]] | None
                ) -> list[Sequence[str]]:
    if not frame_flags:
        return issues
    out = list(issues)
    for t, flags in frame_flags.items():
        if 0 <= int(t) < len(out):
            out[int(t)] = tuple(out[int(t)]) + tuple(flags)
    return out


def spike_frames(quality: Sequence[Sequence[str]]) -> list[int]:
    """Area-jump and cavity-split frames not edited by hand: left out of the curve ED/ES come from
    (without_spikes)."""
    unreliable = (FLAG_AREA_JUMP, FLAG_CAVITY_SPLIT)
    return [t for t, flags in enumerate(quality) if any(f in flags for f in unreliable) and FLAG_EDITED not in flags]


def split_frames(quality: Sequence[Sequence[str]]) -> list[int]:
    """Cavity-split frames not edited by hand: the contour keeps the largest piece of a cavity cut in two, so
    the frame's volume is too small; an ED or ES there takes the volume interpolated from its neighbours."""
    return [t for t, flags in enumerate(quality) if FLAG_CAVITY_SPLIT in flags and FLAG_EDITED not in flags]
