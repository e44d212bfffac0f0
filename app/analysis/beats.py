"""Beats from an LV volume (or area) curve and its ED/ES frames: beat splitting and per-beat figures.

EchoNet-Dynamic style: ED frames are the maxima and ES frames the minima of a lightly smoothed curve,
with a minimum distance between beats from the frame rate and the highest plausible heart rate and a
prominence relative to the curve's range. A beat is ED -> ES -> next ED; a beat cut at the end of the clip
(ED and ES seen, next ED not) still gives EDV/ESV/EF but no heart rate; a clip starting after ED yields no
beat for the partial cycle at the start.

The ED/ES rules themselves are in app/analysis/edes_curve.py (and their fusion with TempReg-Net's events
in app/analysis/edes_fusion.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.analysis.edes_curve import fill_gaps


@dataclass(frozen=True)
class Beat:
    """One cardiac cycle. Values are in the curve's units (ml, or px^3 / px^2 when uncalibrated).

    next_ed_frame is None when the clip ends before the next ED (a cut beat); rr_s and heart_rate_bpm are
    None then, or when frame timing is unknown. systole_s is ED -> ES in seconds from the frame times (None
    without timing, or for a filling-phase beat, ES before ED).
    """

    ed_frame: int
    es_frame: int
    next_ed_frame: int | None
    ed_value: float
    es_value: float
    rr_s: float | None = None
    trusted: bool = True  # counted in EDV/ESV/EF (app.analysis.beat_trust.judge_beats)
    why_untrusted: str = ""
    systole_s: float | None = None

    @property
    def stroke_value(self) -> float:
        return self.ed_value - self.es_value

    @property
    def ef_pct(self) -> float | None:
        return 100.0 * self.stroke_value / self.ed_value if self.ed_value > 0 else None

    @property
    def complete(self) -> bool:
        return self.next_ed_frame is not None

    @property
    def heart_rate_bpm(self) -> float | None:
        return 60.0 / self.rr_s if self.rr_s else None

    def to_json_dict(self, volumes_known: bool = True) -> dict[str, Any]:
        def r(v: float | None, nd: int = 2) -> float | None:
            return None if v is None or not np.isfinite(v) else round(float(v), nd)

        out: dict[str, Any] = {
            "ed_frame": self.ed_frame,
            "es_frame": self.es_frame,
            "next_ed_frame": self.next_ed_frame,
            "complete": self.complete,
            "ef_pct": r(self.ef_pct),
            "rr_s": r(self.rr_s, 4),
            "heart_rate_bpm": r(self.heart_rate_bpm, 1),
            "trusted": self.trusted,
        }
        if not self.trusted:
            out["why_untrusted"] = self.why_untrusted
        if volumes_known:
            out.update(edv_ml=r(self.ed_value), esv_ml=r(self.es_value), sv_ml=r(self.stroke_value))
        return out


def split_beats(
    curve: np.ndarray,
    ed_frames: Iterable[int],
    es_frames: Iterable[int],
    frame_times_s: np.ndarray | None = None,
) -> tuple[Beat, ...]:
    """Beats ED -> ES -> next ED from given ED/ES frames (each ED pairs with the first ES after it).

    When no ED is followed by an ES (a clip shorter than a cycle, e.g. ES then ED), the ES and the ED
    after it (the filling phase of one cycle) form a single beat with es_frame < ed_frame.
    """
    y = fill_gaps(np.asarray(curve, dtype=np.float64))
    ed = sorted({int(f) for f in ed_frames if 0 <= int(f) < len(y)})
    es = sorted({int(f) for f in es_frames if 0 <= int(f) < len(y)})
    beats = []
    for i, ed_f in enumerate(ed):
        next_ed = ed[i + 1] if i + 1 < len(ed) else None
        candidates = [f for f in es if f > ed_f and (next_ed is None or f < next_ed)]
        if not candidates:
            continue
        es_f = candidates[0]
        rr = systole = None
        if frame_times_s is not None:
            systole = float(frame_times_s[es_f] - frame_times_s[ed_f]) or None
            if next_ed is not None:
                rr = float(frame_times_s[next_ed] - frame_times_s[ed_f]) or None
        beats.append(Beat(ed_f, es_f, next_ed, float(y[ed_f]), float(y[es_f]), rr, systole_s=systole))
    if not beats:  # a clip shorter than a systole: use the filling phase ES -> following ED
        pairs = [(e, min(d for d in ed if d > e)) for e in es if any(d > e for d in ed)]
        if pairs:
            es_f, ed_f = pairs[0]
            beats.append(Beat(ed_f, es_f, None, float(y[ed_f]), float(y[es_f]), None))
    return tuple(beats)
