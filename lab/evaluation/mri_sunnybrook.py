"""Sunnybrook as a held-out centre for the four-class whole-slice network (trained on ACDC only).

Every slice of a Sunnybrook case is segmented over its whole 20-phase cycle as the app does
(app/ml/mri_inference.py, stack clean-up included) and scored on the scanner grid at the expert-contoured
phases: endocardial Dice (all contoured phases), myocardial Dice where a consistent epicardium is drawn (not
SC-HF-I-6, whose epicardia are drawn off their images), average perpendicular distance (mm) of the endocardium,
and EDV/ESV/EF from the contoured slices against the same sums of expert areas (ED = the contoured phase with
the larger expert pool). None of these patients trained the network, so all three are held out.
Over every phase of every slice, the temporal consistency of our labels (lab/evaluation/seg_metrics): mFIP (label
changes between consecutive phases, which the heart's motion also causes) and label reversals (one-phase
blips), inside each slice's heart region (any phase's predicted LV, myocardium or RV, dilated by 3 px). And the
cycle's LV volume curve (every slice, every phase: `volume_curve`): its ED and ES phases (largest, smallest) against
the contoured phases, and its jitter (`curve_jitter_pct`: how far each phase sits from the mean of it and its two
neighbours, in percent of the stroke volume: a pure sinusoid of 20 phases gives 1.0, phase flicker adds to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.data import sunnybrook
from lab.evaluation.contour_metrics import average_perpendicular_distance_mm
from lab.evaluation.seg_metrics import dice

SUNNYBROOK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sunnybrook"
CASES = ("SC-HF-I-4", "SC-HF-I-5", "SC-HF-I-6")


@dataclass(frozen=True)
class SunnybrookScore:
    case: str
    dice_endo: float
    dice_myo: float  # nan where no consistent epicardium is drawn
    apd_endo_mm: float
    edv_ml: tuple[float, float]  # (expert, ours) over the contoured slices
    esv_ml: tuple[float, float]
    ef_pct: tuple[float, float]
    mfip: float = float("nan")
    reversals: float = float("nan")
    expert_ed_es_phases: tuple[int, int] = (-1, -1)  # the contoured phases (ED: the larger expert pool)
    curve_ed_es_phases: tuple[int, int] = (-1, -1)  # our LV volume curve's largest and smallest phase
    curve_jitter_pct: float = float("nan")
    n_phases: int = 0


def slice_spacing_mm(images: list[sunnybrook.ContouredImage]) -> float:
    by_slice = {sunnybrook.slice_and_phase(im.instance)[0]: np.array(im.position_mm) for im in images}
    keys = sorted(by_slice)
    return float(
        np.median([np.linalg.norm(by_slice[b] - by_slice[a]) / (b - a) for a, b in zip(keys, keys[1:], strict=False)])
    )


def segment_case(net, root: Path, case: str, n_slices: int, spacing_mm, tta_views: int) -> np.ndarray:
    """(S, T, H, W) labels of every slice's cycle, finished as the app finishes them."""
    from app.ml.mri_inference import finish_stack, stack_labels
    from app.tasks import run_task

    cines = np.stack([sunnybrook.slice_cine(root, case, s) for s in range(n_slices)])
    return finish_stack(run_task(stack_labels(net, cines, spacing_mm, tta_views))[0])[0]


def score_case(net, root: Path, case: str, tta_views: int) -> SunnybrookScore:
    from lab.training.mri_data import epicardium_consistent

    images = sunnybrook.contoured_images(root, case)
    spacing = images[0].spacing_mm
    n_slices = max(sunnybrook.slice_and_phase(im.instance)[0] for im in images) + 1
    labels = segment_case(net, root, case, n_slices, spacing, tta_views)
    dz_mm = slice_spacing_mm(images)
    pool_px: dict[int, int] = {}
    for im in images:
        phase = sunnybrook.slice_and_phase(im.instance)[1]
        pool_px[phase] = pool_px.get(phase, 0) + int(im.endo_mask.sum())
    ed_phase = max(pool_px, key=pool_px.get)
    endo, myo, apd = [], [], []
    vol = {True: [0.0, 0.0], False: [0.0, 0.0]}
    px_ml = spacing[0] * spacing[1] * dz_mm / 1000.0
    for im in images:
        s, phase = sunnybrook.slice_and_phase(im.instance)
        pred = labels[s, phase]
        endo.append(dice((pred == 1).astype(np.uint8), im.endo_mask.astype(np.uint8), 1))
        apd.append(average_perpendicular_distance_mm(pred == 1, im.endo_mask, spacing))
        if im.epi_mask is not None and epicardium_consistent(im.endo_mask, im.epi_mask):
            truth = np.where(im.endo_mask, 1, np.where(im.epi_mask, 2, 0)).astype(np.uint8)
            myo.append(dice(np.where(pred == 3, 0, pred), truth, 2))
        vol[phase == ed_phase][0] += float(im.endo_mask.sum()) * px_ml
        vol[phase == ed_phase][1] += float((pred == 1).sum()) * px_ml
    ed, es = vol[True], vol[False]
    ef = tuple(100.0 * (ed[i] - es[i]) / ed[i] if ed[i] else float("nan") for i in (0, 1))
    finite = [a for a in apd if np.isfinite(a)]
    curve = volume_curve(labels, px_ml)
    es_phase = min(pool_px, key=pool_px.get)
    return SunnybrookScore(case, float(np.mean(endo)), float(np.mean(myo)) if myo else float("nan"),
                           float(np.mean(finite)) if finite else float("inf"), tuple(ed), tuple(es), ef,
                           *temporal_consistency(labels), expert_ed_es_phases=(ed_phase, es_phase),
                           curve_ed_es_phases=(int(np.argmax(curve)), int(np.argmin(curve))),
                           curve_jitter_pct=curve_jitter_pct(curve), n_phases=int(labels.shape[1]))


def volume_curve(labels: np.ndarray, voxel_ml: float) -> np.ndarray:
    """(S, T, H, W) labels of whole cycles -> (T,) LV pool volume in ml over all slices."""
    return (labels == 1).sum(axis=(0, 2, 3)).astype(np.float64) * voxel_ml


def curve_jitter_pct(curve: np.ndarray) -> float:
    """Mean distance of each phase of a cyclic (T,) curve from the mean of it and its two neighbours, in percent of
    the curve's range (the stroke volume); nan for a flat curve."""
    y = np.asarray(curve, np.float64)
    span = float(y.max() - y.min())
    if span <= 0:
        return float("nan")
    smooth = (np.roll(y, 1) + y + np.roll(y, -1)) / 3.0
    return 100.0 * float(np.abs(y - smooth).mean()) / span


def phase_offset(a: int, b: int, n_phases: int) -> int:
    """Phases between a and b around a cycle of n_phases."""
    d = abs(a - b) % n_phases
    return min(d, n_phases - d)


def temporal_consistency(labels: np.ndarray) -> tuple[float, float]:
    """(S, T, H, W) labels of whole cycles -> (mFIP, label reversals), means over the slices with a heart, each
    inside its heart region (any phase's labels 1-3, dilated by 3 px)."""
    from scipy import ndimage

    from lab.evaluation.seg_metrics import label_reversals, mfip

    changes, blips = [], []
    for cycle in labels:
        heart = cycle.any(axis=0)
        if heart.any():
            region = ndimage.binary_dilation(heart, iterations=3)
            changes.append(mfip(cycle, region))
            blips.append(label_reversals(cycle, region))
    return (float(np.mean(changes)), float(np.mean(blips))) if changes else (float("nan"), float("nan"))


def print_table(rows: list[SunnybrookScore]) -> None:
    print("\nSunnybrook (held-out centre): endo DSC, myo DSC, APD mm, EDV / ESV / EF expert vs ours (contoured slices)")
    for r in rows:
        print(f"{r.case:10} {r.dice_endo:.3f} {r.dice_myo:.3f} {r.apd_endo_mm:5.2f}  "
              f"EDV {r.edv_ml[0]:6.1f} vs {r.edv_ml[1]:6.1f}  ESV {r.esv_ml[0]:6.1f} vs {r.esv_ml[1]:6.1f}  "
              f"EF {r.ef_pct[0]:5.1f} vs {r.ef_pct[1]:5.1f}  mFIP {r.mfip:.4f} reversals {r.reversals:.4f}  "
              f"curve ED/ES phases {r.curve_ed_es_phases[0]}/{r.curve_ed_es_phases[1]} vs contoured "
              f"{r.expert_ed_es_phases[0]}/{r.expert_ed_es_phases[1]}, jitter {r.curve_jitter_pct:.1f} %")
    myo = [r.dice_myo for r in rows if np.isfinite(r.dice_myo)]
    print(f"{'mean':10} {np.mean([r.dice_endo for r in rows]):.3f} {np.mean(myo) if myo else float('nan'):.3f} "
          f"{np.mean([r.apd_endo_mm for r in rows]):5.2f}  EF error "
          f"{np.mean([abs(r.ef_pct[1] - r.ef_pct[0]) for r in rows]):.1f} points; mFIP "
          f"{np.mean([r.mfip for r in rows]):.4f}, reversals {np.mean([r.reversals for r in rows]):.4f}")
    offsets = [[phase_offset(r.curve_ed_es_phases[i], r.expert_ed_es_phases[i], r.n_phases) for r in rows]
               for i in (0, 1)]
    print(f"{'':10} volume curve: ED {np.mean(offsets[0]):.1f} and ES {np.mean(offsets[1]):.1f} phases from the "
          f"contoured ones on average; jitter {np.mean([r.curve_jitter_pct for r in rows]):.1f} % of the stroke volume")
