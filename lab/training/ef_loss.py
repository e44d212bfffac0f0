"""The clinical beats' EF loss of `train echo-clip-ef` (issue 53): the pipeline's own EF, made differentiable.

The EF of a beat is the pipeline's (method of disks on the traced contour of the argmax mask, monoplane); its
gradient reaches the network through the soft LV area, as a disk volume grows as area^1.5 when the cavity keeps its
shape. Beats whose argmax EF the pipeline would not trust stay out of the loss.
"""

from __future__ import annotations

import numpy as np

AREA_EXPONENT = 1.5  # disk volume ~ area^1.5 for a cavity that keeps its shape
EF_HUBER_PTS = 3.0  # smooth-L1 transition of the EF loss, in EF points


def soft_volumes(lv_probs, hard_volumes):
    """Volumes with the value of the hard prediction's disk volumes and the gradient of the soft LV area.

    lv_probs: (N, S, S) LV probabilities; hard_volumes: (N,) tensor of the disk volumes of the argmax masks.
    """
    area = lv_probs.sum(dim=(1, 2))
    return hard_volumes * (area / area.detach().clamp_min(1.0)) ** AREA_EXPONENT


def ef_loss(lv_probs, hard_volumes, ef_pct):
    """Smooth-L1 of the beats' EF (1 - V_ES / V_ED of the soft volumes) against the expert's, in fraction units.

    lv_probs: (2B, S, S), ED then ES of each beat interleaved; hard_volumes (2B,); ef_pct (B,) tensor.
    """
    import torch.nn.functional as F

    v = soft_volumes(lv_probs, hard_volumes).view(-1, 2)
    ef = 1.0 - v[:, 1] / v[:, 0].clamp_min(1e-6)
    return F.smooth_l1_loss(ef, ef_pct / 100.0, beta=EF_HUBER_PTS / 100.0)


def plausible_beats(hard_volumes: np.ndarray) -> np.ndarray:
    """(B,) bool: beats whose argmax masks give an EF the pipeline would trust (0 < EF <= 90 %, beat_trust).

    hard_volumes: (2B,) ED then ES of each beat. A collapsed ED mask (a few pixels) makes 1 - V_ES / V_ED hugely
    negative and its gradient V_ES / V_ED^2 swamps the step: such runs ended with the EF loss 10-100x its floor.
    """
    from app.analysis.beat_trust import MAX_PLAUSIBLE_EF_PCT

    v = hard_volumes.reshape(-1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ef_pct = 100.0 * (1.0 - v[:, 1] / v[:, 0])
    return (v[:, 0] > 0) & (ef_pct > 0) & (ef_pct <= MAX_PLAUSIBLE_EF_PCT)


def disk_volumes(labels: np.ndarray, pixel_hw) -> np.ndarray:
    """(N, S, S) label maps -> (N,) monoplane disk volumes (px units of the clip; NaN without an LV contour),
    as the pipeline measures a frame (app.analysis.contours.extract_contours, volumes.contour_disks)."""
    from app.analysis.contours import extract_contours
    from app.analysis.volumes import contour_disks

    out = np.full(len(labels), np.nan)
    for i, lab in enumerate(labels):
        disks = contour_disks(extract_contours(lab, "long-axis"), tuple(pixel_hw[i]), with_chords=False)
        if disks is not None:
            out[i] = disks.volume_ml
    return out
