"""The biplane method of disks from an A4C and an A2C recording of one study (which two: app.workflow.study_result)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.analysis.volumes import biplane_volume_ml, ejection_fraction_pct
from app.data.recording import Recording
from app.workflow.lv_curves import frame_disks
from app.workflow.results import HR_FROM_BEATS, Measurements

# (recording, its contours per frame: FrameContours or a list, its measurements)
Triple = tuple[Recording, Any, Measurements]


def _mean_disks(recording: Recording, contours: Any, frames: Sequence[int]) -> tuple[np.ndarray, float] | None:
    found = [d for d in (frame_disks(recording, contours[f]) for f in frames) if d is not None]
    if not found:
        return None
    return np.mean([d.diameters_mm for d in found], axis=0), float(np.mean([d.length_mm for d in found]))


def biplane_measurements(a4c: Triple, a2c: Triple) -> Measurements | None:
    """Biplane disks from two (recording, contours, measurements) triples (A4C, A2C), or None."""
    (rec4, c4, m4), (rec2, c2, m2) = a4c, a2c
    beats4, beats2 = ([b for b in m.beats if b.trusted] for m in (m4, m2))
    if not beats4 or not beats2:
        return None
    at_ed4 = _mean_disks(rec4, c4, [b.ed_frame for b in beats4])
    at_es4 = _mean_disks(rec4, c4, [b.es_frame for b in beats4])
    at_ed2 = _mean_disks(rec2, c2, [b.ed_frame for b in beats2])
    at_es2 = _mean_disks(rec2, c2, [b.es_frame for b in beats2])
    if at_ed4 is None or at_es4 is None or at_ed2 is None or at_es2 is None:
        return None
    (ed4, l_ed4), (es4, l_es4), (ed2, l_ed2), (es2, l_es2) = at_ed4, at_es4, at_ed2, at_es2
    cal = rec4.calibrated and rec2.calibrated
    if not cal:  # the clips' units may differ (mm and pixels, or two zooms): their lengths cannot be compared, so
        l_ed2, l_es2 = l_ed4, l_es4  # the A4C's at both phases, and each clip's scale cancels out of the EF
    edv = biplane_volume_ml(ed4, ed2, l_ed4, l_ed2)
    esv = biplane_volume_ml(es4, es2, l_es4, l_es2)
    rated = [(m.heart_rate_bpm, m.heart_rate_source) for m in (m4, m2) if m.heart_rate_bpm is not None]
    rated = [r for r in rated if r[1] == HR_FROM_BEATS] or rated  # measured beats before a file's own value
    rates = [bpm for bpm, _ in rated]
    return Measurements(
        method="biplane", view="a4c+a2c", calibrated=cal, n_frames=0, ed_frames=(), es_frames=(), beats=(),
        edv_ml=edv if cal else None, esv_ml=esv if cal else None, sv_ml=edv - esv if cal else None,
        ef_pct=ejection_fraction_pct(edv, esv), heart_rate_bpm=float(np.mean(rates)) if rates else None,
        heart_rate_source=rated[0][1] if rated else "",
        volume_curve_ml=None, area_curve_px2=np.zeros(0), edited=m4.edited | m2.edited,
    )
