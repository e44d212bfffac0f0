"""Score ED/ES detection: aFD (mean absolute frame difference) of TempReg-Net against baselines.

Also scored: "tempreg+area", TempReg's events with each ES refined on the LV area curve and clip-end
events from the curve (app.analysis.edes_fusion.fuse_with_curve). The area curve here is the phantom's truth (a perfect
segmentation); --segmented adds the same methods on our segmentation's curve (lab.evaluation.edes_seg).
Baselines on the same recordings: the extrema of the LV area curve (EchoNet-style, app.analysis.beats)
and, when the recording carries an ECG, the R peaks as ED. Each true ED/ES frame is matched to the
nearest detected frame of the same kind; a true event with no detection within MATCH_WINDOW_S is counted
as missed (not in the aFD), a detection with no true event within the window as extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from app.commands.usage import OneLineParser
from app.data.recording import Recording
from app.ml import DEFAULT_ECHO_MODEL
from app.paths import write_json
from app.report.cli_hooks import output_file
from lab.evaluation.edes_scoring import MATCH_WINDOW_S, MethodScore, area_curve_baseline
from lab.training.checkpoint import CHECKPOINTS_DIR


def ecg_r_peak_frames(recording: Recording) -> tuple[int, ...]:
    """Frames nearest the ECG R peaks (ED by the ECG definition); () when there is no ECG trace.

    recording.ecg is (2, N) of (time_s, value); R peaks are prominent maxima at least 0.3 s apart.
    """
    if recording.ecg is None or recording.n_frames < 2:
        return ()
    t, v = np.asarray(recording.ecg[0], float), np.asarray(recording.ecg[1], float)
    if len(t) < 3:
        return ()
    dt = float(np.median(np.diff(t)))
    span = float(np.percentile(v, 99) - np.percentile(v, 1))
    if dt <= 0 or span <= 0:
        return ()
    peaks, _ = find_peaks(v, distance=max(1, int(0.3 / dt)), prominence=0.5 * span)
    times = recording.frame_times_s
    frames = []
    for p in peaks:
        if times[0] - 0.5 / (recording.frame_rate_hz or 1.0) <= t[p] <= times[-1]:
            frames.append(int(np.argmin(np.abs(times - t[p]))))
    return tuple(sorted(set(frames)))


EVAL_SEEDS = {"echo": 300_000, "mri": 310_000}  # disjoint from training (100000+) and validation (200000+)
EVAL_CACHE = CHECKPOINTS_DIR / "ed_es_eval"


def truth_area_curve(truth, slice_index: int) -> np.ndarray:
    """(T,) LV cavity area in pixels of the truth labels (one slice of an MR stack)."""
    labels = truth.labels[slice_index] if truth.labels.ndim == 4 else truth.labels
    return (labels == 1).reshape(len(labels), -1).sum(axis=1).astype(np.float64)


@dataclass(frozen=True)
class EvalCase:
    """A rendered phantom reduced to what scoring needs.

    clip: (T, S, S) uint8 net input (prepare_clip); area_px: (T,) truth LV cavity area of the slice;
    r_peaks: ECG R-peak frames, or None without an ECG.
    """

    seed: int
    modality: str
    clip: np.ndarray
    area_px: np.ndarray
    frame_rate_hz: float
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    r_peaks: tuple[int, ...] | None


def render_eval_case(seed: int, modality: str, size: int = 64) -> EvalCase:
    from app.ml.edes import default_slice, prepare_clip
    from lab.training.tempreg_phantom import make_case

    case = make_case(seed, modality)
    rec, truth = case.recording, case.truth
    index = default_slice(rec)
    clip = np.clip(prepare_clip(rec, index, size) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return EvalCase(seed, modality, clip, truth_area_curve(truth, index), float(rec.frame_rate_hz or 1.0),
                    tuple(truth.ed_frames), tuple(truth.es_frames),
                    ecg_r_peak_frames(rec) if rec.ecg is not None else None)


def load_or_render(seed: int, modality: str, cache_dir: Path | None) -> EvalCase:
    """The evaluation case from cache_dir/<modality>_<seed>.npz, rendering (and caching) it if absent."""
    path = cache_dir / f"{modality}_{seed}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as d:
            r = tuple(int(v) for v in d["r_peaks"]) if bool(d["has_ecg"]) else None
            return EvalCase(seed, modality, d["clip"], d["area_px"], float(d["frame_rate_hz"]),
                            tuple(int(v) for v in d["ed"]), tuple(int(v) for v in d["es"]), r)
    case = render_eval_case(seed, modality)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, clip=case.clip, area_px=case.area_px, frame_rate_hz=case.frame_rate_hz,
                 ed=np.array(case.ed_frames, int), es=np.array(case.es_frames, int),
                 r_peaks=np.array(case.r_peaks or (), int), has_ecg=case.r_peaks is not None)
        tmp.replace(path)
    return case


def evaluate_phantoms(n_echo: int, n_mri: int, model, device=None, log=None,
                      cache_dir: Path | None = EVAL_CACHE, segmented: bool = False, seg_model: str = "base") -> dict:
    """aFD of TempReg-Net, TempReg refined on the area curve ("tempreg+area", app.analysis.edes_fusion.fuse_with_curve),
    the truth-area-curve extrema and the ECG R peak on unseen phantom recordings.

    Returns {modality: {method: MethodScore.summary()}}; log(str) is called once per recording.
    Rendered phantoms are cached in cache_dir (None: always render). segmented: also score on the area
    curve of our segmentation models (lab.evaluation.edes_seg, the "|seg" methods).
    """
    from app.analysis.edes_fusion import FUSED_METHOD, fuse_with_curve
    from app.ml.edes import detect_in_clip
    from lab.evaluation.edes_seg import score_segmented

    results = {}
    for modality, count in (("echo", n_echo), ("mri", n_mri)):
        scores = {"tempreg": MethodScore(), FUSED_METHOD: MethodScore(), "area_curve": MethodScore(),
                  "ecg_r_peak": MethodScore()}
        for i in range(count):
            case = load_or_render(EVAL_SEEDS[modality] + i, modality, cache_dir)
            rate = case.frame_rate_hz
            det = detect_in_clip(model, case.clip.astype(np.float32) / 255.0, rate, device,
                                 modality=case.modality)
            scores["tempreg"].add(case.ed_frames, case.es_frames, det.ed_frames, det.es_frames, rate)
            fused = fuse_with_curve(det, case.area_px, rate)
            scores[FUSED_METHOD].add(case.ed_frames, case.es_frames, fused.ed_frames, fused.es_frames, rate)
            base_ed, base_es = area_curve_baseline(case.area_px, rate)
            scores["area_curve"].add(case.ed_frames, case.es_frames, base_ed, base_es, rate)
            if case.r_peaks is not None:
                scores["ecg_r_peak"].add(case.ed_frames, (), case.r_peaks, None, rate)
            seg = score_segmented(scores, case, det, cache_dir, seg_model) if segmented else ""
            if log:
                log(f"{modality} seed {case.seed}: {len(case.clip)} frames at {rate:.1f} Hz; truth ED "
                    f"{case.ed_frames} ES {case.es_frames}; tempreg ED {det.ed_frames} ES {det.es_frames}; "
                    f"fused ED {fused.ed_frames} ES {fused.es_frames}; area ED {base_ed} ES {base_es}; {seg}")
        results[modality] = {k: v.summary() for k, v in scores.items() if v.recordings}
    return results


def format_table(results: dict) -> str:
    """Plain-text table: modality, method, ED aFD (SD) and in ms, ES aFD (SD) and in ms, missed, extra."""
    lines = [f"{'data':6} {'method':17} {'ED aFD frames (SD), ms':>31} {'ES aFD frames (SD), ms':>31} "
             f"{'missed':>7} {'extra':>6} {'n rec':>6}"]

    def cell(d: dict) -> str:
        if d["afd"] is None:
            return "-"
        ms = "" if d.get("afd_ms") is None else f", {d['afd_ms']:.0f} ms"
        return f"{d['afd']:.3f} ({d['sd']:.3f}) n={d['n']}{ms}"

    for modality, methods in results.items():
        for name, s in methods.items():
            lines.append(f"{modality:6} {name:17} {cell(s['ed']):>31} {cell(s['es']):>31} {s['missed']:>7} "
                         f"{s['extra']:>6} {s['recordings']:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """`python -m app evaluate ed-es [--echo N] [--mri N] [--json PATH] [--write-metadata] [--verbose]`."""
    import time

    from app.ml.edes import MODEL_NAME, load_tempreg

    parser = OneLineParser(prog="cardiotrace evaluate ed-es")
    # 96 + 48 recordings: with 24 + 12 the ES aFD moved by 0.2 frames between disjoint draws of phantoms
    parser.add_argument("--echo", type=int, default=96, help="phantom echo recordings (seeds 300000+)")
    parser.add_argument("--mri", type=int, default=48, help="phantom cine-MR recordings (seeds 310000+)")
    parser.add_argument("--json", type=output_file, help="also write the results to this JSON file")
    parser.add_argument(
        "--write-metadata", action="store_true", help="store the results in the lab record lab/notes/ed_es.json"
    )
    parser.add_argument("--verbose", action="store_true", help="one line per recording")
    parser.add_argument("--no-cache", action="store_true", help="render every phantom again")
    parser.add_argument("--render-only", action="store_true", help="render and cache, do not score")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--segmented", action="store_true",
                        help="also score on the area curve of our segmentation models (slow the first time)")
    parser.add_argument("--seg-model", choices=("base", "temporal"), default=DEFAULT_ECHO_MODEL,
                        help="echo network for --segmented (default: the pipeline's, app.ml.DEFAULT_ECHO_MODEL)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    cache = None if args.no_cache else EVAL_CACHE
    if args.render_only:
        for modality, count in (("echo", args.echo), ("mri", args.mri)):
            for i in range(count):
                load_or_render(EVAL_SEEDS[modality] + i, modality, cache)
                print(f"{modality} {i + 1}/{count} ready ({time.monotonic() - start:.0f} s)", flush=True)
        return 0
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    model = load_tempreg()
    results = evaluate_phantoms(args.echo, args.mri, model, log=print if args.verbose else None, cache_dir=cache,
                                segmented=args.segmented, seg_model=args.seg_model)
    print(format_table(results))
    print(f"({time.monotonic() - start:.0f} s; aFD = mean |detected - true| frames over matched events; "
          f"missed = no detection within {MATCH_WINDOW_S:.2f} s)")
    record = {
        "phantom_seeds": {k: [v, v + n] for (k, v), n in zip(EVAL_SEEDS.items(), (args.echo, args.mri), strict=False)},
        "command": "python -m app evaluate ed-es " + " ".join(argv or []),
        "results": results,
    }
    if args.json:
        write_json(args.json, record, indent=2)
    if args.write_metadata:
        write_evaluation(MODEL_NAME, record)
    return 0


def write_evaluation(name: str, record: dict) -> None:
    """Put the evaluation into the lab record lab/notes/<name>.json (the shipped model folder stays as it is)."""
    from lab.model_notes import update_metadata

    update_metadata(name, {"evaluation": record})
