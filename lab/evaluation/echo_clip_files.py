"""CAMUS patients as the clinical clips a user has, through `analyze` (`evaluate echo-files --forms clip,clip112`).

The held-out clinical test of issue 30 is apical 4-chamber AVIs of 2-5 beats at 50 Hz, 112 x 112 pixels, whose
EF `analyze` reads from events it finds itself (TempReg-Net, the LV curve, the trusted beats). CAMUS gives only
an ED and an ES frame per patient, so each patient's clip is made from them: the frames between are the ED image
warped towards ES by the demons fields of `evaluate echo-seg` (lab.training.sequences.cycle_frame), at a
physiological volume timing (lab.training.tempreg_cycle.phantom_timing_cycle, the phantom's waveform: isovolumic
contraction and relaxation plateaus, fast early ejection, rapid filling, diastasis, atrial kick; systole 29-47 % of
the beat; a random start phase) and a heart rate of 55-95 bpm; the frames at the largest volume are the ED image and
those at the smallest the ES image, so the expert's EF is the truth of every beat. Every frame carries fresh
speckle. `clip` is the clip at CAMUS resolution, `clip112` the clinical export (lab.data.degrade.clinical_export:
112 x 112, MJPEG, depth cut), `clip112mpeg4` the same through FFmpeg's MPEG-4, all written as AVI (uncalibrated,
so only the EF is compared). TempReg-Net was trained on CAMUS training patients' clips with this waveform family;
these are the valid patients, never seen, but the timing is in its domain: a real clip's is not.

Scored per clip: the EF against the expert's (the same 2-frame file with the expert masks, as the `pair` form),
whether the ED/ES model was set aside for the LV curve, each reported event's distance to the nearest true event
of its kind (frames, signed: negative = early; the true ED is mitral closure, the start of the isovolumic plateau,
so an ED on the plateau is "late" at the full volume), the stroke lost at the events (the true relative volume
short of 1 at each ED, above 0 at each ES: what the timing costs the EF, whatever the convention), the trusted
beats, the shortest RR interval and the spread of the trusted beats' EF within the clip.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.analysis.edes_fusion import FUSED_METHOD, TEMPREG_METHOD

CLIP_RATE_HZ = 50.0
CLIP_SECONDS = 3.0
HEART_RATE_BPM = (55.0, 95.0)
# form -> the clinical export the clip goes through (lab.data.degrade; None: kept at CAMUS resolution)
CLIP_EXPORTS = {"clip": None, "clip112": ("mjpeg", 112), "clip112mpeg4": ("mpeg4", 112)}
MODEL_METHODS = (TEMPREG_METHOD, FUSED_METHOD)  # the ED/ES model kept (not set aside for the LV curve)


@dataclass(frozen=True)
class ClinicalClip:
    """A CAMUS patient as a clip: the recording and its true ED and ES frames."""

    patient: str
    recording: object  # app.data.recording.Recording
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    volume: np.ndarray  # (T,) the true relative volume, 1 at ED, 0 at ES


@dataclass(frozen=True)
class ClipScore:
    patient: str
    form: str
    ef_pct: float | None
    ref_ef_pct: float | None
    model_kept: bool
    ed_errors_frames: tuple[int, ...]
    es_errors_frames: tuple[int, ...]
    ed_stroke_lost: tuple[float, ...]  # 1 - true relative volume at each reported ED
    es_stroke_lost: tuple[float, ...]  # true relative volume at each reported ES
    missed_events: int  # true events inside the clip with no reported event of their kind within a third of a beat
    trusted_beats: int
    shortest_rr_s: float | None
    beat_ef_sd_pts: float | None

    @property
    def ef_error(self) -> float | None:
        return None if self.ef_pct is None or self.ref_ef_pct is None else self.ef_pct - self.ref_ef_pct


def clinical_clip(path: Path, size_px: int | None, codec: str = "mjpeg") -> ClinicalClip:
    """One CAMUS patient as a 3 s clip at 50 Hz (module docstring); seeded by the patient's number; with
    size_px, exported as clinical_export(size_px) with `codec`."""
    from app.data.recording import Recording, uniform_frame_times
    from lab.data.degrade import clinical_export, degrade_recording
    from lab.evaluation.echo_seg import camus_fields
    from lab.training.sequences import cycle_frame, speckle_fields
    from lab.training.tempreg_cycle import phantom_timing_cycle

    case, u, v = camus_fields(path)
    number = int(path.stem[7:11]) if path.stem[7:11].isdigit() else 0
    rng = np.random.default_rng(number)
    frames_per_beat = CLIP_RATE_HZ * 60.0 / rng.uniform(*HEART_RATE_BPM)
    n = int(round(CLIP_SECONDS * CLIP_RATE_HZ))
    cycle = phantom_timing_cycle(n, frames_per_beat, rng)
    volume = np.clip((cycle.volume - cycle.volume.min()) / np.ptp(cycle.volume), 0.0, 1.0)
    alpha = 1.0 - volume  # 0 at ED (the ED image), 1 at ES (the ES image)
    images = case.images.astype(np.float32) / 255.0
    frames = np.stack([cycle_frame(images, case.labels, u, v, float(a))[0] for a in alpha])
    speckle = speckle_fields(n, max(frames.shape[1:]), rng)[:, : frames.shape[1], : frames.shape[2]]
    frames = np.clip(frames * speckle, 0.0, 1.0)
    recording = Recording(frames=(frames * 255).round().astype(np.uint8), spacing_mm=case.spacing_mm,
                          frame_times_s=uniform_frame_times(n, CLIP_RATE_HZ), modality="echo", view="a4c")
    if size_px:
        recording, _ = degrade_recording(recording, replace(clinical_export(size_px), codec=codec))
    return ClinicalClip(case.patient, recording, cycle.ed_frames, cycle.es_frames, volume)


def event_errors(found, truth) -> tuple[int, ...]:
    """Each found frame minus the nearest true frame of the same kind (negative = early)."""
    truth = np.asarray(truth, int)
    if truth.size == 0:
        return ()
    return tuple(int(f - truth[np.argmin(np.abs(truth - f))]) for f in found)


def missed_events(found, truth, n_frames: int, beat_frames: float) -> int:
    """True events (not on the clip's first or last 2 frames) with no found event of their kind within a
    third of a beat."""
    found = np.asarray(found, int)
    inner = [t for t in truth if 2 <= t < n_frames - 2]
    return sum(1 for t in inner if found.size == 0 or np.abs(found - t).min() > beat_frames / 3)


def score_result(clip: ClinicalClip, form: str, result: dict, ref_ef_pct: float | None) -> ClipScore:
    """A ClipScore from `analyze --json`'s result of the clip ({} when it failed)."""
    beats = result.get("beats") or []
    trusted = [b for b in beats if b.get("trusted")]
    rr = [b["rr_s"] for b in beats if b.get("rr_s") is not None]
    beat_ef = [b["ef_pct"] for b in trusted if b.get("ef_pct") is not None]
    ed, es = result.get("ed_frames") or (), result.get("es_frames") or ()
    n = len(clip.volume)
    beat = n / max(1, len(clip.ed_frames)) if len(clip.ed_frames) < 2 else float(np.diff(clip.ed_frames).mean())
    missed = missed_events(ed, clip.ed_frames, n, beat) + missed_events(es, clip.es_frames, n, beat)
    return ClipScore(
        clip.patient, form, result.get("ef_pct"), ref_ef_pct, result.get("ed_es_method") in MODEL_METHODS,
        event_errors(ed, clip.ed_frames), event_errors(es, clip.es_frames),
        tuple(float(1.0 - clip.volume[f]) for f in ed), tuple(float(clip.volume[f]) for f in es), missed, len(trusted),
        min(rr) if rr else None, float(np.std(beat_ef, ddof=1)) if len(beat_ef) > 1 else None)


def score_patient(path: Path, form: str, folder: Path, ref_ef_pct: float | None, analyze) -> ClipScore:
    """The patient's clip written as AVI and analyzed (`analyze(argv) -> dict`, echo_files._analyze)."""
    from app.data.writers.nifti_avi import write_avi

    codec, size_px = CLIP_EXPORTS[form] or ("mjpeg", None)
    clip = clinical_clip(path, size_px, codec)
    avi = write_avi(clip.recording, folder / f"{clip.patient}_{form}.avi")
    return score_result(clip, form, analyze([str(avi)]), ref_ef_pct)


def summarise_events(scores: list[ClipScore]) -> dict:
    """How the clips' events and beats went: ED/ES model set aside, event errors, beats."""
    def pooled(name: str) -> np.ndarray:
        return np.array([e for s in scores for e in getattr(s, name)], float)

    def r(values, nd=2, of=np.mean):
        values = [v for v in values if v is not None]
        return round(float(of(values)), nd) if len(values) else None

    ed, es = pooled("ed_errors_frames"), pooled("es_errors_frames")
    return {"model_set_aside": [s.patient for s in scores if not s.model_kept],
            "ed_error_frames": r(ed), "ed_abs_error_frames": r(np.abs(ed)),
            "es_error_frames": r(es), "es_abs_error_frames": r(np.abs(es)),
            "ed_stroke_lost": r(pooled("ed_stroke_lost"), 3), "es_stroke_lost": r(pooled("es_stroke_lost"), 3),
            "missed_events": sum(s.missed_events for s in scores),
            "clips_missing_events": [s.patient for s in scores if s.missed_events],
            "trusted_beats_mean": r([s.trusted_beats for s in scores]),
            "no_trusted_beat": [s.patient for s in scores if s.trusted_beats == 0],
            "shortest_rr_s": r([s.shortest_rr_s for s in scores], 3, min),
            "beat_ef_sd_pts": r([s.beat_ef_sd_pts for s in scores]),
            "patients": {s.patient: {"ef_pct": s.ef_pct, "ref_ef_pct": s.ref_ef_pct, "model_kept": s.model_kept,
                                     "trusted_beats": s.trusted_beats, "missed_events": s.missed_events,
                                     "shortest_rr_s": s.shortest_rr_s} for s in scores}}


def format_events(summary: dict) -> str:
    """One line per clip form: the event and beat figures."""
    lines = [f"{'form':<12} {'set aside':>9} {'ED err (abs)':>13} {'ES err (abs)':>13} {'stroke lost ED/ES':>17} "
             f"{'missed':>6} {'trusted beats':>13} {'shortest RR':>11} {'beat EF SD':>10}   "
             f"frames at {CLIP_RATE_HZ:g} Hz, negative = early"]
    for form, s in summary.items():
        e = s.get("events")
        if e:
            lines.append(
                f"{form:<12} {len(e['model_set_aside']):>9} {e['ed_error_frames']!s:>6} "
                f"({e['ed_abs_error_frames']!s:>4}) {e['es_error_frames']!s:>6} ({e['es_abs_error_frames']!s:>4}) "
                f"{e['ed_stroke_lost']!s:>8}/"
                f"{e['es_stroke_lost']!s:<8} {e['missed_events']:>6} {e['trusted_beats_mean']!s:>13} "
                f"{e['shortest_rr_s']!s:>11} {e['beat_ef_sd_pts']!s:>10}")
    return "\n".join(lines)
