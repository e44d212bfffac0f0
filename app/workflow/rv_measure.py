"""Right-ventricular volumes of a short-axis MRI stack by slice summation: RV EDV, ESV, SV, EF.

The RV blood pool of each slice and phase is the closed RV border (app.analysis.rv, label 3); its areas are
summed over the slices times the slice spacing, as for the LV (app.analysis.volumes.slice_summation_ml).

ED and ES are the LV's phases (the beats of Measurements): the SCMR post-processing recommendations
(Schulz-Menger et al., JCMR 2020;22:19) allow one pair of ED/ES phases for both ventricles, which is what most
readers do and how the ACDC reference volumes were computed (the same two labelled phases for LV and RV).
The RV's own smallest volume can come a phase later than the LV's: its ESV may then read a little high.

`rv_areas_px2(per_slice)` turns RV borders into a (S, T) area array; `rv_volumes(...)` -> RvVolumes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from app.analysis.beat_trust import over_beats
from app.analysis.beats import Beat
from app.analysis.polylines import polygon_area_px2
from app.analysis.volumes import ejection_fraction_pct, slice_summation_ml


@dataclass(frozen=True, eq=False)
class RvVolumes:
    """RV curve (T,) in ml (NaN where no slice has an RV) and the values at the LV's beats (None: unknown)."""

    volume_curve_ml: np.ndarray
    edv_ml: float | None
    esv_ml: float | None

    @property
    def sv_ml(self) -> float | None:
        return None if self.edv_ml is None or self.esv_ml is None else self.edv_ml - self.esv_ml

    @property
    def ef_pct(self) -> float | None:
        return ejection_fraction_pct(self.edv_ml, self.esv_ml)


def rv_areas_px2(per_slice: Sequence[Sequence[np.ndarray | None]] | None, n_slices: int, n_frames: int
                 ) -> np.ndarray | None:
    """(S, T) RV areas in px^2 (NaN without an RV border) from per-slice sequences of (N, 2) borders or
    None; None when no slice and phase has an RV."""
    if per_slice is None:
        return None
    areas = np.full((n_slices, n_frames), np.nan)
    for s, frames in enumerate(per_slice):
        for t, border in enumerate(frames or ()):
            if border is not None and len(border) >= 3 and s < n_slices and t < n_frames:
                areas[s, t] = polygon_area_px2(np.asarray(border, dtype=np.float64))
    return areas if np.isfinite(areas).any() else None


def rv_volumes(areas_px2: np.ndarray, pixel_area_mm2: float, slice_spacing_mm: float, beats: Iterable[Beat]
               ) -> RvVolumes:
    """RV volumes from (S, T) areas and the LV's beats (ED/ES frames, the trusted ones): over the beats as the
    LV's (app.analysis.beat_trust.over_beats)."""
    present = np.isfinite(areas_px2).any(axis=0)
    curve = np.array([slice_summation_ml(areas_px2[:, t] * pixel_area_mm2, slice_spacing_mm) if present[t]
                      else np.nan for t in range(areas_px2.shape[1])])
    pairs = [(curve[b.ed_frame], curve[b.es_frame]) for b in beats
             if np.isfinite(curve[b.ed_frame]) and np.isfinite(curve[b.es_frame])]
    if not pairs:
        return RvVolumes(curve, None, None)
    return RvVolumes(curve, over_beats([p[0] for p in pairs]), over_beats([p[1] for p in pairs]))


# The first words of the note that a reported RV ESV rests on a borderline basal call (the PDF's first page
# shows notes that start so beside the values they weaken).
BORDERLINE_NOTE = "RV ESV and RV EF rest on a borderline call"


def borderline_notes(quality: Sequence[Sequence[str]], beats: Iterable[Beat]) -> tuple[str, ...]:
    """A note for each end-systolic frame of `beats` whose quality flags (Measurements.quality) carry the
    segmenter's borderline basal RV call (app/ml/mri_basal_rv.py) and no hand edit: the RV ESV and EF rest on it."""
    from app.ml.mri_basal_rv import BORDERLINE_WORDS
    from app.workflow.results import FLAG_EDITED

    notes = []
    for t in sorted({b.es_frame for b in beats}):
        flags = quality[t] if 0 <= t < len(quality) else ()
        for flag in flags:
            if BORDERLINE_WORDS in flag and FLAG_EDITED not in flags:
                reason = flag.split(": ", 1)[1] if flag.startswith("segmenter: ") else flag
                notes.append(f"{BORDERLINE_NOTE} at end-systole (frame {t}): "
                             + reason.replace(f" {BORDERLINE_WORDS}", ""))
    return tuple(notes)
