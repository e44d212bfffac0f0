"""Segmentation losses: soft Dice, cross-entropy, per-class binary cross-entropy (Li et al.'s BCE + Dice),
the temporal consistency loss (Smistad et al.) and a scale-balanced boundary loss (issue 30).

boundary_loss = per image and class, sum over pixels of |p - y| x (distance to the true boundary, px) divided
by the true boundary's length (px): a contour displaced by d pixels costs about d (d + 1) / 2 whatever the
cavity's size, so a small end-systolic cavity drawn too large weighs as much as a large diastolic one (a
pixel-summed loss such as cross-entropy weighs it by its shorter perimeter, i.e. less).

temporal_loss = mean over t of clip(1 - Dice(p_t, p_{t-1}), c, 1) - c, c = 0.01: zero when consecutive
soft predictions agree to within c (small motion is allowed), growing as they disagree, so minimising
it rewards consistency.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-5
BOUNDARY_DISTANCE_CAP_PX = 20.0  # a far false positive costs like one 20 px from the boundary


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


def boundary_distances(labels: np.ndarray, classes=(1,)) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W) int labels -> (distance (N, C, H, W) float32: px from each pixel to the class's true
    boundary, 1 on either side of it, capped at BOUNDARY_DISTANCE_CAP_PX; 0 everywhere when the class is absent;
    perimeter (N, C) float32: the class's boundary length in px, 0 when absent)."""
    from scipy.ndimage import distance_transform_edt

    n, h, w = labels.shape
    dist = np.zeros((n, len(classes), h, w), np.float32)
    perimeter = np.zeros((n, len(classes)), np.float32)
    for i in range(n):
        for j, k in enumerate(classes):
            mask = labels[i] == k
            if not mask.any() or mask.all():
                continue
            dist[i, j] = np.minimum(distance_transform_edt(~mask) + distance_transform_edt(mask),
                                    BOUNDARY_DISTANCE_CAP_PX)
            cracks = (mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum()
            perimeter[i, j] = float(cracks) * np.pi / 4  # crack length -> length (Cauchy-Crofton, mean over angles)
    return dist, perimeter


def boundary_loss(probs: torch.Tensor, labels: torch.Tensor, distance: torch.Tensor, perimeter: torch.Tensor,
                  classes=(1,), mask: torch.Tensor | None = None) -> torch.Tensor:
    """Scale-balanced boundary loss (module docstring). probs (N, K, H, W), labels (N, H, W) int64, distance
    (N, C, H, W) and perimeter (N, C) from boundary_distances for `classes`; mask (N,) bool of labelled
    frames. Mean over the (image, class) pairs where the class is present."""
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)[:, list(classes)]
    err = ((probs[:, list(classes)] - onehot).abs() * distance).sum(dim=(-2, -1)) / perimeter.clamp_min(1.0)
    present = perimeter > 0
    if mask is not None:
        present = present & mask[:, None]
    if not bool(present.any()):
        return probs.sum() * 0.0
    return err[present].mean()


def relative_area_loss(probs: torch.Tensor, labels: torch.Tensor, classes=(1,),
                       mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean |soft area / true area - 1| of `classes` over the (image, class) pairs where the class is present:
    what a volume (and so EF) reads, with a small end-systolic cavity weighing as much as a large diastolic one.
    probs (N, K, H, W), labels (N, H, W) int64, mask (N,) bool of labelled frames."""
    idx = list(classes)
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).to(probs.dtype)[:, idx]
    true_area = onehot.sum(dim=(-2, -1))
    present = true_area > 0
    if mask is not None:
        present = present & mask[:, None]
    if not bool(present.any()):
        return probs.sum() * 0.0
    ratio = probs[:, idx].sum(dim=(-2, -1)) / true_area.clamp_min(1.0)
    return (ratio - 1.0).abs()[present].mean()
