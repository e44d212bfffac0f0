"""ED/ES: a detector's events (TempReg-Net, app.ml.edes) combined with the segmented LV curve, and checked.

- `curve_extrema`: the events of TempReg's own (T,) curve (about 1 at ED, 0 at ES).
- `fuse_events` / `fuse_with_curve`: ED from the detector; each ES slid down the LV curve (`snap_to_curve`,
  at most `es_slide_frames`); clip-end events the detector leaves out from the curve (`add_edge_events`).
- `choose_ed_es`: the decision the analysis takes (fused events, or the curve's own extrema and why, when the
  events contradict the curve: app.analysis.edes_checks); on a clip each ES first goes to its beat's smallest
  volume (app.analysis.beat_extremes), so the check judges the detector's beats, not its ES timing. On a gated
  cine MR cycle the analysis' ED/ES step then puts ED and ES at the cycle's largest and smallest LV volume
  (beat_extremes.at_cycle_extremes): the slide below stops in the first dip of a noisy plateau.
Plain numpy: the network itself stays in app/ml/edes.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.analysis.beat_events import without_split_pairs
from app.analysis.beat_extremes import at_beat_extremes
from app.analysis.edes_checks import curve_contradiction
from app.analysis.edes_curve import detect_ed_es, min_event_distance
from app.analysis.peaks import find_peaks

SNAP_RADIUS_FRAMES = 2  # fuse_events: how far an ES may slide down the curve
TEMPREG_METHOD = "tempreg"  # TempReg-Net (clip-end events from the LV curve when it has some)
FUSED_METHOD = "tempreg+area"  # TempReg-Net, each ES refined on the segmented LV curve
CURVE_METHOD = "area_curve"  # the extrema of the segmented LV volume/area curve (app.analysis.edes_curve)
TEMPREG_MAX_HEART_RATE_BPM = 220.0  # curve_extrema: events of a kind at least one beat at this rate apart
PROMINENCE = 0.3  # of the curve's 0..1 scale
EDGE_LEVEL = 0.12  # an extremum on the first/last frame counts only this close to 1 (ED) or 0 (ES)
# An event is the last frame of its flat top within (ED, ES) tolerance of the extremum: the Kong curve
# approaches ED and ES slowly and leaves them steeply. Per modality (cine MR has fewer frames per beat than
# echo), chosen for the shipped weights on tuning phantoms (seeds 305000+/315000+, never the evaluation
# seeds) with `python -m lab.evaluation.edes_tuning`; re-run it after retraining models/ed_es.
PLATEAU_TOL = {"echo": (0.01, 0.02), "mri": (0.03, 0.05)}


def plateau_tolerances(modality: str | None) -> tuple[float, float]:
    """(ED, ES) plateau tolerances of a modality ("echo" for any other or None)."""
    return PLATEAU_TOL.get(modality or "echo", PLATEAU_TOL["echo"])


@dataclass(frozen=True)
class EdEsDetection:
    """ED and ES frames (sorted, alternating) of one slice, and the per-frame curve they come from.

    curve: (T,) float32, TempReg-Net's volume-like prediction (about 1 at ED, 0 at ES).
    """

    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    curve: np.ndarray
    method: str = TEMPREG_METHOD
    slice_index: int = 0



def snap_to_curve(
    frames: Iterable[int], curve: np.ndarray, maxima: bool, radius: int = SNAP_RADIUS_FRAMES
) -> tuple[int, ...]:
    """Move each frame along a (T,) volume/area curve towards its local extremum, at most radius frames.

    From each frame, step to the lower (maxima=False) or higher neighbour while one is strictly lower
    (higher), up to radius steps: a frame on a local minimum, on a plateau or next to NaN frames stays;
    one on a slope slides down to the minimum (or radius frames towards it).
    """
    y = np.asarray(curve, dtype=np.float64)
    sig = np.where(np.isfinite(y), y if maxima else -y, -np.inf)
    out = []
    for frame in (int(v) for v in frames):
        g = frame
        if 0 <= g < len(sig) and np.isfinite(sig[g]):
            for _ in range(max(0, int(radius))):
                better = [h for h in (g - 1, g + 1) if 0 <= h < len(sig) and sig[h] > sig[g]]
                if not better:
                    break
                g = max(better, key=lambda h: sig[h])
        out.append(g)
    return tuple(out)


def add_edge_events(ed: Sequence[int], es: Sequence[int], curve_ed: Sequence[int], curve_es: Sequence[int],
                    min_gap: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed, es) plus the curve's events at the clip ends that (ed, es) leave out: the last curve event
    before the first given event and the first after the last one, when of the other kind (so events
    still alternate) and at least min_gap frames away."""
    given = sorted([(int(f), "ed") for f in ed] + [(int(f), "es") for f in es])
    if not given:
        return tuple(sorted(ed)), tuple(sorted(es))
    curve = sorted([(int(f), "ed") for f in curve_ed] + [(int(f), "es") for f in curve_es])
    before = [e for e in curve if e[0] <= given[0][0] - min_gap and e[1] != given[0][1]]
    after = [e for e in curve if e[0] >= given[-1][0] + min_gap and e[1] != given[-1][1]]
    events = given + before[-1:] + after[:1]
    return (tuple(sorted({f for f, k in events if k == "ed"})),
            tuple(sorted({f for f, k in events if k == "es"})))


def fuse_events(
    ed_frames: Iterable[int],
    es_frames: Iterable[int],
    curve: np.ndarray,
    frame_rate_hz: float | None = None,
    refine_es: bool = True,
    radius: int = SNAP_RADIUS_FRAMES,
    periodic: bool = False,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """An event detector's (ed, es) (e.g. TempReg-Net's) combined with a (T,) LV volume/area curve.

    ED frames stay; with refine_es each ES slides down the curve to its minimum, at most radius frames
    (snap_to_curve); events at the clip ends that the detector leaves out come from the curve's own
    extrema (detect_ed_es, add_edge_events; periodic: a gated cycle, as detect_ed_es). Sorted, unique.
    """
    y = np.asarray(curve, dtype=np.float64)
    ed = tuple(int(f) for f in ed_frames)
    es = snap_to_curve(es_frames, y, False, radius) if refine_es else tuple(int(f) for f in es_frames)
    if np.isfinite(y).sum() >= 3:
        curve_ed, curve_es = detect_ed_es(y, frame_rate_hz, periodic)
        # opposite events: half the distance between two of a kind (a systole at 200 bpm lasts ~0.15 s)
        return add_edge_events(ed, es, curve_ed, curve_es, max(2, min_event_distance(frame_rate_hz) // 2))
    return tuple(sorted(set(ed))), tuple(sorted(set(es)))


def es_slide_frames(modality: str | None, n_frames: int) -> int:
    """How far the pipeline lets each TempReg ES slide down the segmented LV curve (fuse_with_curve's radius).

    Echo: 0. The segmented area curve dips again when the mitral leaflets open, 1-3 frames after ES, so
    its minimum is late (96 phantoms, `evaluate ed-es --segmented`: ES aFD 0.35, 0.95 when refined).
    Cine MR stacks: a third of the clip. ES is by definition the phase of the smallest slice-summation
    volume, and on the three Sunnybrook patients that minimum lies 1-2 phases from the expert's ES phase
    while TempReg's ES (mid slice, trained on MR phantoms only) comes 2-6 phases late. On the 48 MR
    phantoms, whose slices our model segments less well than real ones, TempReg alone is better
    (ES aFD 0.18 vs 0.52).
    """
    return max(2, int(n_frames) // 3) if modality == "mri" else 0


def fuse_with_curve(detection: EdEsDetection, lv_curve: np.ndarray, frame_rate_hz: float | None,
                    refine_es: bool = True, radius: int = 2, periodic: bool = False) -> EdEsDetection:
    """TempReg's events combined with the segmented LV volume (or area) curve (lv_curve: (T,), NaN gaps).

    TempReg decides which events exist and where ED is: the Kong curve leaves ED steeply, while the volume
    curve is flat around ED (diastasis, atrial kick, isovolumic contraction). (Each echo ED climbing the
    smoothed curve to its maximum, up to 0.3 s, was measured on 24 phantom clips, `evaluate volumes --cases 24
    --segmenter base [--degrade 112]`: EF bias -1.94 -> -1.90 and -1.87 -> -1.80 points, ED aFD 0.08 -> 0.33
    and 0.12 -> 0.40 frames; not done.) With refine_es (method
    "tempreg+area") each ES slides down the volume curve to its minimum, at most `radius` frames: the Kong
    curve approaches ES slowly (cubic), a well-timed volume curve has a sharp minimum there. Either way, events
    on the clip's first/last frames, which curve_extrema leaves out as ambiguous, come from the curve's
    extrema (fuse_events; periodic: the curve is one gated cycle, cine MR); without
    refine_es the method stays "tempreg".
    """
    y = np.asarray(lv_curve, dtype=np.float64)
    if y.shape != np.shape(detection.curve):
        raise ValueError(f"the LV curve has {y.shape} frames, the detection {np.shape(detection.curve)}")
    ed, es = fuse_events(detection.ed_frames, detection.es_frames, y, frame_rate_hz, refine_es, radius, periodic)
    return replace(detection, ed_frames=ed, es_frames=es, method=FUSED_METHOD if refine_es else TEMPREG_METHOD)


def curve_extrema(curve: np.ndarray, frame_rate_hz: float | None,
                  modality: str = "echo") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(ed_frames, es_frames), alternating, from a TempReg (T,) curve (about 1 at ED, 0 at ES).

    Peaks at least one beat at TEMPREG_MAX_HEART_RATE_BPM apart with PROMINENCE, moved to the end of a flat top
    (within the modality's plateau_tolerances).
    The first frame counts as ED (ES) when the curve is within EDGE_LEVEL of 1 (0) there and falls (rises)
    into the clip: the curve leaves ED and ES steeply, so this is unambiguous. The last frame is never
    reported: the curve approaches ED (cube root) and ES (cube) slowly, so a high or low last frame does
    not tell whether the event is on it or a few frames later. Ties within a run keep the most extreme.
    """
    y = np.asarray(curve, dtype=np.float64)
    if y.ndim != 1 or len(y) < 3:
        return (), ()
    min_dist = max(2, int(0.8 * frame_rate_hz * 60.0 / TEMPREG_MAX_HEART_RATE_BPM)) if frame_rate_hz else 3
    tol_ed, tol_es = plateau_tolerances(modality)
    events = ([(f, "ed") for f in _peaks(y, min_dist, tol_ed)]
              + [(f, "es") for f in _peaks(1.0 - y, min_dist, tol_es)])
    out: list[tuple[int, str]] = []
    for frame, kind in sorted(events):
        if out and out[-1][1] == kind:
            if (y[frame] > y[out[-1][0]]) == (kind == "ed"):
                out[-1] = (frame, kind)
            continue
        out.append((frame, kind))
    return tuple(f for f, k in out if k == "ed"), tuple(f for f, k in out if k == "es")


def _peaks(y: np.ndarray, min_dist: int, plateau_tol: float) -> list[int]:
    """Maxima of y (0..1 scale) including the edges when they are within EDGE_LEVEL of 1."""
    padded = np.concatenate([[-1.0], y, [-1.0]])
    peaks = find_peaks(padded, distance=min_dist, prominence=PROMINENCE)
    last = len(y) - 1
    keep = []
    for p in (int(q) - 1 for q in peaks):
        if p == 0 and not (y[0] >= 1.0 - EDGE_LEVEL and y[0] > y[1]):
            continue
        if p == last:  # the Kong curve approaches ED and ES slowly: a low/high last frame is ambiguous
            continue
        keep.append(_last_of_plateau(y, p, min_dist, plateau_tol))
    return keep


def _last_of_plateau(y: np.ndarray, peak: int, min_dist: int, tol: float = 0.01) -> int:
    """The last frame near peak within tol of the local maximum: the Kong curve approaches ES (cubic)
    and ED (cube root) slowly and leaves them steeply, so a flat top ends at the event."""
    half = max(1, min_dist // 2)
    lo, hi = max(0, peak - half), min(len(y), peak + half + 1)
    top = y[lo:hi].max()
    frame = peak
    while frame + 1 < hi and y[frame + 1] >= top - tol:
        frame += 1
    return frame


@dataclass(frozen=True)
class EdEsChoice:
    """The ED/ES frames an analysis uses and where they come from.

    method: TEMPREG_METHOD / FUSED_METHOD, or CURVE_METHOD with `fallback` saying why the detector's events were
    not used, and ed_frames = es_frames = None until the analysis' one ED/ES step fills them with the curve's
    own events (app.workflow.analyze.ed_es_step: measure.curve_events, and on a clip its beats' extremes, on a gated
    cine MR cycle its largest and smallest LV volume).
    """

    ed_frames: tuple[int, ...] | None
    es_frames: tuple[int, ...] | None
    method: str
    fallback: str = ""

    @classmethod
    def curve(cls, reason: str) -> "EdEsChoice":
        return cls(None, None, CURVE_METHOD, reason)


def choose_ed_es(detection: EdEsDetection, curve: np.ndarray, frame_rate_hz: float | None, modality: str,
                 gated: bool) -> EdEsChoice:
    """TempReg's events fused with the segmented LV curve ((T,), area-jump frames NaN), or the curve's own
    extrema when the detector found no ED/ES pair or its events contradict the curve (a beat with EDV <= ESV; on a
    clip, fewer than half of the curve's own events; on a gated cine MR cycle, an event far from its beat's
    extreme: curve_contradiction). On a clip (not a gated cycle) the pairs that split a beat are left out first
    (beat_events.without_split_pairs), so one spurious pair in a flat diastasis does not set the detector's other
    events aside, and each ES is moved to its beat's smallest volume (beat_extremes.at_beat_extremes) before the
    check: TempReg-Net finds the beats, the curve their extremes, and an ES late on the refilling limb no longer
    reads as a beat with EDV <= ESV (an ED at the smallest volume still does)."""
    n_finite = int(np.isfinite(curve).sum())
    det = detection
    if n_finite >= 3:  # the curve supplies clip-end events TempReg leaves out
        radius = es_slide_frames(modality, len(curve))
        det = fuse_with_curve(det, curve, frame_rate_hz, refine_es=radius > 0, radius=radius, periodic=gated)
    if not det.ed_frames or not det.es_frames:
        return EdEsChoice.curve("TempReg-Net found no end-diastole/end-systole pair")
    if n_finite < 3:
        return EdEsChoice(det.ed_frames, det.es_frames, TEMPREG_METHOD)
    ed, es = det.ed_frames, det.es_frames
    if gated and len(ed) > 1 and ed[0] == 0 and ed[-1] == len(curve) - 1:
        ed = ed[:-1]  # a gated cycle's last phase is the next beat's ED
    if not gated:  # an extra ED/ES pair in a diastasis (flat there: EDV = ESV) is not a contradiction of the rest
        ed, es = without_split_pairs(curve, ed, es, frame_rate_hz)
        # each ES judged at its beat's smallest volume: an ES late on the refilling limb is no beat with EDV <= ESV;
        # the EDs stay, so a detector whose ED sits at the smallest volume is still caught
        ed, es = at_beat_extremes(curve, ed, es, frame_rate_hz, move_ed=False)
    contradiction = curve_contradiction(curve, ed, es, gated=gated, frame_rate_hz=frame_rate_hz)
    if contradiction:
        return EdEsChoice.curve(f"TempReg-Net's ED/ES disagree with the segmented LV curve ({contradiction})")
    return EdEsChoice(ed, es, det.method)
