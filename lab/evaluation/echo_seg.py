"""`evaluate echo-seg`: base vs base+WMA vs base+centred smoothing vs temporal on CAMUS valid, phantom, real clip.

Approaches: the per-frame U-Net ("base"), with a causal weighted moving average of its probabilities (+wma,
window 6) or a centred one (+c3, +c5); the ConvLSTM U-Net ("temporal"), also run forwards and backwards
(+bi); the recurrent aggregation network ("aggregation", Li et al.; models/echo_seg_aggregation when trained);
any network with label hysteresis (+h1, +h2: margins 0.1, 0.2; app/ml/hysteresis.py).

CAMUS valid (50 patients; only ED/ES annotated): each patient becomes a two-beat ED->ES->ED cycle at
native resolution (demons registration of the masks, see sequences.py; the ED and ES frames are the
original images). Dice/Hausdorff are scored on the second beat's ED and ES frames (after the temporal
model has seen a beat). mFIP = mean fraction of pixels (in the sector) changing label between frames;
reversals = mean fraction of pixels whose label blips for one frame and back (flicker proper: the heart's
smooth motion changes labels but hardly reverses them; see lab.evaluation.seg_metrics); #LTE = recordings
with a frame whose largest per-class Hausdorff distance to the nearest annotated frame exceeds 30 mm.
EF check (CAMUS has no clinical EF): monoplane disks EF from our contours on the scored ED/ES frames
against the same method on the expert masks (ef_mae_pts, ef_bias_pts, their medians, ef_gross_n = patients
off by more than 20 points, e.g. a broken contour; mean EDV/ESV error %), and per phase (echo_phase_eval):
ours/expert LV area and volume ratios at ED and at ES, the ES/ED area ratio against the expert's, EDV/ESV/EF
bias, SD and mean absolute error; --json keeps each patient's EDV/ESV/EF, ours and the expert's, and
--compare-with OLD.json says how two runs agree patient by patient (lab/evaluation/patient_agreement.py).
--degrade 112,160: the same on CAMUS valid degraded as clinical video
exports (lab.data.degrade.clinical_export; the expert labels carried onto the small grid).
Phantom: labelled two-beat clips (every frame annotated) at 30 Hz and, as apical clips are usually
recorded, 50 Hz (--phantom-rates); the "truth" row scores the exact labels (the flicker of the motion
itself, the floor of a faithful segmentation). Real clip (no labels): #LTE counts recordings
with a jump > 30 mm between consecutive frames.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.data.recording import Recording, uniform_frame_times
from app.paths import write_json
from app.report.cli_hooks import output_file
from lab.evaluation import seg_metrics as sm
from lab.evaluation.echo_phase import (  # noqa: F401 - disks_volume_ml: part of this module's API
    degraded_clip,
    disks_volume_ml,
    format_phase_table,
    phase_figures,
    phase_row,
)
from lab.evaluation.patient_agreement import agreement, format_agreement, patient_errors, read_results
from lab.training.camus_data import DEFAULT_ROOT, case_paths, load_case, require_splits
from lab.training.checkpoint import CHECKPOINTS_DIR
from lab.training.sequences import cycle_frame, register_labels, speckle_fields

# name -> (network, causal WMA window, centred window, forward+backward average of the temporal network,
# label hysteresis margin, app/ml/hysteresis.py)
APPROACHES = {"base": ("base", 0, 0, False, 0.0), "base+wma": ("base", 6, 0, False, 0.0),
              "base+c3": ("base", 0, 3, False, 0.0), "base+c5": ("base", 0, 5, False, 0.0),
              "base+h1": ("base", 0, 0, False, 0.1), "base+h2": ("base", 0, 0, False, 0.2),
              "temporal": ("temporal", 0, 0, False, 0.0), "temporal+bi": ("temporal", 0, 0, True, 0.0),
              "temporal+h1": ("temporal", 0, 0, False, 0.1), "temporal+h2": ("temporal", 0, 0, False, 0.2),
              "aggregation": ("aggregation", 0, 0, False, 0.0), "aggregation+h2": ("aggregation", 0, 0, False, 0.2)}
CLIP = DEFAULT_ROOT.parent / "echo_clip_a4c" / "a4c_sequence.nii.gz"
EVAL_CACHE = CHECKPOINTS_DIR / "eval_cache"


@dataclass(frozen=True)
class LabelledClip:
    """frames (T, H, W) uint8, annotations (R, H, W) at annotated_frames (R,), scored_frames for Dice/HD."""

    name: str
    recording: Recording
    annotations: np.ndarray
    annotated_frames: tuple[int, ...]
    scored_frames: tuple[int, ...]
    ed_es_pair: tuple[int, int] | None = None  # scored (ED, ES) frames for the monoplane EF check


def camus_fields(path: Path, cache: Path | None = EVAL_CACHE) -> tuple:
    """(case, u, v) of one CAMUS case: its demons fields ES(x) ~ ED(x + u(x)), ED(x) ~ ES(x + v(x)),
    kept in `cache` (sequences.register_labels)."""
    case = load_case(path)
    key = cache / f"{path.stem}_demons.npz" if cache else None
    if key is not None and key.is_file():
        with np.load(key) as data:
            return case, data["u"], data["v"]
    u, v = register_labels(case.labels[1], case.labels[0]), register_labels(case.labels[0], case.labels[1])
    if key is not None:  # written whole, then renamed: two evaluations may share the cache
        key.parent.mkdir(parents=True, exist_ok=True)
        partial = key.with_name(f"{key.stem}.{os.getpid()}.partial.npz")
        np.savez_compressed(partial, u=u, v=v)
        os.replace(partial, key)
    return case, u, v


def camus_cycle(path: Path, length: int = 20, beats: int = 2, cache: Path | None = EVAL_CACHE) -> LabelledClip:
    """A two-beat synthetic cycle of one CAMUS case at native resolution."""
    case, u, v = camus_fields(path, cache)
    images = case.images.astype(np.float32) / 255.0
    phases = (1 - np.cos(2 * np.pi * np.arange(length) / length)) / 2
    rng = np.random.default_rng(int(path.stem[7:11]) if path.stem[7:11].isdigit() else 0)
    cycle = [cycle_frame(images, case.labels, u, v, a) for a in phases]
    frames = np.stack([c[0] for c in cycle] * beats)
    speckle = speckle_fields(len(frames), max(frames.shape[1:]), rng)[:, : frames.shape[1], : frames.shape[2]]
    ed_es = {t for t in range(len(frames)) if t % length in (0, length // 2)}
    for t in range(len(frames)):  # annotated frames stay the original images
        if t not in ed_es:
            frames[t] = np.clip(frames[t] * speckle[t], 0, 1)
    annotated = tuple(sorted(ed_es))
    annotations = np.stack([case.labels[0] if t % length == 0 else case.labels[1] for t in annotated])
    recording = Recording(
        frames=(frames * 255).round().astype(np.uint8), spacing_mm=case.spacing_mm,
        frame_times_s=uniform_frame_times(len(frames), 30.0), modality="echo", view="a4c",
    )
    scored = tuple(t for t in annotated if t >= length)
    return LabelledClip(case.patient, recording, annotations, annotated, scored, (length, length + length // 2))


def ef_check(labels: np.ndarray, clip: LabelledClip) -> tuple[float, float, float] | None:
    """(EF error in points, EDV error %, ESV error %) of our contours against the expert masks' disks."""
    row = phase_row(labels, clip)
    if row is None:
        return None
    return (row.ef_pct - row.ref_ef_pct, 100 * (row.edv_ml / row.ref_edv_ml - 1),
            100 * (row.esv_ml / row.ref_esv_ml - 1))


def phantom_clip(seed: int, frame_rate_hz: float = 30.0) -> LabelledClip:
    from app.data.phantom import EchoPhantomParams, HeartParams, make_echo

    rng = np.random.default_rng(seed)
    edv = float(rng.uniform(90, 180))
    params = EchoPhantomParams(
        heart=HeartParams(
            edv_ml=edv, esv_ml=edv * (1 - rng.uniform(0.3, 0.6)), heart_rate_bpm=float(rng.uniform(55, 95))
        ),
        beats=2,
        frame_rate_hz=frame_rate_hz,
        quality=("excellent", "good", "fair", "poor")[seed % 4],
        image_shape_px=(256, 256),
    )
    case = make_echo(params, seed=seed)
    n = case.recording.n_frames
    return LabelledClip(f"phantom{seed}", case.recording, case.truth.labels, tuple(range(n)), tuple(range(n)))


def run_approach(recording: Recording, approach: str) -> np.ndarray:
    from app.ml.inference import run_to_result
    from lab.evaluation.offline_segmentation import segment_offline

    model, wma, centred, two_way, margin = APPROACHES[approach]
    result = run_to_result(segment_offline(recording, model, wma_window=wma, centred_window=centred,
                                           bidirectional_average=two_way, hysteresis_margin=margin))
    return result.labels


def score_labelled(clips: list[LabelledClip], approach: str) -> dict:
    dice, hd, temporal = sm.DiceMetric(), sm.HausdorffMetric(), sm.TemporalMetric()
    ef_rows, named_rows = [], []
    for clip in clips:
        labels = run_approach(clip.recording, approach)
        if clip.ed_es_pair is not None:
            row = phase_row(labels, clip)
            named_rows += [(clip.name, row)] if row is not None else []
            ef_rows += [] if row is None else [ef_check(labels, clip)]
        spacing = clip.recording.spacing_mm
        for t in clip.scored_frames:
            ref = clip.annotations[clip.annotated_frames.index(t)]
            dice(labels[t], ref)
            hd(labels[t], ref, spacing)
        bad = sm.large_temporal_errors(labels, clip.annotations, clip.annotated_frames, spacing)
        temporal(labels, bad, clip.recording.sector_mask)
    d, h, tm = dice.aggregate(), hd.aggregate(), temporal.aggregate()
    out = {f"dice_{sm.CLASS_NAMES[k]}": round(v, 4) for k, v in d.items()}
    out |= {f"hd_{sm.CLASS_NAMES[k]}_mm": round(v, 2) for k, v in h.items()}
    out |= {"mfip": round(tm["mfip"], 5), "reversals": round(tm["reversals"], 6), "lte": tm["lte"], "n": tm["n"]}
    if ef_rows:
        ef = np.array(ef_rows)
        out |= {"ef_mae_pts": round(float(np.abs(ef[:, 0]).mean()), 2), "ef_bias_pts": round(float(ef[:, 0].mean()), 2),
                "ef_median_abs_pts": round(float(np.median(np.abs(ef[:, 0]))), 2),
                "ef_median_pts": round(float(np.median(ef[:, 0])), 2), "ef_gross_n": int((np.abs(ef[:, 0]) > 20).sum()),
                "edv_err_pct": round(float(ef[:, 1].mean()), 1), "esv_err_pct": round(float(ef[:, 2].mean()), 1),
                "ef_n": len(ef_rows)}
    return out | phase_figures([row for _, row in named_rows]) | (
        {"patients": patient_errors(named_rows)} if named_rows else {})


def truth_flicker(clips: list[LabelledClip]) -> dict:
    """mFIP of the exact labels themselves: the label change the heart's real motion causes at the clip's
    frame rate, the floor no faithful segmentation can go below."""
    temporal = sm.TemporalMetric()
    for clip in clips:
        temporal(np.asarray(clip.annotations), [], clip.recording.sector_mask)
    tm = temporal.aggregate()
    return {"mfip": round(tm["mfip"], 5), "reversals": round(tm["reversals"], 6), "lte": 0, "n": len(clips)}


def score_clip(recording: Recording, approach: str) -> dict:
    labels = run_approach(recording, approach)
    bad = sm.consecutive_jumps(labels, recording.spacing_mm)
    return {"mfip": round(sm.mfip(labels, recording.sector_mask), 5),
            "reversals": round(sm.label_reversals(labels, recording.sector_mask), 6), "lte": int(bool(bad)), "n": 1,
            "lv_found_frames": int((labels == 1).any(axis=(1, 2)).sum()), "frames": int(labels.shape[0])}


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace evaluate echo-seg", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="camus_a4c folder")
    p.add_argument("--clip", type=Path, default=CLIP, help="real unlabelled A4C clip")
    p.add_argument("--limit", type=int, default=None, help="first N valid patients only")
    p.add_argument("--phantoms", type=int, default=4, help="phantom clips per frame rate (0: skip)")
    p.add_argument("--phantom-rates", default="30,50", help="phantom frame rates (Hz), comma-separated")
    p.add_argument("--approaches", default="base,base+wma,base+c3,base+h2,temporal,temporal+bi,temporal+h2")
    p.add_argument("--json", type=output_file, default=None, help="also write the results here")
    p.add_argument(
        "--update-metadata", action="store_true", help="store the results in the lab records lab/notes/<model>.json"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--degrade", default="", metavar="SIZES",
                   help="also score CAMUS valid degraded as clinical exports fitted into these sizes (px, e.g. "
                        "112,160: lab.data.degrade.clinical_export), datasets camus_valid_cycles_<size>px")
    p.add_argument("--compare-with", type=Path, default=None, metavar="JSON",
                   help="results of an earlier run (--json): per dataset and approach, how the patients' EF errors "
                        "agree (lab/evaluation/patient_agreement.py)")
    return p


def degrade_sizes(text: str) -> list[int]:
    """--degrade "112,160" -> [112, 160] (one clear error for anything else)."""
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"--degrade takes sizes in pixels, e.g. 112,160; got {text!r}") from None
    if any(not 32 <= v <= 512 or v % 2 for v in sizes):
        raise SystemExit(f"--degrade sizes must be even numbers of pixels from 32 to 512; got {text!r}")
    return sizes


def format_table(results: dict) -> str:
    cols = [
        "dice_lv",
        "dice_myocardium",
        "dice_la",
        "hd_lv_mm",
        "hd_myocardium_mm",
        "hd_la_mm",
        "mfip",
        "reversals",
        "lte",
        "n",
        "ef_mae_pts",
        "ef_bias_pts",
        "ef_median_pts",
        "ef_median_abs_pts",
        "ef_gross_n",
    ]
    lines = []
    for dataset, by_approach in results.items():
        lines.append(f"== {dataset}")
        widths = [max(len(c) + 2, 10) for c in cols]
        lines.append(f"{'approach':<12}" + "".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=False)))
        for approach, row in by_approach.items():
            lines.append(
                f"{approach:<12}" + "".join(f"{str(row.get(c, '-')):>{w}}" for c, w in zip(cols, widths, strict=False))
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import torch

    from app.ml.weights import model_available

    args = build_parser().parse_args(argv)
    require_splits(args.data, "valid")
    if args.update_metadata and args.limit is not None:  # the lab record holds the whole validation set's figures
        raise SystemExit("--update-metadata scores all of CAMUS valid: drop --limit to store the results")
    previous = read_results(args.compare_with) if args.compare_with else None
    torch.set_num_threads(args.threads)
    approaches = [a.strip() for a in args.approaches.split(",") if a.strip()]
    for a in approaches:
        if a not in APPROACHES:
            raise SystemExit(f"unknown approach {a!r}; choose from {', '.join(APPROACHES)}")
        if not model_available(f"echo_seg_{APPROACHES[a][0]}"):
            raise SystemExit(f"model echo_seg_{APPROACHES[a][0]} is not trained yet (models/ has no weights)")
    start = time.monotonic()
    results: dict = {}
    paths = case_paths("valid", args.data)[: args.limit]
    clips = [camus_cycle(p) for p in paths]
    results["camus_valid_cycles"] = {a: score_labelled(clips, a) for a in approaches}
    for size in degrade_sizes(args.degrade):
        small = [degraded_clip(c, size) for c in clips]
        results[f"camus_valid_cycles_{size}px"] = {a: score_labelled(small, a) for a in approaches}
    for rate in [float(r) for r in args.phantom_rates.split(",") if r.strip()] if args.phantoms > 0 else []:
        phantoms = [phantom_clip(9000 + i, rate) for i in range(args.phantoms)]
        name = "phantom_cycles" if rate == 30.0 else f"phantom_cycles_{rate:g}hz"
        results[name] = {a: score_labelled(phantoms, a) for a in approaches} | {"truth": truth_flicker(phantoms)}
    if args.clip.is_file():
        from app.data.readers import load_recording

        recording = load_recording(args.clip)
        results["real_clip_a4c"] = {a: score_clip(recording, a) for a in approaches}
    print(format_table(results))
    print(format_phase_table(results))
    if previous is not None:
        print(format_agreement(agreement(results, previous)))
    print(
        f"({time.monotonic() - start:.0f} s; Dice/HD on CAMUS valid = 2nd-beat ED+ES frames of {len(clips)} patients)"
    )
    if args.json:
        write_json(args.json, results, indent=2)
    if args.update_metadata:
        store_in_metadata(results, " ".join(["python -m app evaluate echo-seg", *(argv or sys.argv[1:])]))
    return 0


OWNERS = (("echo_seg_base", ("base", "base+wma", "base+c3", "base+c5", "base+h1", "base+h2", "truth")),
          ("echo_seg_temporal", ("temporal", "temporal+bi", "temporal+h1", "temporal+h2", "truth")))


def store_in_metadata(results: dict, command: str) -> None:
    """Each model's approaches' rows into its metadata's validation_metrics, merged per dataset and approach
    (a run of some approaches keeps the others' rows), with the command that measured each approach."""
    from lab.model_notes import read_metadata, update_metadata

    for model, approaches in OWNERS:
        subset = {ds: {a: _without_patients(v) for a, v in by.items() if a in approaches}
                  for ds, by in results.items()}
        subset = {ds: rows for ds, rows in subset.items() if any(a != "truth" for a in rows)}
        if not subset:  # none of this model's approaches ran (the phantom truth rows alone are not its own)
            continue
        meta = read_metadata(model)
        merged = {ds: dict(rows) for ds, rows in (meta.get("validation_metrics") or {}).items()}
        commands = dict(meta.get("validation_commands") or {})
        for rows in merged.values():  # rows measured before commands were kept per approach
            commands.update({a: meta.get("validation_command") for a in rows if a != "truth" and a not in commands})
        for ds, rows in subset.items():
            merged.setdefault(ds, {}).update(rows)
            commands.update({a: command for a in rows if a != "truth"})
        update_metadata(model, {"validation_metrics": merged, "validation_commands": commands,
                                "validation_command": command})


def _without_patients(row: dict) -> dict:
    """A results row without its per-patient list (the lab records keep the aggregate figures)."""
    return {k: v for k, v in row.items() if k != "patients"}


if __name__ == "__main__":
    raise SystemExit(main())
