"""Segmentation losses: soft Dice, cross-entropy, per-class binary cross-entropy (Li et al.'s BCE + Dice) and
the temporal consistency loss (Smistad et al.).

temporal_loss = mean over t of clip(1 - Dice(p_t, p_{t-1}), c, 1) - c, c = 0.01: zero when consecutive
soft predictions agree to within c (small motion is allowed), growing as they disagree, so minimising
it rewards consistency.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-5


def soft_dice(p: torch.Tensor, q: torch.Tensor, dims=(-2, -1)) -> torch.Tensor:
    """Per-class soft Dice of (…, K, H, W) probabilities -> (…, K)."""
    inter = (p * q).sum(dim=dims)
    return (2 * inter + EPS) / (p.sum(dim=dims) + q.sum(dim=dims) + EPS)


def dice_loss(probs: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """1 - mean foreground Dice. probs (N, K, H, W), labels (N, H, W) int64, mask (N,) bool of labelled frames."""
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    dice = soft_dice(probs, onehot)[:, 1:]
    if mask is not None:
        if not bool(mask.any()):
            return probs.sum() * 0.0
        dice = dice[mask]
    return 1.0 - dice.mean()


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy over labelled frames. logits (N, K, H, W), labels (N, H, W)."""
    if mask is not None:
        if not bool(mask.any()):
            return logits.sum() * 0.0
        logits, labels = logits[mask], labels[mask]
    return F.cross_entropy(logits, labels)


def bce_loss(probs: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy of every class's probability against its mask, mean over classes and pixels of
    labelled frames. probs (N, K, H, W) (softmax), labels (N, H, W) int64, mask (N,) bool."""
    if mask is not None:
        if not bool(mask.any()):
            return probs.sum() * 0.0
        probs, labels = probs[mask], labels[mask]
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)
    return F.binary_cross_entropy(probs.clamp(1e-6, 1 - 1e-6), onehot)


def temporal_loss(
    probs: torch.Tensor, c: float = 0.01, labels: torch.Tensor | None = None, labelled: torch.Tensor | None = None
) -> torch.Tensor:
    """probs (B, T, K, H, W) -> scalar: mean_t clip(1 - Dice(p_t, p_{t-1}), c, 1) - c over foreground classes.

    Motion-aware margin (labels (B, T, H, W) int64 and labelled (B, T) bool given): where both frames of a
    pair are labelled, c for that pair and class is max(c, 1 - Dice(y_t, y_{t-1})), the change the true
    motion causes, so the loss punishes flicker beyond the real motion but never the motion itself
    (with a fixed c it also pulls fast systolic motion towards a still mean shape).
    """
    if probs.shape[1] < 2:
        return probs.sum() * 0.0
    dice = soft_dice(probs[:, 1:, 1:], probs[:, :-1, 1:])  # (B, T-1, K-1)
    margin = torch.full_like(dice, c)
    if labels is not None and labelled is not None:
        onehot = F.one_hot(labels, probs.shape[2]).permute(0, 1, 4, 2, 3).to(probs.dtype)[:, :, 1:]
        true_change = 1.0 - soft_dice(onehot[:, 1:], onehot[:, :-1])  # (B, T-1, K-1)
        pair = (labelled[:, 1:] & labelled[:, :-1])[..., None].expand_as(true_change)
        margin = torch.where(pair, torch.clamp(true_change, min=c), margin)
    return (torch.maximum(1.0 - dice, margin) - margin).clamp(max=1.0).mean()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of the per-pixel class distributions, mean over pixels (Hinton et al. 2015, T=1).

    logits (N, K, H, W), teacher's without gradient. A narrower network learns the wider one's soft
    probabilities in every frame, the unlabelled frames of the registered sequences too."""
    teacher = torch.softmax(teacher_logits.float(), 1)
    log_student = torch.log_softmax(student_logits.float(), 1)
    return (teacher * (torch.log(teacher.clamp_min(1e-8)) - log_student)).sum(1).mean()
