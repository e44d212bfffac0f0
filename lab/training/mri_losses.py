"""Losses for short-axis MRI segmentation with partly labelled phases (codes of mri_data)."""

from __future__ import annotations

import torch

from lab.training.mri_data import NOT_POOL, UNLABELLED


def partial_label_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 0.5) -> torch.Tensor:
    """Cross-entropy + soft Dice over labelled pixels.

    logits (B, T, 3, H, W); target (B, T, H, W) long with 0/1/2 full labels, NOT_POOL (background or
    myocardium, only the endocardium drawn) and UNLABELLED (ignored). NOT_POOL pixels are scored with
    -log(p_bg + p_myo); the myocardium Dice uses fully labelled phases only.
    """
    logp = torch.log_softmax(logits.float(), dim=2)
    full = target <= 2
    partial = target == NOT_POOL
    known = full | partial
    if not known.any():
        return logits.sum() * 0.0
    safe = torch.where(full, target, torch.zeros_like(target))
    nll_full = -logp.gather(2, safe.unsqueeze(2)).squeeze(2)
    nll_partial = -torch.logsumexp(torch.stack([logp[:, :, 0], logp[:, :, 2]]), dim=0)
    nll = torch.where(full, nll_full, nll_partial)
    ce = nll[known].mean()
    probs = logp.exp()
    dice_pool = _soft_dice(probs[:, :, 1], (target == 1).float(), known)
    phase_full = (full.flatten(2).all(dim=2) & (target != UNLABELLED).flatten(2).any(dim=2))
    mask_myo = full & phase_full[..., None, None]
    dice_myo = _soft_dice(probs[:, :, 2], (target == 2).float(), mask_myo) if mask_myo.any() else None
    dice = dice_pool if dice_myo is None else 0.5 * (dice_pool + dice_myo)
    return (1 - dice_weight) * ce + dice_weight * (1.0 - dice)


def _soft_dice(p: torch.Tensor, q: torch.Tensor, mask: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    m = mask.float()
    inter = (p * q * m).sum()
    return (2 * inter + eps) / ((p * m).sum() + (q * m).sum() + eps)


def cycle_loss(logits: torch.Tensor, target: torch.Tensor, anchor: torch.Tensor | None = None,
               anchor_weight: float = 0.0, dice_weight: float = 0.5) -> torch.Tensor:
    """Loss of the four-class network over whole cycles (lab/training/mri_cycle_data.py).

    logits (B, T, 4, H, W); target (B, T, H, W) long: 0 background, 1 LV pool, 2 myocardium, BG_OR_RV (background
    or RV pool, scored as -log(p_bg + p_rv)), NOT_POOL_ANY (anything but the LV pool), UNLABELLED (a phase nobody
    labelled: no label term). Cross-entropy + soft Dice of LV pool and myocardium over the labelled pixels
    (dice_weight; the myocardium where it is drawn), plus anchor_weight x the cross-entropy to `anchor`
    (B, T, 4, H, W) probabilities (the CNN alone's, no gradient) on the pixels whose class the labels leave open
    (BG_OR_RV, NOT_POOL_ANY, UNLABELLED): nobody taught how an RV looks there, so the network keeps what the CNN
    alone said."""
    from lab.training.mri_cycle_data import BG_OR_RV, NOT_POOL_ANY, UNLABELLED

    logp = torch.log_softmax(logits.float(), dim=2)
    either, not_pool, unlabelled = target == BG_OR_RV, target == NOT_POOL_ANY, target == UNLABELLED
    full = target <= 3
    safe = torch.where(full, target, torch.zeros_like(target))
    nll = torch.where(either, -torch.logsumexp(logp[:, :, [0, 3]], dim=2),
                      torch.where(not_pool, -torch.logsumexp(logp[:, :, [0, 2, 3]], dim=2),
                                  -logp.gather(2, safe.unsqueeze(2)).squeeze(2)))
    labelled = ~unlabelled
    if not labelled.any():
        loss = logits.sum() * 0.0
    else:
        probs = logp.exp()
        dice_lv = _soft_dice(probs[:, :, 1], (target == 1).float(), labelled)
        myo_drawn = labelled & ~not_pool.flatten(2).any(dim=2)[..., None, None]  # phases with an epicardium
        dice = dice_lv if not myo_drawn.any() else 0.5 * (dice_lv + _soft_dice(probs[:, :, 2], (target == 2).float(),
                                                                             myo_drawn))
        loss = (1 - dice_weight) * nll[labelled].mean() + dice_weight * (1.0 - dice)
    open_class = either | not_pool | unlabelled
    if anchor is not None and anchor_weight > 0 and open_class.any():
        soft = -(anchor.float() * logp).sum(dim=2)
        loss = loss + anchor_weight * soft[open_class].mean()
    return loss
