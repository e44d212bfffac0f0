"""ED/ES frames of an analysed recording: TempReg-Net (models/ed_es) with the segmented LV curve.

`model_ed_es(recording, measurements)` -> (ed_frames, es_frames, method, fallback reason). TempReg-Net
(app.ml.edes, imported lazily: torch stays inside app/ml) gives the events; on cine MR stacks each ES then
slides down the slice-summation volume curve to its minimum (app.ml.edes.es_slide_frames); the clip's
first/last-frame events, which it leaves out as ambiguous, come from the LV curve's extrema. Falls back to the curve's
own extrema ("area_curve", the measurements' frames) when the model is missing or fails, finds no
ED/ES pair, or its events contradict the curve (a beat with EDV <= ESV, or on cine MR an ED/ES far
from its beat's largest/smallest volume: app.analysis.event_check).
"""

from __future__ import annotations

import numpy as np

from app.analysis.event_check import curve_contradiction
from app.data.recording import Recording
from app.workflow.results import ED_ES_AREA_CURVE, ED_ES_TEMPREG, FLAG_AREA_JUMP, Measurements
from app.workflow.stack_phases import PHASE_PAIR_REASON, SINGLE_PHASE_REASON, is_phase_pair, is_single_phase


def lv_curve(measurements: Measurements) -> np.ndarray:
    """The (T,) curve ED/ES are measured on: volume (ml) or, uncalibrated, area (px^2); area-jump frames
    NaN (as in app.workflow.measure)."""
    m = measurements
    curve = np.array(m.volume_curve_ml if m.volume_curve_ml is not None else m.area_curve_px2, dtype=np.float64)
    bad = [t for t, flags in enumerate(m.quality) if FLAG_AREA_JUMP in flags and t < len(curve)]
    if bad and np.isfinite(curve).sum() - len(bad) >= 3:
        curve[bad] = np.nan
    return curve


def model_ed_es(recording: Recording, measurements: Measurements
                ) -> tuple[tuple[int, ...], tuple[int, ...], str, str]:
    """(ed_frames, es_frames, method, fallback reason) from TempReg-Net and the LV curve (fuse_with_curve).

    method: "tempreg", "tempreg+area" (ES slid down the curve as far as app.ml.edes.es_slide_frames allows:
    cine MR stacks) or "area_curve": then the frames are measurements' own (the curve's extrema) and the
    reason says why the model was not used (not installed, failed, found no ED/ES pair, or its events
    contradict the segmented curve: app.analysis.event_check.curve_contradiction).
    """
    area = (tuple(measurements.ed_frames), tuple(measurements.es_frames), ED_ES_AREA_CURVE)
    if is_phase_pair(recording):
        return (*area, PHASE_PAIR_REASON)
    if is_single_phase(recording):
        return (*area, SINGLE_PHASE_REASON)
    if recording.n_frames < 3:
        return (*area, f"the recording has {recording.n_frames} frames; the ED/ES model needs at least 3")
    try:
        from app.ml.edes import detect_ed_es, es_slide_frames, fuse_with_curve
        from app.ml.weights import WeightsError
    except ImportError as exc:  # pragma: no cover - torch is part of the app
        return (*area, f"ED/ES model unavailable in this build ({exc})")
    try:
        det = detect_ed_es(recording)
    except (WeightsError, FileNotFoundError) as exc:
        return (*area, f"ED/ES model not installed or unusable: models/ed_es ({exc})")
    except Exception as exc:  # noqa: BLE001 - any model failure falls back to the curve, with the reason
        return (*area, f"ED/ES model failed: {type(exc).__name__}: {exc}")
    curve = lv_curve(measurements)
    gated = recording.is_gated_cycle
    if np.isfinite(curve).sum() >= 3:  # the curve supplies clip-end events TempReg leaves out
        radius = es_slide_frames(recording.modality, recording.n_frames)
        det = fuse_with_curve(det, curve, recording.frame_rate_hz, refine_es=radius > 0, radius=radius,
                              periodic=gated)
    if not det.ed_frames or not det.es_frames:
        return (*area, "TempReg-Net found no end-diastole/end-systole pair")
    if np.isfinite(curve).sum() < 3:
        return det.ed_frames, det.es_frames, ED_ES_TEMPREG, ""
    ed = det.ed_frames
    if gated and len(ed) > 1 and ed[0] == 0 and ed[-1] == recording.n_frames - 1:
        ed = ed[:-1]  # as app.workflow.measure: the last phase is the next beat's ED
    contradiction = curve_contradiction(curve, ed, det.es_frames, gated=gated)
    if contradiction:
        return (*area, f"TempReg-Net's ED/ES disagree with the segmented LV curve ({contradiction})")
    return ed, det.es_frames, det.method, ""
