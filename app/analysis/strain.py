"""Longitudinal strain from tracked centerlines: GLS, six segments per apical view, quality, bullseye.

The tracked centerline (T, N, 2) runs from the image-left annulus over the apex to the right annulus.
Global strain e(t) = (l(t) - l0) / l0 with l the centerline arc length in mm and l0 its length at the
beat's end-diastole (frames before the first ED use the first ED). Segments are six equal arc-length
thirds of each wall at the reference ED (basal, mid, apical left; apical, mid, basal right) and
follow the tracked points, so a segment that shortens less than its neighbours shows less strain.
Peak systolic strain: the most negative value between ED and ES (or the next ED when ES is unknown),
averaged over the beats in the clip.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

N_SEGMENTS = 6
GENERIC_SEGMENT_NAMES = ("basal_left", "mid_left", "apical_left", "apical_right", "mid_right", "basal_right")
QUALITY_SCALE_MM = 1.5  # tracking disagreement giving a quality score of exp(-1) ~ 0.37
QUALITY_THRESHOLD = 0.5  # segments scoring below are marked low quality (~1.0 mm disagreement)
# An uncalibrated clip's millimetres are nominal (one a pixel), so its tracking disagreement is judged in those of a
# heart of median size instead: the median end-diastolic centerline of the CAMUS training patients' expert labels
# (lab/notes/motion.md), never finer than its pixels (size_equivalent_scale).
MEDIAN_ED_CENTERLINE_MM = 205.0

# AHA 17-segment numbers of the segment names used here (Cerqueira et al. 2002)
_WALLS = ("anterior", "anteroseptal", "inferoseptal", "inferior", "inferolateral", "anterolateral")
AHA_NUMBER = {f"basal_{w}": 1 + i for i, w in enumerate(_WALLS)}
AHA_NUMBER.update({f"mid_{w}": 7 + i for i, w in enumerate(_WALLS)})
AHA_NUMBER.update({"apical_anterior": 13, "apical_septal": 14, "apical_inferior": 15, "apical_lateral": 16})


# Apical views in standard orientation: wall on the image left, base -> apex, then the right wall
# apex -> base (the centerline order). A3C apical segments map to the 17-segment apical ring.
VIEW_SEGMENT_NAMES = {
    "a4c": ("basal_inferoseptal", "mid_inferoseptal", "apical_septal",
            "apical_lateral", "mid_anterolateral", "basal_anterolateral"),
    "a2c": ("basal_inferior", "mid_inferior", "apical_inferior",
            "apical_anterior", "mid_anterior", "basal_anterior"),
    "a3c": ("basal_inferolateral", "mid_inferolateral", "apical_lateral",
            "apical_septal", "mid_anteroseptal", "basal_anteroseptal"),
}


def segment_names(view: str) -> tuple[str, ...]:
    """Six AHA segment names of an apical view in centerline order; generic names otherwise."""
    return VIEW_SEGMENT_NAMES.get(view, GENERIC_SEGMENT_NAMES)


def segment_bounds(n_points: int, n_segments: int = N_SEGMENTS) -> np.ndarray:
    """(n_segments + 1,) point indices splitting a centerline into equal index (= ED arc) ranges."""
    return np.round(np.linspace(0, n_points - 1, n_segments + 1)).astype(int)


def to_mm(points_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(..., 2) (x, y) pixels -> millimetres with (row, col) spacing."""
    result: np.ndarray = np.asarray(points_px, dtype=np.float64) * np.array([spacing_mm[1], spacing_mm[0]])
    return result


def arc_lengths_mm(points_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(T, N, 2) centerlines -> (T,) length in mm."""
    result: np.ndarray = np.sum(np.linalg.norm(np.diff(to_mm(points_px, spacing_mm), axis=1), axis=-1), axis=-1)
    return result


def size_equivalent_scale(ed_centerlines_px: np.ndarray, spacing_mm: tuple[float, float]) -> float:
    """Factor taking an uncalibrated clip's nominal millimetres to those of a heart of median size: the median
    ED centerline length over the mean length of the clip's (E, N, 2) end-diastolic centerlines, at most 1. A
    nominal millimetre is a pixel: on a coarse export the rule would otherwise ask for agreement finer than a
    pixel, which it never asked of the calibrated clips it was set on (lab/notes/motion.md)."""
    length = float(np.mean(arc_lengths_mm(np.asarray(ed_centerlines_px, dtype=np.float64), spacing_mm)))
    return min(1.0, MEDIAN_ED_CENTERLINE_MM / length) if length > 0 else 1.0


def segment_lengths_mm(points_px: np.ndarray, spacing_mm: tuple[float, float]) -> np.ndarray:
    """(T, N, 2) centerlines -> (T, 6) length of each segment in mm."""
    steps = np.linalg.norm(np.diff(to_mm(points_px, spacing_mm), axis=1), axis=-1)  # (T, N-1)
    b = segment_bounds(points_px.shape[1])
    return np.stack([steps[:, b[k] : b[k + 1]].sum(axis=1) for k in range(len(b) - 1)], axis=1)


def segment_length_px(centerline_px: np.ndarray | None, ed_frames: Sequence[int]) -> float | None:
    """The mean length in pixels of a segment at end-diastole (the ED centerline over N_SEGMENTS; the segments
    split its ED arc evenly), None without a centerline at an ED. One pixel of that length is 100 / it strain points
    of a segment, against 100 / (N_SEGMENTS x it) of the GLS: what limits segment values on coarse clips."""
    if centerline_px is None:
        return None
    lines = np.asarray(centerline_px, dtype=np.float64)
    eds = [int(e) for e in ed_frames if 0 <= int(e) < len(lines)]
    if lines.ndim != 3 or not eds:
        return None
    length = float(np.mean(arc_lengths_mm(lines[eds], (1.0, 1.0))))
    return length / N_SEGMENTS if np.isfinite(length) and length > 0 else None


def reference_frames(n_frames: int, ed_frames: Sequence[int]) -> np.ndarray:
    """(T,) index of the end-diastole each frame is referred to (latest ED at or before it)."""
    eds = sorted(int(e) for e in ed_frames if 0 <= int(e) < n_frames)
    if not eds:
        raise ValueError("strain needs at least one end-diastolic frame inside the clip")
    ref = np.full(n_frames, eds[0])
    for e in eds[1:]:
        ref[e:] = e
    return ref


def lagrangian_strain_pct(lengths: np.ndarray, ed_frames: Sequence[int]) -> np.ndarray:
    """(T,) or (T, K) lengths -> strain in % against each frame's end-diastolic length."""
    ref = reference_frames(lengths.shape[0], ed_frames)
    l0 = lengths[ref]
    result: np.ndarray = 100.0 * (lengths - l0) / np.maximum(l0, 1e-9)
    return result


def beat_windows(n_frames: int, ed_frames: Sequence[int], es_frames: Sequence[int] = ()) -> list[tuple[int, int]]:
    """[(start, stop)) systolic search windows: ED -> its ES when known, else ED -> next ED.

    A last partial beat counts only when it reaches its ES (or is at least 60 % of a full beat). When no ES
    follows any ED (a clip of one cycle whose first ED was not found: ES, then the ED that ends its filling),
    the window is that filling phase, ES -> ED, as app.analysis.beats.split_beats makes its beat: the strain
    there is the ES's against the ED after it (frames before the first ED are tracked back from it).
    """
    eds = sorted(int(e) for e in ed_frames if 0 <= int(e) < n_frames)
    ess = sorted(int(e) for e in es_frames if 0 <= int(e) < n_frames)
    filling = [(es, min(e for e in eds if e > es)) for es in ess if any(e > es for e in eds)]
    if eds and filling and not any(es > eds[0] for es in ess):
        es, ed = filling[0]
        return [(max(es - 3, 0), ed + 1)]  # a little before ES, as a little past it forwards
    full = [b - a for a, b in zip(eds, eds[1:], strict=False)]
    typical = float(np.median(full)) if full else None
    windows = []
    for i, start in enumerate(eds):
        stop = eds[i + 1] if i + 1 < len(eds) else n_frames
        es_in = [e for e in ess if start < e < stop]
        if es_in:
            windows.append((start, min(es_in[0] + 3, stop)))  # a little past ES: post-systolic peak
        elif i + 1 < len(eds) or typical is None or (stop - start) >= 0.6 * typical:
            windows.append((start, stop))
    if not windows and eds:
        windows.append((eds[0], n_frames))
    return [w for w in windows if w[1] - w[0] >= 2]


def peak_systolic_pct(curve_pct: np.ndarray, windows: list[tuple[int, int]]) -> np.ndarray | float | None:
    """Mean over beats of the most negative strain in each window; (T,) -> float, (T, K) -> (K,)."""
    if not windows:
        return None
    peaks = [np.min(curve_pct[a:b], axis=0) for a, b in windows]
    result: np.ndarray = np.mean(peaks, axis=0)
    return result


def segment_quality(disagreement_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-segment tracking quality from the (T, N) disagreement between motion-tracked points and the
    segmentation centerline. Returns (rms_mm (6,), score 0..1 (6,), ok (6,) bool)."""
    b = segment_bounds(disagreement_mm.shape[1])
    rms = np.array([np.sqrt(np.nanmean(disagreement_mm[:, b[k] : b[k + 1] + 1] ** 2)) for k in range(len(b) - 1)])
    score = np.exp(-rms / QUALITY_SCALE_MM)
    return rms, score, score >= QUALITY_THRESHOLD


def _rounded(value: float | None, ndigits: int) -> float | None:
    return None if value is None else round(float(value), ndigits)


def _round_list(values: npt.ArrayLike, ndigits: int = 3) -> list[float | None]:
    return [None if not np.isfinite(v) else round(float(v), ndigits) for v in np.asarray(values, dtype=float)]


@dataclass(frozen=True, eq=False)
class StrainResult:
    """Longitudinal strain of one apical recording.

    gls_pct: peak systolic global longitudinal strain (negative = shortening), None without a beat.
    strain_curve_pct: (T,) global strain per frame. segmental_strain_pct: (T, 6) per segment.
    segment_peak_pct: (6,) peak systolic strain per segment. strain_quality: (6,) 0..1 tracking score;
    segment_ok: (6,) score passed (failed segments are marked, never averaged into the bullseye).
    tracking_error_mm: (6,) RMS disagreement behind the score. centerline_px: (T, 120, 2) tracked.
    """

    gls_pct: float | None
    strain_curve_pct: np.ndarray
    segmental_strain_pct: np.ndarray
    segment_peak_pct: tuple[float | None, ...]
    segment_names: tuple[str, ...]
    strain_quality: tuple[float, ...]
    segment_ok: tuple[bool, ...]
    tracking_error_mm: tuple[float, ...]
    centerline_px: np.ndarray
    ed_frames: tuple[int, ...]
    motion: str = "classical"
    view: str = "unknown"
    withheld: str = ""  # why GLS and the segment peaks are not reported (app.workflow.retrack.judged_strain)

    @property
    def low_quality_segments(self) -> tuple[str, ...]:
        return tuple(n for n, ok in zip(self.segment_names, self.segment_ok, strict=True) if not ok)

    def to_json_dict(self) -> dict[str, Any]:
        """The strain keys of `analyze --json` (plain JSON types)."""
        seg = {}
        for k, name in enumerate(self.segment_names):
            peak = self.segment_peak_pct[k]
            seg[name] = {
                "peak": None if peak is None else round(float(peak), 2),
                "curve": _round_list(self.segmental_strain_pct[:, k], 2),
            }
        quality = {
            name: {"score": round(float(q), 3), "ok": bool(ok), "tracking_error_mm": round(float(e), 3)}
            for name, q, ok, e in zip(
                self.segment_names, self.strain_quality, self.segment_ok, self.tracking_error_mm, strict=True
            )
        }
        return {
            "gls_pct": None if self.gls_pct is None else round(float(self.gls_pct), 2),
            "strain_curve_pct": _round_list(self.strain_curve_pct, 2),
            "segmental_strain_pct": seg,
            "strain_quality": quality,
            "strain_motion": self.motion,
            "segment_length_px": _rounded(segment_length_px(self.centerline_px, self.ed_frames), 1),
            **({"strain_withheld": self.withheld} if self.withheld else {}),
        }


# ASE/EACVI chamber quantification (Lang et al. 2015): "if regional tracking is suboptimal in more than two
# myocardial segments in a single view, the calculation of GLS should be avoided".
MAX_POOR_SEGMENTS_FOR_GLS = 2


def implausible_reason(strain: Any) -> str:
    """Why a strain result is no GLS to report ("" when it may be): the tracking was poor in more than
    MAX_POOR_SEGMENTS_FOR_GLS of the view's segments (the guideline's rule; where it failed in every segment of coarse
    clinical video, GLS values scattered far beyond what hearts of normal EF give: lab/notes/motion.md), or a segment
    whose tracking failed lengthens through systole (its peak above 0 %): the contours the tracking followed are not
    a heart's (what one bad hand edit makes of them)."""
    ok = tuple(getattr(strain, "segment_ok", ()) or ())
    if ok and not any(ok):
        return f"strain tracking poor in every segment ({len(ok)} of {len(ok)})"
    poor = [name.replace("_", " ") for name, good in zip(strain.segment_names, ok, strict=False) if not good]
    if len(poor) > MAX_POOR_SEGMENTS_FOR_GLS:
        return (f"strain tracking poor in {len(poor)} of {len(ok)} segments ({', '.join(poor)}): the ASE/EACVI "
                f"guideline avoids a GLS when more than {MAX_POOR_SEGMENTS_FOR_GLS} segments of a view track poorly")
    peaks = tuple(getattr(strain, "segment_peak_pct", ()) or ())
    for name, good, peak in zip(strain.segment_names, ok, peaks, strict=False):
        if not good and peak is not None and np.isfinite(peak) and peak > 0:
            return f"the {name.replace('_', ' ')} segment lengthens in systole ({peak:+.0f} %) where tracking is poor"
    return ""


def judged_strain(strain: StrainResult | None, edited: bool, no_gls: str = "") -> StrainResult | None:
    """The strain as the analysis and the study report it: one that is no GLS to report (implausible_reason, or
    `no_gls`: why the clip's beats give it none whatever the tracking, app.workflow.strain_step.no_gls_reason: no
    systole to search its peak over, damaged frames inside one) keeps its curves for the user to see and says why
    its GLS and segment peaks are not reported. `edited`: it was re-tracked on contours or ED/ES frames set by hand
    (the reason then says so)."""
    measured = strain is not None and strain.gls_pct is not None
    reason = (no_gls or implausible_reason(strain)) if measured else ""
    if not reason:
        return strain
    assert strain is not None  # a reason is found only for a strain
    when = " after the hand edit" if edited else ""
    peaks = getattr(strain, "segment_peak_pct", None)  # a strain restored from a saved study has none
    more: dict[str, Any] = {"segment_peak_pct": tuple(None for _ in peaks)} if peaks is not None else {}
    return replace(strain, gls_pct=None, withheld=f"GLS not reported{when}: {reason}", **more)


def strain_from_tracks(
    centerline_px: np.ndarray,
    spacing_mm: tuple[float, float],
    ed_frames: Sequence[int],
    disagreement_mm: np.ndarray,
    *,
    es_frames: Sequence[int] = (),
    view: str = "unknown",
    motion: str = "classical",
) -> StrainResult:
    """StrainResult from tracked centerlines (T, N, 2) px and the (T, N) tracking disagreement in mm."""
    curve = lagrangian_strain_pct(arc_lengths_mm(centerline_px, spacing_mm), ed_frames)
    seg_curves = lagrangian_strain_pct(segment_lengths_mm(centerline_px, spacing_mm), ed_frames)
    windows = beat_windows(len(curve), ed_frames, es_frames)
    gls = peak_systolic_pct(curve, windows)
    seg_peak = peak_systolic_pct(seg_curves, windows)
    rms, score, ok = segment_quality(disagreement_mm)
    return StrainResult(
        gls_pct=None if gls is None else float(gls),
        strain_curve_pct=curve,
        segmental_strain_pct=seg_curves,
        segment_peak_pct=tuple([None] * N_SEGMENTS if seg_peak is None else (float(v) for v in np.asarray(seg_peak))),
        segment_names=segment_names(view),
        strain_quality=tuple(float(s) for s in score),
        segment_ok=tuple(bool(o) for o in ok),
        tracking_error_mm=tuple(float(r) for r in rms),
        centerline_px=np.asarray(centerline_px),
        ed_frames=tuple(sorted(int(e) for e in ed_frames)),
        motion=motion,
        view=view,
    )


@dataclass(frozen=True)
class StudyStrain:
    """Strain of one study's apical views: mean GLS and the AHA 17-segment bullseye.

    aha_peak_pct: AHA number (1-17) -> mean peak strain over the views whose tracking passed (17 is
    the mean of the apical ring); unreliable: numbers only seen with failed tracking (value kept).
    """

    gls_mean_pct: float | None
    gls_by_view: dict[str, float]
    aha_peak_pct: dict[int, float]
    unreliable: frozenset[int]


def combine_views(results: Sequence[StrainResult]) -> StudyStrain:
    """Average GLS over apical views and map their segments onto the 17-segment bullseye."""
    gls = {r.view: r.gls_pct for r in results if r.gls_pct is not None}
    good: dict[int, list[float]] = {}
    poor: dict[int, list[float]] = {}
    for r in results:
        for name, peak, ok in zip(r.segment_names, r.segment_peak_pct, r.segment_ok, strict=True):
            number = AHA_NUMBER.get(name)
            if number is None or peak is None:
                continue
            (good if ok else poor).setdefault(number, []).append(float(peak))
    values = {n: float(np.mean(v)) for n, v in good.items()}
    unreliable = set()
    for n, v in poor.items():
        if n not in values:
            values[n] = float(np.mean(v))
            unreliable.add(n)
    apical = [values[n] for n in (13, 14, 15, 16) if n in values and n not in unreliable]
    if apical:
        values[17] = float(np.mean(apical))
    return StudyStrain(
        gls_mean_pct=float(np.mean(list(gls.values()))) if gls else None,
        gls_by_view=gls,
        aha_peak_pct=values,
        unreliable=frozenset(unreliable),
    )
