"""The shipped echo pipeline on real clinical clips (EchoNet-Dynamic A4C AVIs) against the echocardiographer's EF.

`python -m app evaluate echo-clips` runs `analyze --view a4c --no-strain` (app.workflow.analyze.analyze_file, the
one analysis of a recording) on every clip of `../shared/data/echonet_clips/` and compares its EF with the clinical
EF of FileList.csv (method of discs on the expert's ED and ES tracings, which are not shipped). The clips have no
pixel spacing, so only EF is compared (our EF comes from the pixel-unit disk volumes, which EF does not depend on).

Reported: EF mean absolute error, bias (ours - expert, signed), SD, 95 % limits of agreement, Pearson r, the share of
clips within 5 points; per clip the EF, the ED/ES method and why TempReg-Net was set aside, the beats found and
trusted; the ES placement (LV area at our ES over the smallest area of its beat, ED -> next ED: 1.0 when ES is at
the beat's smallest cavity; and ED over the beat's largest; frames the analysis leaves out as a drop-out of the
mask are left out here too) on every trusted beat; the view classifier's call
(how often a real A4C is called something else, or with p < 0.8); the heart rate against the LV area curve's own
beat rate (its autocorrelation, app.analysis.edes_curve.beat_period_frames: the clips carry no ECG, and a rate
half or twice the curve's is a beat the ED/ES step missed or made up). A clip without an EF counts as missed, apart
from the error figures.

`--clips FILE` (one file name a line) restricts the run to some clips: the held-out fold of a model trained on
the others (lab.training.echo_clip_ef); `CARDIOTRACE_MODELS_DIR` points the pipeline at that fold's models.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from app.analysis.edes_curve import beat_period_frames, smooth_curve, without_spikes
from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file
from app.workflow.frame_quality import spike_frames
from app.workflow.view_step import CONFIDENT_PROBABILITY as CONFIDENT_VIEW

DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "echonet_clips"
WITHIN_PTS = 5.0
HEART_RATE_AGREEMENT = (0.8, 1.25)  # our heart rate over the curve's own rate that counts as the same rhythm


@dataclass(frozen=True)
class ClipRef:
    """One clip of FileList.csv: the clinical EF / EDV / ESV (ml) and its frame count and rate."""

    name: str
    ef_pct: float
    edv_ml: float
    esv_ml: float
    n_frames: int
    fps: float


@dataclass(frozen=True)
class ClipScore:
    """Our analysis of one clip next to the expert's EF. es_ratios / ed_ratios: per trusted complete beat, the LV
    area at our ES over the beat's smallest (at our ED over the beat's largest)."""

    name: str
    ref_ef_pct: float
    ef_pct: float | None
    ed_es_method: str
    ed_es_fallback: str
    n_beats: int
    n_trusted: int
    es_ratios: tuple[float, ...]
    ed_ratios: tuple[float, ...]
    view: str
    view_probability: float
    notes: tuple[str, ...] = ()
    error: str = ""
    trusted_beats: tuple[tuple[int, int], ...] = ()  # (ED, ES) frames of each trusted beat
    beat_efs: tuple[float, ...] = ()  # EF (%) of each trusted beat, in the order of trusted_beats
    heart_rate_bpm: float | None = None  # ours
    curve_rate_bpm: float | None = None  # the LV area curve's own beat rate (None: no clear period)

    @property
    def ef_error(self) -> float | None:
        return None if self.ef_pct is None else self.ef_pct - self.ref_ef_pct


def read_file_list(root: Path, present_only: bool = True) -> list[ClipRef]:
    """FileList.csv of an EchoNet folder: the clips present in it (every row with present_only=False, e.g. for
    folds drawn where only the clips' cached beats travel)."""
    path = root / "FileList.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no FileList.csv in {root} (the echonet_clips folder of ../shared/data)")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    refs = []
    for row in rows:
        name = row["FileName"] if row["FileName"].endswith(".avi") else row["FileName"] + ".avi"
        if not present_only or (root / name).is_file():
            refs.append(ClipRef(name, float(row["EF"]), float(row["EDV"]), float(row["ESV"]),
                                int(row["NumberOfFrames"]), float(row["FPS"])))
    return refs


def beat_extreme_ratios(area: np.ndarray, beats, spikes: Sequence[int] = ()
                        ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per trusted complete beat: area at ES / the beat's smallest, area at ED / the beat's largest (ED ->
    next ED, both included). `spikes`: frames the analysis itself leaves out of the curve its ED/ES come from
    (frame_quality.spike_frames: a one-frame drop-out of the mask is no beat's smallest cavity)."""
    a = without_spikes(np.asarray(area, dtype=np.float64), spikes)
    es_r, ed_r = [], []
    for b in beats:
        if not (b.trusted and b.complete):
            continue
        span = a[b.ed_frame:b.next_ed_frame + 1]
        span = span[np.isfinite(span)]
        if span.size == 0 or not np.isfinite(a[b.es_frame]) or not np.isfinite(a[b.ed_frame]):
            continue
        es_r.append(float(a[b.es_frame] / span.min()))
        ed_r.append(float(a[b.ed_frame] / span.max()))
    return tuple(es_r), tuple(ed_r)


def score_clip(path: Path, ref: ClipRef) -> ClipScore:
    """The shipped analysis of one clip (as `analyze PATH --view a4c --no-strain`), scored."""
    from app.tasks import run_task
    from app.workflow.analyze import AnalysisOptions, analyze_file

    try:
        result = run_task(analyze_file(path, AnalysisOptions(view="a4c", strain=False)))
    except Exception as exc:  # noqa: BLE001 - one clip's failure is reported, the others still run
        return ClipScore(ref.name, ref.ef_pct, None, "", "", 0, 0, (), (), "", 0.0, (), f"{type(exc).__name__}: {exc}")
    m = result.measurements
    es_r, ed_r = beat_extreme_ratios(m.area_curve_px2, m.beats, spike_frames(m.quality))
    vc = result.view_check
    return ClipScore(ref.name, ref.ef_pct, m.ef_pct, result.ed_es_method, result.ed_es_fallback, len(m.beats),
                     sum(1 for b in m.beats if b.trusted), es_r, ed_r, vc.view if vc else "",
                     float(vc.probability) if vc else 0.0, tuple(m.notes),
                     trusted_beats=tuple((b.ed_frame, b.es_frame) for b in m.beats if b.trusted),
                     beat_efs=tuple(round(float(b.ef_pct), 2) for b in m.beats if b.trusted and b.ef_pct is not None),
                     heart_rate_bpm=_r(m.heart_rate_bpm, 1) if m.heart_rate_bpm is not None else None,
                     curve_rate_bpm=curve_rate_bpm(m.area_curve_px2, result.recording.frame_rate_hz))


def curve_rate_bpm(area: np.ndarray, frame_rate_hz: float | None) -> float | None:
    """The (T,) LV area curve's own beat rate (bpm) from its beat period as the ED/ES step finds it
    (beat_period_frames); None without timing or a clear period."""
    a = np.asarray(area, dtype=np.float64)
    if not frame_rate_hz or np.isfinite(a).sum() < 3:
        return None
    period = beat_period_frames(smooth_curve(a, frame_rate_hz), frame_rate_hz)
    return None if period is None else _r(60.0 * frame_rate_hz / period, 1)


def _score_worker(args: tuple[str, ClipRef]) -> ClipScore:
    from app.ml.device import set_threads

    set_threads(1)
    return score_clip(Path(args[0]), args[1])


def score_clips(root: Path, refs: list[ClipRef], workers: int = 1) -> list[ClipScore]:
    """Every clip scored, in FileList order; `workers` processes of one thread each (1: in this process)."""
    jobs = [(str(root / r.name), r) for r in refs]
    if workers <= 1:
        return [score_clip(Path(p), r) for p, r in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_score_worker, jobs))


def summarise(scores: list[ClipScore]) -> dict:
    """The figures of the issue: EF agreement, ES/ED placement, ED/ES method, view calls."""
    scored = [s for s in scores if s.ef_error is not None]
    err = np.array([s.ef_error for s in scored], dtype=np.float64)
    ours = np.array([s.ef_pct for s in scored], dtype=np.float64)
    ref = np.array([s.ref_ef_pct for s in scored], dtype=np.float64)
    es_r = np.array([r for s in scores for r in s.es_ratios])
    ed_r = np.array([r for s in scores for r in s.ed_ratios])
    sd = float(err.std(ddof=1)) if err.size > 1 else float("nan")
    bias = float(err.mean()) if err.size else float("nan")
    methods: dict[str, int] = {}
    for s in scores:
        methods[s.ed_es_method or "failed"] = methods.get(s.ed_es_method or "failed", 0) + 1
    n = len(scores)
    return {
        "n": n, "scored": len(scored), "no_ef": [s.name for s in scores if s.ef_error is None],
        "ef_mae_pts": _r(np.abs(err).mean() if err.size else float("nan")),
        "ef_mae_ci95_pts": mae_interval(err),
        "ef_bias_pts": _r(bias), "ef_sd_pts": _r(sd),
        "ef_loa_pts": [_r(bias - 1.96 * sd), _r(bias + 1.96 * sd)],
        "ef_r": _r(np.corrcoef(ours, ref)[0, 1] if err.size > 2 else float("nan"), 3),
        "within_5_pts": _r(float(np.mean(np.abs(err) <= WITHIN_PTS)) if err.size else float("nan"), 3),
        "es_area_over_beat_min": _r(es_r.mean() if es_r.size else float("nan"), 3),
        "es_area_over_beat_min_median": _r(np.median(es_r) if es_r.size else float("nan"), 3),
        "es_beats_over_5pct": _r(float(np.mean(es_r > 1.05)) if es_r.size else float("nan"), 3),
        "ed_area_over_beat_max": _r(ed_r.mean() if ed_r.size else float("nan"), 3),
        "beat_ef_sd_within_clip_pts": beat_spread(scores),
        "beats_trusted": int(sum(s.n_trusted for s in scores)), "beats": int(sum(s.n_beats for s in scores)),
        "ed_es_methods": methods,
        "tempreg_set_aside": sum(1 for s in scores if s.ed_es_fallback),
        "view_not_a4c": sum(1 for s in scores if s.view and s.view != "a4c"),
        "view_below_0_8": sum(1 for s in scores if s.view == "a4c" and s.view_probability < CONFIDENT_VIEW),
        "view_warnings": sum(1 for s in scores if s.view and s.view != "a4c" and s.view_probability >= CONFIDENT_VIEW),
        "view_unchecked": sum(1 for s in scores if not s.view),
        **heart_rate_agreement(scores),
    }


def heart_rate_agreement(scores: list[ClipScore]) -> dict:
    """How many clips with both rates have a heart rate within HEART_RATE_AGREEMENT of the curve's own, and which
    do not (name, ours, the curve's)."""
    lo, hi = HEART_RATE_AGREEMENT
    both = [s for s in scores if s.heart_rate_bpm and s.curve_rate_bpm]
    off = [[s.name, s.heart_rate_bpm, s.curve_rate_bpm] for s in both
           if not lo <= s.heart_rate_bpm / s.curve_rate_bpm <= hi]
    return {"heart_rate_with_curve_rate": len(both), "heart_rate_off_curve_rate": off}


def beat_spread(scores: list[ClipScore]) -> float | None:
    """The SD of the trusted beats' EF about their clip's mean, pooled over clips with two or more (None without):
    how far one beat's EF strays from the clip's. The expert's EF is one beat's and ours the mean of the clip's
    trusted beats (app.analysis.beat_trust.over_beats), so this spread (beat-to-beat variation and our per-beat
    noise together) is part of any EF error."""
    groups = [np.asarray(s.beat_efs, dtype=np.float64) for s in scores if len(s.beat_efs) >= 2]
    dof = sum(g.size - 1 for g in groups)
    if not dof:
        return None
    return _r(np.sqrt(sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / dof))


def mae_interval(err: np.ndarray, seed: int = 0) -> list[float | None]:
    """The bootstrap 95 % interval of the mean absolute error over these clips (clips resampled; None under 3):
    how far another sample of as many clips could put the same pipeline's MAE."""
    from lab.evaluation.patient_agreement import bootstrap_mean_interval

    if err.size < 3:
        return [None, None]
    low, high = bootstrap_mean_interval(np.abs(err), seed)
    return [_r(low), _r(high)]


def read_scores(path: Path) -> list[ClipScore]:
    """The per-clip scores of an earlier `--json` run."""
    out = []
    for clip in json.loads(path.read_text(encoding="utf-8"))["clips"]:
        fields = {k: v for k, v in clip.items() if k != "ef_error"}
        for key in ("es_ratios", "ed_ratios", "notes", "beat_efs"):
            fields[key] = tuple(fields.get(key, ()))
        fields["trusted_beats"] = tuple(tuple(b) for b in fields.get("trusted_beats", ()))
        out.append(ClipScore(**fields))
    return out


def _r(value, nd: int = 2):
    value = float(value)
    return round(value, nd) if np.isfinite(value) else None


def format_table(scores: list[ClipScore]) -> str:
    lines = [f"{'clip':<22} {'expert':>6} {'ours':>6} {'err':>6} {'beats':>5} {'ES/min':>6} {'ED/max':>6} "
             f"{'view':>9}  ED/ES method (why set aside)"]
    for s in scores:
        ef = "-" if s.ef_pct is None else f"{s.ef_pct:.1f}"
        err = "-" if s.ef_error is None else f"{s.ef_error:+.1f}"
        es = f"{np.mean(s.es_ratios):.3f}" if s.es_ratios else "-"
        ed = f"{np.mean(s.ed_ratios):.3f}" if s.ed_ratios else "-"
        why = f" ({s.ed_es_fallback})" if s.ed_es_fallback else ""
        lines.append(f"{s.name[:22]:<22} {s.ref_ef_pct:>6.1f} {ef:>6} {err:>6} {s.n_trusted:>2}/{s.n_beats:<2} "
                     f"{es:>6} {ed:>6} {s.view:>4} {s.view_probability:.2f}  {s.ed_es_method or s.error}{why}")
    return "\n".join(lines)


def format_summary(s: dict) -> str:
    low, high = s.get("ef_mae_ci95_pts") or (None, None)
    interval = f" (95 % interval {low} .. {high})" if low is not None else ""
    return (f"clips {s['n']} (EF in {s['scored']}): EF MAE {s['ef_mae_pts']} pts{interval}, bias {s['ef_bias_pts']:+} "
            f"(SD {s['ef_sd_pts']}, limits of agreement {s['ef_loa_pts'][0]} .. {s['ef_loa_pts'][1]}), "
            f"r {s['ef_r']}, within 5 pts {s['within_5_pts']}\n"
            f"ES area / beat's smallest {s['es_area_over_beat_min']} (median {s['es_area_over_beat_min_median']}, "
            f"beats > 5 % above: "
            f"{s['es_beats_over_5pct']}), ED area / beat's largest {s['ed_area_over_beat_max']}; "
            f"beats trusted {s['beats_trusted']} of {s['beats']}"
            + (f" (a beat's EF about its clip's: SD {s['beat_ef_sd_within_clip_pts']} pts)"
               if s.get("beat_ef_sd_within_clip_pts") is not None else "") + "\n"
            f"ED/ES methods {s['ed_es_methods']}, TempReg-Net set aside in {s['tempreg_set_aside']}; view classifier: "
            f"not A4C in {s['view_not_a4c']} (a warning, p >= 0.8, in {s['view_warnings']}), A4C with p < 0.8 in "
            f"{s['view_below_0_8']}"
            + (f"\nheart rate within {HEART_RATE_AGREEMENT[0]}-{HEART_RATE_AGREEMENT[1]}x the LV curve's own rate in "
               f"{s['heart_rate_with_curve_rate'] - len(s['heart_rate_off_curve_rate'])} of "
               f"{s['heart_rate_with_curve_rate']} clips" + "".join(
                   f"; {n} {ours:.0f} bpm (curve {curve:.0f})" for n, ours, curve in s['heart_rate_off_curve_rate'])
               if s.get("heart_rate_with_curve_rate") else ""))


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="cardiotrace evaluate echo-clips", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="folder with the AVIs and FileList.csv")
    p.add_argument("--clips", type=Path, default=None, help="only the clips named in this file (one a line)")
    p.add_argument("--limit", type=int, default=None, help="first N clips only")
    p.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)),
                   help="processes of one thread each")
    p.add_argument("--json", type=output_file, default=None, help="also write the summary and per-clip scores here")
    p.add_argument("--quiet", action="store_true", help="the summary only, no per-clip table")
    p.add_argument("--pool", type=Path, nargs="+", default=None, metavar="JSON",
                   help="run nothing: the summary of the clips of earlier --json runs together (the folds of a "
                        "cross-validation, each scored by the model that did not train on it)")
    p.add_argument("--compare-with", type=Path, nargs="+", default=None, metavar="JSON",
                   help="--json runs of another model or code (its folds together): how the clips' EF errors agree "
                        "clip by clip, with a bootstrap interval of the MAE change (lab.evaluation.patient_agreement)")
    args = p.parse_args(argv)
    before = [s for path in args.compare_with for s in _read_or_exit(path)] if args.compare_with else None
    if args.pool:
        scores = [s for path in args.pool for s in _read_or_exit(path)]
        return _report(scores, args, before)
    try:
        refs = read_file_list(args.data)
    except FileNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    if args.clips is not None:
        wanted = _clip_names(args.clips)
        refs = [r for r in refs if r.name in wanted]
        if not refs:
            raise SystemExit(f"none of the {len(wanted)} clip names in {args.clips} is in {args.data}/FileList.csv")
    refs = refs[: args.limit]
    if not refs:
        raise SystemExit(f"no clip to evaluate in {args.data}")
    return _report(score_clips(args.data, refs, args.workers), args, before)


def _clip_names(path: Path) -> set[str]:
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"--clips {path}: cannot read the clip names ({exc})") from None


def _read_or_exit(path: Path) -> list[ClipScore]:
    try:
        return read_scores(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"cannot read the clip scores in {path}: {exc}") from None


def clip_agreement(scores: list[ClipScore], before: list[ClipScore]):
    """The Agreement of two runs' EF errors on the clips both gave an EF (None below 3 such clips)."""
    from lab.evaluation.patient_agreement import compare

    def errors(runs: list[ClipScore]) -> dict[str, float]:
        return {s.name: float(s.ef_error) for s in runs if s.ef_error is not None}

    return compare("echonet_clips", "pipeline", "ef_pct", errors(scores), errors(before))


def _report(scores: list[ClipScore], args, before: list[ClipScore] | None = None) -> int:
    summary = summarise(scores)
    if not args.quiet:
        print(format_table(scores))
    print(format_summary(summary))
    if before is not None:
        from lab.evaluation.patient_agreement import format_agreement

        found = clip_agreement(scores, before)
        print(format_agreement([found] if found is not None else []))
    if args.json:
        write_json(args.json, {"summary": summary, "clips": [{**asdict(s), "ef_error": s.ef_error} for s in scores]})
    return 0
