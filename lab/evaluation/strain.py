"""`cardiotrace evaluate strain`: strain pipeline against the phantom's exact truth.

Phantom echo clips of every quality and apical view (some with a hypokinetic segment) are rendered;
the strain pipeline runs on the true label maps (so the score isolates motion estimation + Kalman
fusion from segmentation) with classical (OpenCV DIS) and, when installed, learned motion. Reported:
peak systolic GLS bias +- SD against the truth (per quality and overall), mean absolute segmental
peak error, whether the least-shortening segment is the hypokinetic one, endpoint error of the
frame-to-frame flow at myocardial material points, and ms per frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from app.analysis.motion_classical import ClassicalFlow, sample_field
from app.analysis.strain import beat_windows, peak_systolic_pct
from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file
from app.workflow.strain_pipeline import run_strain, unit_frames

QUALITIES = ("excellent", "good", "fair", "poor")
VIEWS = ("a4c", "a2c", "a3c")
HYPOKINETIC = {"a4c": "mid_anterolateral", "a2c": "apical_anterior", "a3c": "mid_inferolateral"}


@dataclass(frozen=True)
class CaseScore:
    """One phantom clip scored with one motion estimator."""

    case: str
    quality: str
    view: str
    motion: str
    gls_pct: float
    truth_gls_pct: float
    segment_mae_pct: float
    hypokinetic_index: int | None
    least_shortening_index: int
    low_quality_segments: tuple[str, ...]
    epe_px: float
    ms_per_frame: float
    size_px: int = 224  # the square phantom's side: its pixel size is the sector depth over it
    pixel_mm: float = float("nan")  # that pixel size

    @property
    def gls_error_pct(self) -> float:
        return self.gls_pct - self.truth_gls_pct


def phantom_cases(n_cases: int, seed: int = 0, frame_rate_hz: float = 40.0, shape_px=(224, 224)):
    """Yield (name, quality, view, hypokinetic index or None, PhantomCase) cycling quality x view; the same hearts
    for every shape_px (the same seed), so sizes compare the pixel size alone."""
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    rng = np.random.default_rng(seed)
    for k in range(n_cases):
        quality, view = QUALITIES[k % 4], VIEWS[(k // 4) % 3]
        hypo = (HYPOKINETIC[view],) if k % 2 == 1 else ()
        edv = float(rng.uniform(90, 170))
        esv = edv * float(rng.uniform(0.35, 0.6))
        heart = HeartParams(edv_ml=edv, esv_ml=esv, heart_rate_bpm=float(rng.uniform(55, 85)), hypokinetic=hypo)
        params = EchoPhantomParams(heart=heart, view=view, beats=1, quality=quality, frame_rate_hz=frame_rate_hz,
                                   image_shape_px=shape_px)
        case = make_echo(params, seed=seed + k)
        names = case.truth.segment_names
        yield f"{view}-{quality}-{k}", quality, view, (names.index(hypo[0]) if hypo else None), case


class _CachedFlow:
    """Remembers the flow of each frame pair so the EPE pass reuses the strain run's fields."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self.name = getattr(estimator, "name", "flow")
        self._cache: dict = {}

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        key = (first[::7, ::7].tobytes(), second[::7, ::7].tobytes())
        if key not in self._cache:
            self._cache[key] = self.estimator(first, second)
        return self._cache[key]


def flow_epe_px(frames_unit: np.ndarray, truth, estimator) -> float:
    """Mean endpoint error (px) of frame t -> t+1 flow at the myocardial material points of the truth."""
    ref = truth.reference_frame
    myo = truth.labels[ref] == 2
    origin = np.argwhere(myo).astype(np.float64)  # (row, col)
    errs = []
    for t in range(len(frames_unit) - 1):
        d0, d1 = truth.displacement_px[t][myo], truth.displacement_px[t + 1][myo]
        pos = origin + d0
        flow = estimator(frames_unit[t], frames_unit[t + 1])
        pred = sample_field(flow, pos[:, ::-1])
        errs.append(np.linalg.norm(pred - (d1 - d0)[:, ::-1], axis=1).mean())
    return float(np.mean(errs))


def score_case(name, quality, view, hypo_index, case, motion: str, estimator, size_px: int = 224) -> CaseScore:
    rec, truth = case.recording, case.truth
    estimator = _CachedFlow(estimator)
    t0 = time.perf_counter()
    res = run_strain(rec, truth.labels, truth.ed_frames, es_frames=truth.es_frames, flow_estimator=estimator,
                     motion=motion)
    ms = 1000.0 * (time.perf_counter() - t0) / rec.n_frames
    windows = beat_windows(rec.n_frames, truth.ed_frames, truth.es_frames)
    truth_gls = float(peak_systolic_pct(truth.gls_pct, windows))
    truth_seg = np.asarray(peak_systolic_pct(truth.segmental_strain_pct, windows))
    seg = np.array([np.nan if v is None else v for v in res.segment_peak_pct])
    return CaseScore(
        case=name, quality=quality, view=view, motion=motion, gls_pct=float(res.gls_pct), truth_gls_pct=truth_gls,
        segment_mae_pct=float(np.nanmean(np.abs(seg - truth_seg))), hypokinetic_index=hypo_index,
        least_shortening_index=int(np.nanargmax(seg)), low_quality_segments=res.low_quality_segments,
        epe_px=flow_epe_px(unit_frames(rec, 0), truth, estimator), ms_per_frame=ms, size_px=size_px,
        pixel_mm=round(float(np.mean(rec.spacing_mm)), 3),
    )


def _bias_sd(key: str, scores: list[CaseScore]) -> dict:
    err = np.array([s.gls_error_pct for s in scores])
    if not len(err):
        return {f"{key}_bias_pct": None, f"{key}_sd_pct": None}
    return {f"{key}_bias_pct": round(float(err.mean()), 3),
            f"{key}_sd_pct": round(float(err.std(ddof=1)) if len(err) > 1 else 0.0, 3)}


def summarise(scores: list[CaseScore]) -> dict:
    """Per motion: GLS bias/SD overall and per quality, segment MAE, hypokinetic hits, EPE, speed."""
    out = {}
    for motion in sorted({s.motion for s in scores}):
        ss = [s for s in scores if s.motion == motion]
        hypo = [s for s in ss if s.hypokinetic_index is not None]
        normal = [s for s in ss if s.hypokinetic_index is None]
        out[motion] = {
            "cases": len(ss),
            **_bias_sd("gls", ss),
            **_bias_sd("gls_normal", normal),
            **_bias_sd("gls_hypokinetic", hypo),
            "gls_bias_by_quality": {
                q: round(float(np.mean([s.gls_error_pct for s in ss if s.quality == q])), 3)
                for q in QUALITIES if any(s.quality == q for s in ss)
            },
            "gls_bias_by_size_px": {
                size: round(float(np.mean([s.gls_error_pct for s in ss if s.size_px == size])), 3)
                for size in sorted({s.size_px for s in ss})
            },
            "gls_abs_error_by_size_px": {
                size: round(float(np.mean([abs(s.gls_error_pct) for s in ss if s.size_px == size])), 3)
                for size in sorted({s.size_px for s in ss})
            },
            "segment_mae_pct": round(float(np.mean([s.segment_mae_pct for s in ss])), 3),
            "hypokinetic_found": f"{sum(s.least_shortening_index == s.hypokinetic_index for s in hypo)}/{len(hypo)}",
            "flow_epe_px": round(float(np.mean([s.epe_px for s in ss])), 4),
            "ms_per_frame": round(float(np.median([s.ms_per_frame for s in ss])), 2),
        }
    return out


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace evaluate strain", description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=12, help="phantom clips (cycling quality x view)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sizes", default="224",
                   help="square phantom sides in px, comma-separated (the sector's depth over them: 224 px about "
                        "0.9 mm pixels; 160,224,300,384 spans 1.3-0.55 mm, the strain grid included): the same hearts "
                        "at each")
    p.add_argument("--motion", choices=("both", "classical", "learned"), default="both")
    p.add_argument("--json", type=output_file, default=None, help="write the scores here")
    return p


def _estimators(which: str) -> dict:
    out = {}
    if which in ("both", "classical"):
        out["classical"] = ClassicalFlow("dis")
    if which in ("both", "learned"):
        try:
            from app.ml.motion import load_learned_flow

            out["learned"] = load_learned_flow()
        except Exception as exc:  # noqa: BLE001 - a missing model only drops that column
            if which == "learned":
                raise SystemExit(f"learned motion model not available: {exc}") from None
            print(f"(learned motion skipped: {exc})", file=sys.stderr)
    return out


def _pm(d: dict, key: str) -> str:
    bias, sd = d[f"{key}_bias_pct"], d[f"{key}_sd_pct"]
    return "n/a" if bias is None else f"{bias:+.2f} +- {sd:.2f}"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cases < 1:
        raise SystemExit("evaluate strain: --cases must be at least 1")
    try:
        sizes = [int(v) for v in args.sizes.split(",")]
    except ValueError:
        raise SystemExit(f"evaluate strain: --sizes takes whole pixel counts, got {args.sizes!r}") from None
    if not sizes or min(sizes) < 96 or max(sizes) > 1024:
        raise SystemExit("evaluate strain: --sizes must be 96-1024 px each")
    estimators = _estimators(args.motion)
    scores: list[CaseScore] = []
    print(
        f"{'case':<20} {'motion':<10} {'GLS':>7} {'truth':>7} {'err':>6} {'segMAE':>6} {'hypo':>9} {'EPE':>6} "
        f"{'ms/f':>6}"
    )
    cases = ((side, item) for side in sizes for item in phantom_cases(args.cases, args.seed, shape_px=(side, side)))
    for size, (name, quality, view, hypo, case) in cases:
        name = name if len(sizes) == 1 else f"{name}@{size}"
        for motion, est in estimators.items():
            s = score_case(name, quality, view, hypo, case, motion, est, size)
            scores.append(s)
            hit = "-" if hypo is None else ("found" if s.least_shortening_index == hypo else "MISSED")
            print(f"{name:<20} {motion:<10} {s.gls_pct:7.2f} {s.truth_gls_pct:7.2f} {s.gls_error_pct:6.2f} "
                  f"{s.segment_mae_pct:6.2f} {hit:>9} {s.epe_px:6.3f} {s.ms_per_frame:6.1f}", flush=True)
    summary = summarise(scores)
    for motion, d in summary.items():
        print(f"{motion}: GLS bias {_pm(d, 'gls')} strain points over {d['cases']} clips "
              f"(normal motion {_pm(d, 'gls_normal')}, with a hypokinetic segment {_pm(d, 'gls_hypokinetic')}); "
              f"segment MAE {d['segment_mae_pct']:.2f}; hypokinetic found {d['hypokinetic_found']}; "
              f"flow EPE {d['flow_epe_px']:.3f} px; {d['ms_per_frame']:.1f} ms/frame")
        if len(sizes) > 1:
            pixel_mm = {s.size_px: s.pixel_mm for s in scores}
            print(f"{motion}: GLS bias / mean absolute error by phantom size: " + ", ".join(
                f"{size} px ({pixel_mm[size]:.2f} mm) {d['gls_bias_by_size_px'][size]:+.2f} / "
                f"{d['gls_abs_error_by_size_px'][size]:.2f}" for size in sizes))
    if args.json:
        write_json(args.json, {"summary": summary,
                               "cases": [s.__dict__ | {"gls_error_pct": s.gls_error_pct} for s in scores]})
    return 0
