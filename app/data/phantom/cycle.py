"""Per-frame timing of a phantom clip: volume, systolic progress, radial scale, valve state, ED/ES."""

from __future__ import annotations

import numpy as np

from app.data.phantom.heart import HeartModel
from app.data.phantom.params import HeartParams
from app.data.phantom.timing import (
    DIASTASIS_FRACTION,
    IVR_FRACTION,
    RAPID_FILLING_FRACTION,
    ed_es_frames,
    frame_phases,
    normalised_volume,
    systole_fraction,
)


class CardiacCycle:
    """Frames of `beats` cycles at `frame_rate_hz`, from `heart.start_phase`, plus the closing frame.

    Attributes (all (T,)): frame_times_s, phases (unwrapped), normalised (1 ED .. 0 ES), volume_ml,
    progress (systolic progress = 1 - normalised), radial_scale (c(t) of the model), filling (mitral
    opening 0..1). ed_frames / es_frames: tuples of frame indices.
    """

    def __init__(self, heart: HeartParams, model: HeartModel, beats: float, frame_rate_hz: float,
                 n_frames: int | None = None):
        cycle_s = heart.cycle_s
        self.n_frames = int(n_frames if n_frames is not None else round(beats * cycle_s * frame_rate_hz) + 1)
        self.frame_times_s = np.arange(self.n_frames, dtype=np.float64) / frame_rate_hz
        self.phases = frame_phases(self.frame_times_s, cycle_s, heart.start_phase)
        ratio = heart.systole_diastole_ratio
        self.normalised = normalised_volume(self.phases, ratio)
        self.volume_ml = heart.esv_ml + self.normalised * (heart.edv_ml - heart.esv_ml)
        self.progress = 1.0 - self.normalised
        self.radial_scale = np.array(
            [model.radial_scale(s, v) for s, v in zip(self.progress, self.volume_ml, strict=True)]
        )
        self.filling = mitral_opening(self.phases, ratio)
        self.ed_frames, self.es_frames = ed_es_frames(self.volume_ml, self.phases, ratio)


def mitral_opening(phases: np.ndarray, systole_diastole_ratio: float) -> np.ndarray:
    """(T,) 0 closed .. 1 wide open: opens for rapid filling, half-closes in diastasis, reopens for the
    atrial kick, closed in systole and isovolumic relaxation."""
    f_sys = systole_fraction(systole_diastole_ratio)
    d = (np.mod(phases, 1.0) - f_sys) / (1.0 - f_sys)
    t1 = IVR_FRACTION
    t2 = t1 + RAPID_FILLING_FRACTION
    t3 = t2 + DIASTASIS_FRACTION
    knots_d = [0.0, t1, t1 + 0.05, t2, t2 + 0.1, t3 - 0.03, t3 + 0.06, 0.96, 1.0]
    knots_v = [0.0, 0.0, 1.0, 0.9, 0.45, 0.4, 0.85, 0.2, 0.0]
    out = np.interp(d, knots_d, knots_v)
    out[d < 0] = 0.0
    return out
