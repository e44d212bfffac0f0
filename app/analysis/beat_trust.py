"""Which beats of a clip to trust, and EDV/ESV/EF as the mean over them (issues 30 and 53).

A complete beat (ED -> ES -> next ED, with frame timing) counts only when its RR interval is plausible
(MIN_RR_S..MAX_RR_S) and consistent with the clip's other plausible beats (within RR_CONSISTENCY of their
median): a spurious ED/ES pair from a segmentation dip splits a real beat into two short ones, and neither
then counts. A beat too short for the clip (under MIN_RR_S, or inconsistent with the median) that follows a
complete beat and makes with it a beat of the clip's usual length is such a split, not a heartbeat (an ED/ES
pair in diastasis, from the ED/ES model or the curve): merge_split_beats joins it to the beat before, so that
beat's RR is the real one and no reported beat is that short. Which events the analysis keeps, and which beats
strain is measured over, follow from these rules (app.analysis.beat_events). The reported EDV, ESV and EF are the
means over the trusted beats (`over_beats`): the rules above keep odd beats out first, and then every trusted beat
weighs alike, as measurements averaged over several beats are in clinical practice (the median of three beats is
the middle one alone).

Beats whose RR cannot be measured (a clip shorter than a cycle, a cut last beat, a 2-frame ED/ES pair, a
gated cine MR cycle, a file without frame timing) are judged only when the clip has no timed complete beat:
then they all count, and a note says the RR was not checked. Beside trusted complete beats, a beat cut by the
clip's end counts when its systole is whole (whole_cut_beats: as long as theirs, its ES the smallest volume to the
clip's end), as a sonographer measures any beat whose ED and ES are in the clip; a beat whose ED is the clip's first
frame does not count when that frame is clearly smaller than the other beats' end-diastoles: the clip does not
start at an end-diastole (app.analysis.clip_start). When timed beats exist but none is trusted, there is no
EDV/ESV/EF and the note says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from app.analysis.beats import Beat
from app.analysis.clip_start import judge_first_frame_ed

MIN_RR_S = 0.3  # 200 bpm
MAX_RR_S = 2.0  # 30 bpm
RR_CONSISTENCY = (0.65, 1.5)  # of the median RR of the clip's plausible beats
# A beat with less than this share of the clip's largest stroke is an ED/ES pair in diastasis (or an ectopic
# beat, which EF is not measured on either), not a beat of its own: merge_split_beats joins it to the one before.
SLIVER_STROKE_FRACTION = 1.0 / 3.0
# Above this EF a beat is no heart's (hyperdynamic ventricles reach about 80 %): on clinical clips the segmentation
# can lose the cavity for a few frames, and the smallest volume of the beat is then that dropout.
MAX_PLAUSIBLE_EF_PCT = 90.0
# ED -> ES (largest to smallest volume) is isovolumic contraction and ejection: about 0.3-0.45 s at any heart rate
# (ejection 0.25-0.35 s, about 0.4 s at 40 bpm or in severe aortic stenosis), plus up to 0.1 s of ED placement
# (beat_extremes.ED_WINDOW_S). Outside these bounds the beat's events are not its own: on clinical clips TempReg-Net
# can put an ES in a segmentation dropout most of a beat later (0.8-0.9 s after ED, issue 53).
SYSTOLE_S = (0.1, 0.6)


@dataclass(frozen=True)
class BeatSummary:
    """Means over the trusted beats (over_beats; values in the curve's units); note says why none, or "" ."""

    beats: tuple[Beat, ...]  # every beat, each marked trusted or not (with why_untrusted)
    ed_value: float | None
    es_value: float | None
    ef_pct: float | None
    heart_rate_bpm: float | None
    note: str = ""

    @property
    def trusted(self) -> tuple[Beat, ...]:
        return tuple(b for b in self.beats if b.trusted)

    @property
    def stroke_value(self) -> float | None:
        if self.ed_value is None or self.es_value is None:
            return None
        return self.ed_value - self.es_value


def merge_split_beats(beats: Iterable[Beat]) -> tuple[Beat, ...]:
    """Each complete timed beat too short to be a heartbeat (RR under MIN_RR_S, or under RR_CONSISTENCY[0] of
    the clip's median plausible RR) joined to the complete beat just before it when the two together make a beat
    consistent with that median: the earlier beat keeps its ED and ES and ends at the short beat's next ED, its
    RR the sum of both. A complete beat whose stroke is a sliver (under SLIVER_STROKE_FRACTION of the clip's
    largest) is joined to the beat before it whatever its RR, when the two make at most MAX_RR_S: an ED/ES pair
    in diastasis is no heartbeat, and the split pieces would also have set the median RR that judges the real beats
    (an EchoNet clip at 40 bpm, TempReg-Net's diastolic pair 60 ms apart: a "beat" of EF 4 %, trusted, and the real
    1.44 s beat not). Other beats, and clips without a plausible RR, are unchanged."""
    beats = tuple(beats)
    plausible = [b.rr_s for b in beats if b.complete and b.rr_s and MIN_RR_S <= b.rr_s <= MAX_RR_S]
    if not plausible:
        return beats
    slivers = sliver_beats(beats)
    median_rr = float(np.median([b.rr_s for b in beats if b.complete and b.rr_s and MIN_RR_S <= b.rr_s <= MAX_RR_S
                                 and b not in slivers] or plausible))
    lo, hi = RR_CONSISTENCY
    out: list[Beat] = []
    for beat in beats:
        prev = out[-1] if out else None
        if (beat.complete and beat.rr_s is not None and prev is not None and prev.complete
                and prev.rr_s and prev.next_ed_frame == beat.ed_frame):  # joinable
            joined = prev.rr_s + beat.rr_s
            short = beat.rr_s < max(MIN_RR_S, lo * median_rr) and lo * median_rr <= joined <= hi * median_rr
            sliver = beat in slivers and joined <= MAX_RR_S
            if short or sliver:
                out[-1] = replace(prev, next_ed_frame=beat.next_ed_frame, rr_s=joined)
                continue
        out.append(beat)
    return tuple(out)


def sliver_beats(beats: Sequence[Beat]) -> tuple[Beat, ...]:
    """The complete beats whose stroke is under SLIVER_STROKE_FRACTION of the largest complete beat's."""
    strokes = [b.stroke_value for b in beats if b.complete and np.isfinite(b.stroke_value)]
    if len(strokes) < 2 or max(strokes) <= 0:
        return ()
    return tuple(b for b in beats if b.complete and b.stroke_value < SLIVER_STROKE_FRACTION * max(strokes))


def real_systole(beat: Beat, beats: Sequence[Beat]) -> bool:
    """A beat's ED -> ES as long as the median of the trusted complete beats' (within RR_CONSISTENCY); True
    when there is no such beat to compare with, or for a filling-phase beat (ES before ED, split_beats)."""
    systole = median_systole(beats)
    if systole is None or beat.es_frame < beat.ed_frame:
        return True
    lo, hi = RR_CONSISTENCY
    return lo * systole <= beat.es_frame - beat.ed_frame <= hi * systole


def median_systole(beats: Iterable[Beat]) -> float | None:
    """Median ED -> ES frames of the trusted complete beats (None without one)."""
    systoles = [b.es_frame - b.ed_frame for b in beats if b.trusted and b.complete and b.es_frame > b.ed_frame]
    return float(np.median(systoles)) if systoles else None


def no_systole(beats: Sequence[Beat]) -> str:
    """Why strain has no systole to be measured over, "" when it may have one: the clip has beats, none trusted,
    and every one's ED -> ES is shorter than any systole (SYSTOLE_S[0]; a truncated clip of three frames). The
    strain's peak is searched from ED to just past ES (app.analysis.strain.beat_windows): a window that long holds
    no systole's peak, while a longer one still holds it. A filling-phase beat (ES before ED) or an untimed one
    is no such case."""
    if not beats or any(b.trusted for b in beats):
        return ""
    lo = SYSTOLE_S[0]
    systoles = [timed_systole_s(b) for b in beats]
    if all(s is not None and s < lo for s in systoles):
        return f"no beat with a systole a heart can have (ED to ES {min(s for s in systoles if s is not None):.2f} " \
               f"s, under {lo} s)"
    return ""


def judge_beats(beats: Sequence[Beat]) -> tuple[tuple[Beat, ...], str]:
    """(beats marked trusted / untrusted with the reason, a note for the clip or ""): the RR rules, then a beat
    whose EF is above MAX_PLAUSIBLE_EF_PCT (a contour that collapsed at ES) or whose ED -> ES lasts outside
    SYSTOLE_S (events that are not the beat's own) is not trusted either."""
    judged, note = _judge_rr(tuple(beats))
    lo, hi = SYSTOLE_S
    for why, clip_note in (
        (_implausible_ef, f"no beat with an EF a heart can have (at most {MAX_PLAUSIBLE_EF_PCT:.0f} %), so no "
                          "EDV/ESV/EF (check the contours at end-systole)"),
        (_implausible_systole, f"no beat with a systole a heart can have (ED to ES {lo}-{hi} s), so no EDV/ESV/EF "
                                "(check the ED/ES frames)"),
    ):
        if not any(b.trusted for b in judged):
            break
        judged = tuple(replace(b, trusted=False, why_untrusted=reason) if b.trusted and (reason := why(b)) else b
                       for b in judged)
        if not any(b.trusted for b in judged):
            return judged, clip_note
    return judged, note


def _implausible_ef(beat: Beat) -> str:
    if beat.ef_pct is not None and beat.ef_pct > MAX_PLAUSIBLE_EF_PCT:
        return f"EF {beat.ef_pct:.0f} % is above {MAX_PLAUSIBLE_EF_PCT:.0f} %: no heart's (a contour collapsed at ES?)"
    return ""


def _implausible_systole(beat: Beat) -> str:
    outside = systole_outside(beat)
    return f"{outside}: no systole (the ED/ES are not this beat's)" if outside else ""


def systole_outside(beat: Beat) -> str:
    """"ED to ES 0.86 s is outside 0.1-0.6 s" for a timed beat whose ED -> ES no systole can last (SYSTOLE_S);
    "" when it can, or when the beat cannot be timed. A beat cut by the clip's end is timed by its frames (a clip
    of a few frames, e.g. a truncated file, has ED and ES too close for a systole)."""
    systole_s = timed_systole_s(beat)
    if systole_s is None:
        return ""
    lo, hi = SYSTOLE_S
    return "" if lo <= systole_s <= hi else f"ED to ES {systole_s:.2f} s is outside {lo}-{hi} s"


def timed_systole_s(beat: Beat) -> float | None:
    """A beat's ED -> ES in seconds: a complete beat's from its RR, a cut one's from its frame times; None for a
    filling-phase beat (ES before ED) or one without timing."""
    if beat.es_frame <= beat.ed_frame:
        return None
    if beat.complete and beat.rr_s and beat.next_ed_frame is not None:
        return (beat.es_frame - beat.ed_frame) * beat.rr_s / (beat.next_ed_frame - beat.ed_frame)
    if not beat.complete and beat.systole_s is not None:
        return beat.systole_s
    return None


def _judge_rr(beats: tuple[Beat, ...]) -> tuple[tuple[Beat, ...], str]:
    """judge_beats' RR rules."""
    timed = [b for b in beats if b.complete and b.rr_s]
    if not timed:
        note = "RR interval not checked (no complete beat with frame timing): EF from every ED -> ES found" \
            if beats else ""
        return tuple(replace(b, trusted=True, why_untrusted="") for b in beats), note
    plausible = [rr for b in timed if (rr := b.rr_s) is not None and MIN_RR_S <= rr <= MAX_RR_S]
    median_rr = float(np.median(plausible)) if plausible else None
    judged = tuple(replace(b, trusted=not why, why_untrusted=why)
                   for b, why in ((b, _why_untrusted(b, median_rr)) for b in beats))
    if any(b.trusted for b in judged):
        return judged, ""
    rrs = ", ".join(f"{b.rr_s:.2f}" for b in timed)
    return judged, (f"no beat with a plausible RR interval ({MIN_RR_S}-{MAX_RR_S} s, consistent with the "
                    f"clip's other beats): RR {rrs} s, so no EDV/ESV/EF (check the ED/ES frames)")


def _why_untrusted(beat: Beat, median_rr: float | None) -> str:
    if not beat.complete:
        return "cut by the clip's end (no RR interval)"
    if not beat.rr_s:
        return "no frame timing (no RR interval)"
    if not MIN_RR_S <= beat.rr_s <= MAX_RR_S:
        return f"RR {beat.rr_s:.2f} s outside {MIN_RR_S}-{MAX_RR_S} s"
    lo, hi = RR_CONSISTENCY
    if median_rr and not lo * median_rr <= beat.rr_s <= hi * median_rr:
        return f"RR {beat.rr_s:.2f} s inconsistent with the clip's median {median_rr:.2f} s"
    return ""


def over_beats(values: Sequence[float]) -> float:
    """A clip's value from its trusted beats' values: their mean (the beat-to-beat spread averages out; the trust
    rules have already left odd beats out)."""
    return float(np.mean(values))


def whole_cut_beats(beats: Sequence[Beat], curve: np.ndarray, frame_rate_hz: float | None) -> tuple[Beat, ...]:
    """The judged beats, each beat cut by the clip's end trusted when its systole is whole: measured as a
    sonographer measures any beat whose ED and ES are in the clip (its next ED, and so its RR, is not needed for
    EF). Whole means, against the clip's trusted complete beats (none: nothing changes): a systole as long as
    theirs (real_systole, as strain_events takes such a beat) and timed within SYSTOLE_S; its ES the smallest
    volume of the (T,) curve (lightly smoothed, as at_beat_extremes reads it) from its ED to the clip's last frame,
    which it is not (the clip does not end in systole); its EF at most MAX_PLAUSIBLE_EF_PCT and its stroke no
    sliver (sliver_beats' fraction of the largest complete beat's)."""
    from app.analysis.edes_curve import smooth_curve

    beats = tuple(beats)
    reference = any(b.trusted and b.complete and np.isfinite(b.stroke_value) for b in beats)
    if not reference or all(b.complete or b.trusted for b in beats):
        return beats
    smoothed = smooth_curve(np.asarray(curve, dtype=np.float64), frame_rate_hz)
    largest = max(b.stroke_value for b in beats if b.complete and np.isfinite(b.stroke_value))
    return tuple(replace(b, trusted=True, why_untrusted="")
                 if not b.complete and not b.trusted and _whole_systole(b, beats, smoothed, largest) else b
                 for b in beats)


def _whole_systole(beat: Beat, beats: Sequence[Beat], smoothed: np.ndarray, largest_stroke: float) -> bool:
    """whole_cut_beats' test of one cut beat."""
    ed, es = beat.ed_frame, beat.es_frame
    if not ed < es < len(smoothed) - 1 or beat.systole_s is None or systole_outside(beat):
        return False
    if not real_systole(beat, beats) or _implausible_ef(beat) or beat.ef_pct is None:
        return False
    return bool(smoothed[es] <= smoothed[ed:].min() and beat.stroke_value >= SLIVER_STROKE_FRACTION * largest_stroke)


def summarise_beats(beats: Iterable[Beat], curve: np.ndarray | None = None,
                    frame_rate_hz: float | None = None) -> BeatSummary:
    """merge_split_beats, judge_beats, with the (T,) curve the beats were split on whole_cut_beats, a first beat
    whose ED is no end-diastole left out (clip_start.judge_first_frame_ed), then the ED value, ES value and EF
    over the trusted beats (over_beats); heart rate from the median RR of the trusted complete beats."""
    judged, note = judge_beats(merge_split_beats(beats))
    if curve is not None:
        judged = whole_cut_beats(judged, curve, frame_rate_hz)
    judged = judge_first_frame_ed(judged)
    used = [b for b in judged if b.trusted]
    if not used:
        return BeatSummary(judged, None, None, None, None, note)
    efs = [b.ef_pct for b in used if b.ef_pct is not None]
    rrs = [b.rr_s for b in used if b.rr_s]
    return BeatSummary(
        judged,
        over_beats([b.ed_value for b in used]),
        over_beats([b.es_value for b in used]),
        over_beats(efs) if efs else None,
        60.0 / float(np.median(rrs)) if rrs else None,
        note,
    )
