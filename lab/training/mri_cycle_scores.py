"""Scores of a four-class short-axis network over whole labelled cycles, with and without its ConvLSTMs.

For each held-out cycle (lab/training/mri_cycle_data.py: phantom, or Sunnybrook), a crop of the training size
centred on the LV, segmented as one sequence: Dice of the LV pool and of the myocardium pooled over the labelled
phases (every phantom phase; Sunnybrook's ED and ES, the myocardium where an epicardium is drawn), and two measures
of temporal consistency (lab/evaluation/seg_metrics): mFIP (label changes between consecutive phases, which the
heart's own motion also causes) and label reversals (one-phase blips: flicker proper), inside the slice's
heart region (any phase's LV, myocardium or predicted RV, dilated). `cnn_*` keys score the same network with
its ConvLSTMs off (the CNN alone), so a run prints what its temporal part changes.
"""

from __future__ import annotations

import numpy as np

from lab.evaluation.seg_metrics import label_reversals, mfip
from lab.training.mri_cycle_data import NOT_POOL_ANY, UNLABELLED, draw_cycle


def cycle_labels(net, image: np.ndarray, cycle: bool) -> np.ndarray:
    """(T, H, W) float 0..1 -> (T, H, W) uint8 argmax labels (one pass, float32)."""
    import torch

    was_training = net.training
    net.eval()
    with torch.inference_mode():
        logits = net(torch.from_numpy(np.ascontiguousarray(image, np.float32))[None, :, None], cycle=cycle)[0]
    net.train(was_training)
    return logits.argmax(dim=1).numpy().astype(np.uint8)


def score_cycles(net, cycles: list, crop_px: int) -> dict[str, float]:
    """{dice_lv, dice_myo, mfip, reversals} with the ConvLSTMs and the same with prefix cnn_ without them."""
    from scipy import ndimage

    sums = {f"{p}{k}": [] for p in ("", "cnn_") for k in ("dice_lv", "dice_myo", "mfip", "reversals")}
    for c in cycles:
        image, target = draw_cycle(c, np.random.default_rng(0), crop_px, 0)  # centred (no jitter)
        scored = np.flatnonzero((target != UNLABELLED).any(axis=(1, 2)))  # the labelled phases
        for prefix, on in (("", True), ("cnn_", False)):
            labels = cycle_labels(net, image, on)
            region = ndimage.binary_dilation(np.isin(target, (1, 2)).any(0) | (labels == 3).any(0), iterations=3)
            for k, name in ((1, "dice_lv"), (2, "dice_myo")):
                phases = scored if k == 1 else [t for t in scored if not (target[t] == NOT_POOL_ANY).any()]
                p, t = labels[phases] == k, target[phases] == k  # the myocardium where an epicardium is drawn
                sums[prefix + name].append((2.0 * (p & t).sum(), float(p.sum() + t.sum())))
            sums[prefix + "mfip"].append(mfip(labels, region))
            sums[prefix + "reversals"].append(label_reversals(labels, region))
    out = {}
    for key, values in sums.items():
        if key.endswith(("dice_lv", "dice_myo")):
            inter, total = np.sum(values, axis=0) if values else (0.0, 0.0)
            out[key] = round(float(inter / total), 4) if total else float("nan")
        else:
            out[key] = round(float(np.mean(values)), 5) if values else float("nan")
    return out
