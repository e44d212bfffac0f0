"""Per-frame quality flags of a recording's contours, and the frames a volume curve must not trust.

A frame is flagged when it has no contour, when the segmenter's confidence is below LOW_CONFIDENCE, when its
cavity area jumps against both neighbours (app.analysis.edes_curve.area_jump_frames), with the segmenter's own
flags (e.g. a cavity cut in two), when the file's image data of the frame is damaged, and when the user edited
it. Area jumps, split cavities and damaged frames not edited by hand are left out of the curve ED/ES come from
(`spike_frames`); a split cavity's volume is interpolated where an ED or ES falls on it (`split_frames`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from app.analysis.edes_curve import area_jump_frames
from app.workflow.results import (
    FLAG_AREA_JUMP,
    FLAG_CAVITY_SPLIT,
    FLAG_DAMAGED_PIXELS,
    FLAG_EDITED,
    FLAG_LOW_CONFIDENCE,
    FLAG_NO_CONTOUR,
)

LOW_CONFIDENCE = 0.5


def frame_quality(frames_present: np.ndarray, area: np.ndarray, confidence: np.ndarray | None,
                  edited_frames: Iterable[int], issues: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    n = len(area)
    flags: list[list[str]] = [[] for _ in range(n)]
    # app.analysis.edes_curve: implausible against both neighbours; a split cavity's piece or a damaged frame's
    # contour is no neighbour
    no_neighbour = [t for t in range(n) if FLAG_CAVITY_SPLIT in issues[t] or FLAG_DAMAGED_PIXELS in issues[t]]
    jumps = set(area_jump_frames(np.where(np.isin(np.arange(n), no_neighbour), np.nan, area)))
    for t in range(n):
        if not frames_present[t]:
            flags[t].append(FLAG_NO_CONTOUR)
            flags[t].extend(f for f in issues[t] if f == FLAG_DAMAGED_PIXELS)  # the file's, with or without an LV
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


def merge_flags(issues: list[Sequence[str]], frame_flags: Mapping[int, Sequence[str]] | None,
                damaged_frames: Iterable[int] = ()) -> list[Sequence[str]]:
    """Each frame's contour issues with the segmenter's flags and, for a frame the file holds damaged, its flag."""
    frame_flags = {**(frame_flags or {})}
    for t in damaged_frames:
        frame_flags[t] = (*frame_flags.get(t, ()), FLAG_DAMAGED_PIXELS)
    if not frame_flags:
        return issues
    out = list(issues)
    for t, flags in frame_flags.items():
        if 0 <= int(t) < len(out):
            out[int(t)] = tuple(out[int(t)]) + tuple(flags)
    return out


def spike_frames(quality: Sequence[Sequence[str]]) -> list[int]:
    """Area-jump, cavity-split and damaged-pixel frames not edited by hand: left out of the curve ED/ES come from
    (without_spikes)."""
    unreliable = (FLAG_AREA_JUMP, FLAG_CAVITY_SPLIT, FLAG_DAMAGED_PIXELS)
    return [t for t, flags in enumerate(quality) if any(f in flags for f in unreliable) and FLAG_EDITED not in flags]


def split_frames(quality: Sequence[Sequence[str]]) -> list[int]:
    """Cavity-split frames not edited by hand: the contour keeps the largest piece of a cavity cut in two, so
    the frame's volume is too small; an ED or ES there takes the volume interpolated from its neighbours."""
    return [t for t, flags in enumerate(quality) if FLAG_CAVITY_SPLIT in flags and FLAG_EDITED not in flags]
