"""Validation of the view classifier: `python -m app evaluate view` prints it for models/view.

Sets (none of them used in training):
- CAMUS valid split: the ED and ES images of the 50 validation patients, REAL A4C (per-frame accuracy);
- held-out phantom clips per apical view, seeds HELDOUT_SEED + 1000 * view index + i (training uses
  seeds below 3000), per-frame accuracy and per-clip accuracy (probabilities averaged over the clip);
- held-out 'other' inputs (phantom MRI seeds 59000+, synthetic sectors from a separate random stream);
- the real clip ../shared/data/echo_clip_a4c/a4c_sequence.nii.gz (should be a4c; classify_view averaging);
- the clinical A4C clips of ../shared/data/echonet_clips (EchoNet-Dynamic AVIs, all A4C; classify_view averaging):
  how many are called A4C, and with p >= view_step.CONFIDENT_PROBABILITY;
- the held-out phantom clips again as clinical video exports (lab/training/view_export.py, a fixed stream), so a
  view other than A4C is checked in the exports' look too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.ml.view import predict_inputs, view_inputs
from lab.training.view_data import (
    APICAL,
    OTHER_KINDS,
    camus_inputs,
    phantom_echo_clip,
    phantom_mri_frames,
    synthetic_other,
)

HELDOUT_SEED = 90000
REAL_CLIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "echo_clip_a4c" / "a4c_sequence.nii.gz"
CLINICAL_CLIPS = REAL_CLIP.parents[1] / "echonet_clips"
EXPORT_SEED = 91000


def recording_inputs(path: Path, size_px: int) -> np.ndarray:
    """(k, S, S): the frames classify_view shows the network for the recording at path."""
    from app.data.readers import load_recording

    return view_inputs(load_recording(path), size_px)[0]


def heldout_sets(size_px: int, n_clips: int = 6, frames_per_clip: int = 8, camus_root: Path | None = None,
                 camus_limit: int | None = None, clinical_limit: int | None = None) -> dict:
    """{'camus': (N,S,S) or None, 'clips': {view: [(n,S,S), ...]}, 'export_clips': the same as clinical exports,
    'other': (M,S,S), 'real_clip': (k,S,S) or None, 'clinical': [(k,S,S), ...] (A4C; empty without the data)}."""
    from lab.training.view_export import clinical_view_export

    clips = {v: [phantom_echo_clip(v, HELDOUT_SEED + 1000 * i + s, size_px, frames_per_clip) for s in range(n_clips)]
             for i, v in enumerate(APICAL)}
    export_rng = np.random.default_rng(EXPORT_SEED)
    export_clips = {v: [np.stack([clinical_view_export(x, export_rng) for x in clip]) for clip in cs]
                    for v, cs in clips.items()}
    rng = np.random.default_rng(HELDOUT_SEED)
    other = [phantom_mri_frames(59000 + s, size_px, 6) for s in range(2)]
    other += [np.stack([synthetic_other(k, rng, size_px, None) for _ in range(8)]) for k in OTHER_KINDS[1:4]]
    try:
        camus = camus_inputs("valid", size_px, camus_root, camus_limit)
    except FileNotFoundError:
        camus = None
    real = recording_inputs(REAL_CLIP, size_px) if REAL_CLIP.is_file() else None
    clinical = [recording_inputs(p, size_px) for p in sorted(CLINICAL_CLIPS.glob("*.avi"))[:clinical_limit]]
    return {"camus": camus, "clips": clips, "export_clips": export_clips, "other": np.concatenate(other),
            "real_clip": real, "clinical": clinical}


def evaluate(net, device, sets: dict) -> dict:
    """Accuracies (0..1) on the held-out sets; the network is put in eval mode."""
    from app.ml.nets.view_classifier import CLASSES

    net.eval()
    out: dict = {}
    if sets.get("camus") is not None:
        pred = predict_inputs(net, sets["camus"], device).argmax(1)
        names = [CLASSES[int(p)] for p in pred]
        out["camus_valid_a4c_accuracy"] = round(float(np.mean([n == "a4c" for n in names])), 4)
        out["camus_valid_frames"] = len(names)
        out["camus_valid_predicted_counts"] = {c: names.count(c) for c in CLASSES if names.count(c)}
    per_view = {}
    for view, clips in sets["clips"].items():
        probs = [predict_inputs(net, clip, device) for clip in clips]
        frame_hits = np.concatenate([p.argmax(1) == CLASSES.index(view) for p in probs])
        clip_hits = [int(p.mean(0).argmax()) == CLASSES.index(view) for p in probs]
        per_view[view] = {"frame_accuracy": round(float(frame_hits.mean()), 4),
                          "clip_accuracy": round(float(np.mean(clip_hits)), 4), "clips": len(clips)}
    out["phantom_heldout"] = per_view
    if sets.get("export_clips"):
        out["phantom_heldout_export"] = {view: round(float(np.mean([
            int(predict_inputs(net, clip, device).mean(0).argmax()) == CLASSES.index(view) for clip in clips])), 4)
            for view, clips in sets["export_clips"].items()}
    if sets.get("clinical"):
        out["clinical_a4c_clips"] = clinical_scores(net, device, sets["clinical"])
    other = predict_inputs(net, sets["other"], device).argmax(1)
    out["other_heldout_accuracy"] = round(float(np.mean(other == CLASSES.index("other"))), 4)
    if sets.get("real_clip") is not None:
        mean = predict_inputs(net, sets["real_clip"], device).mean(0)
        out["real_clip_a4c"] = {"predicted": CLASSES[int(mean.argmax())], "probability": round(float(mean.max()), 4),
                                "frames_used": len(sets["real_clip"]), "file": "echo_clip_a4c/a4c_sequence.nii.gz"}
    return out


def clinical_scores(net, device, clips: list[np.ndarray]) -> dict:
    """How the classifier reads real A4C clinical clips (classify_view's mean over each clip's frames): the share
    called A4C, the share called A4C with p >= the viewer's confidence, and the calls of another view that confident
    (each would be a wrong warning)."""
    from app.ml.nets.view_classifier import CLASSES
    from app.workflow.view_step import CONFIDENT_PROBABILITY

    means = np.stack([predict_inputs(net, clip, device).mean(0) for clip in clips])
    names = [CLASSES[int(i)] for i in means.argmax(1)]
    best = means.max(1)
    a4c = np.array([n == "a4c" for n in names])
    return {"clips": len(clips), "called_a4c": round(float(a4c.mean()), 4),
            "a4c_confident": round(float((a4c & (best >= CONFIDENT_PROBABILITY)).mean()), 4),
            "other_view_confident": int((~a4c & (best >= CONFIDENT_PROBABILITY)).sum()),
            "median_a4c_probability": round(float(np.median(means[:, CLASSES.index("a4c")])), 4),
            "predicted_counts": {c: names.count(c) for c in CLASSES if names.count(c)}}


def real_probes(net, device, size_px: int) -> dict:
    """Real recordings that are NOT apical echo (none used in training): the pydicom ultrasound samples in
    dicom_samples/ (obstetric/abdominal/TEE, all expected 'other') and Sunnybrook cine MRI SCD0000301
    (expected 'other'; the network only saw PHANTOM MRI). {name: {predicted, probability}}."""
    from app.data.readers import load_recording
    from app.ml.nets.view_classifier import CLASSES

    root = REAL_CLIP.parents[1]
    files = sorted((root / "dicom_samples").glob("*US*.dcm")) + sorted((root / "dicom_samples").glob("*-pl.dcm"))
    files += [
        p
        for p in [root / "dicom_samples" / "OBXXXX1A_rle_2frame.dcm", root / "sunnybrook" / "dicoms" / "SCD0000301"]
        if p.exists()
    ]
    out = {}
    for path in dict.fromkeys(files):
        try:
            rec = load_recording(path)
        except Exception as exc:  # noqa: BLE001 - a probe that cannot be read is reported, not fatal
            out[path.name] = {"error": str(exc)[:120]}
            continue
        inputs, _ = view_inputs(rec, size_px, slice_index=rec.n_slices // 2 if rec.is_stack else 0)
        mean = predict_inputs(net, inputs, device).mean(0)
        out[path.name] = {"modality": rec.modality, "expected": "other", "predicted": CLASSES[int(mean.argmax())],
                          "probability": round(float(mean.max()), 4)}
    return out


def summary_line(metrics: dict) -> str:
    ph = metrics.get("phantom_heldout", {})
    parts = [f"CAMUS valid a4c {metrics.get('camus_valid_a4c_accuracy', float('nan')):.3f}"]
    parts += [f"phantom {v} frame {m['frame_accuracy']:.3f} clip {m['clip_accuracy']:.3f}" for v, m in ph.items()]
    parts.append(f"other {metrics.get('other_heldout_accuracy', float('nan')):.3f}")
    if "phantom_heldout_export" in metrics:
        parts.append("as exports: " + ", ".join(f"{v} {a:.3f}" for v, a in metrics["phantom_heldout_export"].items()))
    if "clinical_a4c_clips" in metrics:
        c = metrics["clinical_a4c_clips"]
        parts.append(f"clinical A4C clips ({c['clips']}): called a4c {c['called_a4c']:.3f}, with p >= 0.8 "
                     f"{c['a4c_confident']:.3f}, another view that sure {c['other_view_confident']}")
    if "real_clip_a4c" in metrics:
        rc = metrics["real_clip_a4c"]
        parts.append(f"real clip -> {rc['predicted']} p={rc['probability']:.2f}")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    import json

    import torch

    from app.ml.device import choose_device
    from app.ml.weights import load_model, read_card

    p = OneLineParser(prog="cardiotrace evaluate view", description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=6, help="held-out phantom clips per view")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    device = choose_device()
    net = load_model("view", device)
    size = int(read_card("view").preprocessing.input_size_px or 96)
    metrics = evaluate(net, device, heldout_sets(size, args.clips))
    metrics["real_non_apical_probes"] = real_probes(net, device, size)
    print(json.dumps(metrics, indent=2) if args.json else summary_line(metrics))
    if not args.json:
        for name, probe in metrics["real_non_apical_probes"].items():
            print(f"real probe {name}: expected other -> {probe.get('predicted')} p={probe.get('probability')}")
    return 0
