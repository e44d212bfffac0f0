"""`cardiotrace evaluate volumes`: LV volumes and EF end to end on phantom clips, against exact truth.

Unlike benchmarks/measurements.py (truth labels in, so it scores contours + disks + ED/ES only), this
runs the whole pipeline a user gets: the segmentation network (`--segmenter temporal|base|base-wma|base-c3|base-c5`, or
`truth` for the reference), contours, ED/ES detection, disks and beats. Clips vary in view (A4C/A2C), EF, EDV,
heart rate, frame rate, start phase and image quality; none of them is a training clip (seeds from
--seed). Reported per clip and overall: EDV/ESV error (%), EF error (points) as bias +- SD and mean
absolute error, the share of clips with |EF error| <= 3 points, and the ED/ES frame differences; how often
the ED/ES model was set aside for the area curve (`set_aside`) and the shortest beat reported (`min_rr_s`).
--degrade 112: every clip (and its truth labels) first degraded as a clinical video export fitted into
112 x 112 px (lab.data.degrade.clinical_export: MJPEG, depth cut), as real clinical clips reach the app.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file

VIEWS = ("a4c", "a2c")
# name -> (network, causal WMA window, centred window) as lab.evaluation.offline_segmentation takes them
SEGMENTERS = {"temporal": ("temporal", 0, 0), "base": ("base", 0, 0), "base-wma": ("base", 6, 0),
              "base-c3": ("base", 0, 3), "base-c5": ("base", 0, 5)}
QUALITIES = ("good", "fair", "excellent", "poor")


@dataclass(frozen=True)
class VolumeScore:
    """One phantom clip analyzed by one segmenter."""

    case: str
    segmenter: str
    view: str
    quality: str
    true_ef_pct: float
    ef_pct: float
    edv_err_pct: float
    esv_err_pct: float
    ed_frame_diff: float
    es_frame_diff: float
    ed_es_method: str
    min_rr_s: float = float("nan")  # the shortest complete beat reported (NaN: none)

    @property
    def ef_err_pct(self) -> float:
        return self.ef_pct - self.true_ef_pct


def phantom_clips(n_cases: int, seed: int):
    """Yield (name, view, quality, PhantomCase): varied hearts, views, timing and quality."""
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    rng = np.random.default_rng(seed)
    for k in range(n_cases):
        view, quality = VIEWS[k % 2], QUALITIES[(k // 2) % 4]
        edv = float(rng.uniform(90, 200))
        ef = float(rng.uniform(25, 70))
        heart = HeartParams(edv_ml=edv, esv_ml=edv * (1 - ef / 100), heart_rate_bpm=float(rng.uniform(55, 100)),
                            start_phase=float(rng.uniform(0, 0.99)))
        params = EchoPhantomParams(heart=heart, view=view, beats=2, frame_rate_hz=float(rng.choice([30.0, 40.0, 50.0])),
                                   image_shape_px=(224, 224), quality=quality)
        yield f"clip{k:02d}", view, quality, make_echo(params, seed=int(rng.integers(1 << 30)))


def _segmenter(name: str, truth_labels):
    if name == "truth":
        return (lambda rec: truth_labels), "truth"
    from lab.evaluation.offline_segmentation import segment_offline

    model, wma, centred = SEGMENTERS[name]

    def run(rec, cancel=None):
        yield from segment_offline(rec, model, cancel=cancel, wma_window=wma, centred_window=centred)

    return run, f"echo_seg_{name}"


def _nearest_diff(found, truth) -> float:
    if not len(truth) or not len(found):
        return float("nan")
    return float(np.mean([min(abs(int(f) - int(t)) for f in found) for t in truth]))


def score_clip(name: str, view: str, quality: str, case, segmenter: str, degrade_px: int = 0) -> VolumeScore:
    from app.tasks import run_task as run_to_completion
    from app.workflow.analyze import analyze_recording

    truth = case.truth
    recording, labels = case.recording, truth.labels
    if degrade_px:
        from lab.data.degrade import clinical_export, degrade_recording

        recording, labels = degrade_recording(recording, clinical_export(degrade_px), labels)
    fn, label = _segmenter(segmenter, labels)
    analysis = run_to_completion(analyze_recording(recording, segmenter=fn, segmenter_name=label))
    m = analysis.measurements
    true_edv = float(np.mean(truth.volume_ml[list(truth.ed_frames)]))
    true_esv = float(np.mean(truth.volume_ml[list(truth.es_frames)]))
    nan = float("nan")
    return VolumeScore(
        case=name, segmenter=segmenter, view=view, quality=quality,
        true_ef_pct=100 * (1 - true_esv / true_edv),
        ef_pct=float(m.ef_pct) if m.ef_pct is not None else nan,
        edv_err_pct=100 * (m.edv_ml / true_edv - 1) if m.edv_ml else nan,
        esv_err_pct=100 * (m.esv_ml / true_esv - 1) if m.esv_ml else nan,
        ed_frame_diff=_nearest_diff(m.ed_frames, truth.ed_frames),
        es_frame_diff=_nearest_diff(m.es_frames, truth.es_frames),
        ed_es_method=str(getattr(analysis, "ed_es_method", "")),
        min_rr_s=min((b.rr_s for b in m.beats if b.rr_s), default=nan),
    )


def summarise(scores: list[VolumeScore]) -> dict:
    """Bias, SD, mean absolute error and share within 3 points, per segmenter."""
    out = {}
    for seg in sorted({s.segmenter for s in scores}):
        rows = [s for s in scores if s.segmenter == seg]
        ef = np.array([s.ef_err_pct for s in rows])
        ok = ef[np.isfinite(ef)]
        out[seg] = {
            "clips": len(rows), "ef_missing": int(len(rows) - len(ok)),
            "ef_bias": float(np.mean(ok)) if len(ok) else None,
            "ef_sd": float(np.std(ok, ddof=1)) if len(ok) > 1 else None,
            "ef_mae": float(np.mean(np.abs(ok))) if len(ok) else None,
            "ef_within_3_share": float(np.mean(np.abs(ok) <= 3)) if len(ok) else None,
            "edv_err_pct_mean": float(np.nanmean([s.edv_err_pct for s in rows])),
            "esv_err_pct_mean": float(np.nanmean([s.esv_err_pct for s in rows])),
            "ed_afd": float(np.nanmean([s.ed_frame_diff for s in rows])),
            "es_afd": float(np.nanmean([s.es_frame_diff for s in rows])),
            "set_aside": int(sum(s.ed_es_method == "area_curve" for s in rows)),
            "min_rr_s": float(np.nanmin([s.min_rr_s for s in rows])) if np.isfinite([s.min_rr_s for s in rows]).any()
            else None,
        }
    return out


def _print_table(scores: list[VolumeScore], summary: dict) -> None:
    print(f"{'clip':7} {'seg':8} {'view':4} {'quality':9} {'EF true':>7} {'EF':>6} {'dEF':>6} "
          f"{'dEDV%':>6} {'dESV%':>6} {'dED':>4} {'dES':>4}  ED/ES method")
    for s in scores:
        print(f"{s.case:7} {s.segmenter:8} {s.view:4} {s.quality:9} {s.true_ef_pct:7.1f} {s.ef_pct:6.1f} "
              f"{s.ef_err_pct:+6.1f} {s.edv_err_pct:+6.1f} {s.esv_err_pct:+6.1f} {s.ed_frame_diff:4.1f} "
              f"{s.es_frame_diff:4.1f}  {s.ed_es_method}")
    print()
    print(f"{'segmenter':9} {'EF bias':>8} {'SD':>5} {'MAE':>5} {'<=3 pts':>8} {'EDV %':>6} {'ESV %':>6} "
          f"{'ED aFD':>6} {'ES aFD':>6} {'set aside':>9} {'min RR s':>8}")
    for seg, v in summary.items():
        def f(x, fmt):
            return format(x, fmt) if x is not None else "-"
        print(f"{seg:9} {f(v['ef_bias'], '+8.2f')} {f(v['ef_sd'], '5.2f')} {f(v['ef_mae'], '5.2f')} "
              f"{f(v['ef_within_3_share'], '8.0%')} {v['edv_err_pct_mean']:+6.1f} {v['esv_err_pct_mean']:+6.1f} "
              f"{v['ed_afd']:6.2f} {v['es_afd']:6.2f} {v['set_aside']:>5}/{v['clips']:<3} {f(v['min_rr_s'], '8.2f')}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="cardiotrace evaluate volumes", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=12, help="phantom clips (alternating A4C/A2C)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the clips (not a training seed)")
    parser.add_argument("--segmenter", nargs="+", default=["truth", "temporal", "base"],
                        choices=["truth", *SEGMENTERS], help="segmenters to compare")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: library default)")
    parser.add_argument("--json", type=output_file, help="also write the scores and summary here")
    parser.add_argument("--degrade", type=int, default=0, metavar="PX",
                        help="degrade every clip as a clinical export fitted into PX x PX (e.g. 112) first")
    args = parser.parse_args(argv)
    if args.cases < 1:
        raise SystemExit("--cases must be at least 1")
    if args.threads:
        from app.ml.device import set_threads

        set_threads(args.threads)
    scores = []
    for name, view, quality, case in phantom_clips(args.cases, args.seed):
        for seg in args.segmenter:
            scores.append(score_clip(name, view, quality, case, seg, args.degrade))
    summary = summarise(scores)
    _print_table(scores, summary)
    if args.json:
        write_json(args.json, {"summary": summary,
                               "clips": [asdict(s) | {"ef_err_pct": s.ef_err_pct} for s in scores]}, indent=2)
    return 0
