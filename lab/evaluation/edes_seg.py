"""ED/ES scoring on the LV area curve our own segmentation models give (`evaluate ed-es --segmented`).

The main evaluation (lab.evaluation.edes) takes the area curve from the phantom's truth labels, a
perfect segmentation. Here the same phantoms are segmented as the pipeline does (echo: DEFAULT_ECHO_MODEL,
the pipeline's per-frame U-Net, or `--seg-model temporal`; MRI: the MRI model on every slice, areas summed
over the slices like slice summation), and the curve-based methods are scored on that curve:

- "tempreg|seg": TempReg-Net with clip-end events from the curve,
- "tempreg+area|seg": the same with each ES refined on the curve, at most 2 frames
  (app.analysis.edes_fusion.fuse_with_curve),
- "pipeline|seg": what the analysis pipeline reports: echo as "tempreg|seg", cine MR with each ES slid down
  the curve as far as app.analysis.edes_fusion.es_slide_frames allows (a third of the clip); the curve's extrema where
  the events contradict the curve (app.analysis.edes_checks.curve_contradiction, as choose_ed_es),
- "area_curve|seg": the curve's own extrema (the pipeline's fallback).

Curves are cached beside the rendered phantoms as <modality>_<seed>_seg_<model>_<sha256[:8]>.npz.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.ml import DEFAULT_ECHO_MODEL


def _weights_id(model: str) -> str:
    """First 8 hex digits of the model's sha256, so cached curves follow the weights (retrained: recomputed)."""
    from app.ml.weights import WeightsError, read_card

    try:
        return read_card(model).provenance.sha256[:8] or "unknown"
    except WeightsError:
        return "unknown"


def segmented_area_curve(seed: int, modality: str, cache_dir: Path | None, echo_model: str = DEFAULT_ECHO_MODEL
                        ) -> np.ndarray:
    """(T,) LV cavity area (pixels; MRI: summed over the slices) from our segmentation of the phantom."""
    model = "mri_seg" if modality == "mri" else f"echo_seg_{echo_model}"
    tag = f"seg_{'mri' if modality == 'mri' else echo_model}_{_weights_id(model)}"
    path = cache_dir / f"{modality}_{seed}_{tag}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as d:
            return d["area_px"]
    from lab.training.tempreg_phantom import make_case

    recording = make_case(seed, modality).recording
    if modality == "mri":
        from app.ml.mri_inference import segment_stack

        result = None
        for item in segment_stack(recording):
            result = item if hasattr(item, "labels") else result
        labels = np.asarray(result.labels)
        labels = labels if labels.ndim == 4 else labels[None]
        area = (labels == 1).sum(axis=(0, 2, 3)).astype(np.float64)
    else:
        from app.ml.inference import run_to_result, segment_recording

        labels = np.asarray(run_to_result(segment_recording(recording, echo_model)).labels)
        area = (labels == 1).reshape(len(labels), -1).sum(axis=1).astype(np.float64)
    area[area <= 0] = np.nan  # no cavity found: a gap, as in the pipeline's curves
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, area_px=area)
        tmp.replace(path)
    return area


def score_segmented(scores: dict, case, detection, cache_dir: Path | None, echo_model: str = DEFAULT_ECHO_MODEL
                    ) -> str:
    """Add the four "|seg" methods of one case to scores (name -> MethodScore); a log fragment."""
    from app.analysis.edes_checks import curve_contradiction  # as app.analysis.edes_fusion.choose_ed_es falls back
    from app.analysis.edes_fusion import FUSED_METHOD, es_slide_frames, fuse_with_curve
    from lab.evaluation.edes_scoring import MethodScore, area_curve_baseline

    area = segmented_area_curve(case.seed, case.modality, cache_dir, echo_model)
    rate = case.frame_rate_hz
    if area.shape != (len(case.clip),) or np.isfinite(area).sum() < 3:
        return "segmentation found no LV"
    plain = fuse_with_curve(detection, area, rate, refine_es=False)
    fused = fuse_with_curve(detection, area, rate, refine_es=True)
    radius = es_slide_frames(case.modality, len(case.clip))
    gated = case.modality == "mri"  # as app.analysis.edes_fusion.choose_ed_es: an MR clip is one gated cycle
    app_way = fuse_with_curve(detection, area, rate, refine_es=radius > 0, radius=radius, periodic=gated)
    base = area_curve_baseline(area, rate)
    fallback = curve_contradiction(area, app_way.ed_frames, app_way.es_frames, gated=gated, frame_rate_hz=rate)
    for name, (ed, es) in (("tempreg|seg", (plain.ed_frames, plain.es_frames)),
                           (f"{FUSED_METHOD}|seg", (fused.ed_frames, fused.es_frames)),
                           ("pipeline|seg", base if fallback else (app_way.ed_frames, app_way.es_frames)),
                           ("area_curve|seg", base)):
        scores.setdefault(name, MethodScore()).add(case.ed_frames, case.es_frames, ed, es, rate)
    return (f"seg: tempreg ED {plain.ed_frames} ES {plain.es_frames}; area ED {base[0]} ES {base[1]}"
            + (f"; the pipeline falls back to the area curve: {fallback}" if fallback else ""))
