"""Scoring of detected ED/ES frames against the truth: matching within a window, aFD, missed and extra events.

Shared by the phantom evaluation (lab/evaluation/edes.py), its segmented-curve half (lab/evaluation/edes_seg.py)
and the tolerance tuning (lab/evaluation/edes_tuning.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.analysis.edes_curve import detect_ed_es as extrema_from_curve

MATCH_WINDOW_S = 0.15


def match_window_frames(frame_rate_hz: float | None) -> float:
    """The matching tolerance in frames (at least 2)."""
    return max(2.0, MATCH_WINDOW_S * frame_rate_hz) if frame_rate_hz else 3.0


def match_errors(truth, found, frame_rate_hz: float | None) -> tuple[list[int], int]:
    """(absolute frame errors of the matched true events, number of missed true events)."""
    found = np.asarray(sorted(found), dtype=np.int64)
    window = match_window_frames(frame_rate_hz)
    errors, missed = [], 0
    for t in truth:
        if found.size == 0:
            missed += 1
            continue
        d = int(np.min(np.abs(found - int(t))))
        if d <= window:
            errors.append(d)
        else:
            missed += 1
    return errors, missed


def extra_detections(truth, found, frame_rate_hz: float | None) -> int:
    """Detections with no true event of the same kind within the matching window."""
    truth = np.asarray(list(truth), dtype=np.int64)
    window = match_window_frames(frame_rate_hz)
    return int(sum(1 for f in found if truth.size == 0 or np.min(np.abs(truth - int(f))) > window))


@dataclass
class MethodScore:
    """Accumulated errors of one method on one group of recordings."""

    ed_errors: list[int] = field(default_factory=list)
    es_errors: list[int] = field(default_factory=list)
    ed_errors_ms: list[float] = field(default_factory=list)  # the same errors in milliseconds (when timed)
    es_errors_ms: list[float] = field(default_factory=list)
    missed: int = 0
    extra: int = 0
    recordings: int = 0

    def add(self, truth_ed, truth_es, found_ed, found_es, frame_rate_hz: float | None) -> None:
        """Score one recording; found_es=None for a method that only gives ED (the ECG)."""
        for truth, found, errors, errors_ms in ((truth_ed, found_ed, self.ed_errors, self.ed_errors_ms),
                                                (truth_es, found_es, self.es_errors, self.es_errors_ms)):
            if found is None:
                continue
            e, m = match_errors(truth, found, frame_rate_hz)
            errors.extend(e)
            if frame_rate_hz:
                errors_ms.extend(1000.0 * d / frame_rate_hz for d in e)
            self.missed += m
            self.extra += extra_detections(truth, found, frame_rate_hz)
        self.recordings += 1

    def summary(self) -> dict:
        def stats(errors: list[int], errors_ms: list[float]) -> dict:
            if not errors:
                return {"afd": None, "sd": None, "n": 0, "afd_ms": None}
            arr = np.asarray(errors, dtype=np.float64)
            ms = round(float(np.mean(errors_ms)), 1) if len(errors_ms) == len(errors) else None
            return {"afd": round(float(arr.mean()), 3), "sd": round(float(arr.std()), 3), "n": int(arr.size),
                    "afd_ms": ms}

        return {"ed": stats(self.ed_errors, self.ed_errors_ms), "es": stats(self.es_errors, self.es_errors_ms),
                "missed": self.missed,
                "extra": self.extra, "recordings": self.recordings}


def area_curve_baseline(area: np.ndarray, frame_rate_hz: float | None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """ED/ES as the maxima/minima of a (T,) LV area or volume curve (app.analysis.beats)."""
    return extrema_from_curve(np.asarray(area, dtype=np.float64), frame_rate_hz)
