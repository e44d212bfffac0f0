"""Anatomical clean-up of short-axis label maps (0 background, 1 LV blood pool, 2 myocardium).

Per phase: the blood pool is one connected region - the largest near the crop centre (the crop is centred
on the LV; the right-ventricular pool is the usual false positive) - and its convex hull (papillary
muscles and trabeculae, dark inside the pool, are pool in the expert contours, which are smooth and
convex); the myocardium keeps what is connected to that pool and within MAX_WALL_MM of it (the RV free
wall is the usual false positive). Everything else becomes background. The crop grid is 1 mm.

A pool less than MIN_MYOCARDIAL_SURROUND surrounded by myocardium is not LV and the phase is left empty:
the clinical rule for basal short-axis slices (SCMR post-processing guidelines, Schulz-Menger et al. 2020:
a basal slice counts when its blood pool is at least 50 % surrounded by myocardium), which also removes
blobs found below the apex. On the default MRI phantom the pools found above the base at end-systole
(the left atrium) and below the apex were 3-17 % surrounded and the LV's 92-100 %; on the Sunnybrook
held-out predictions at the contoured phases, at least 73 %.

Evidence (LOO fold multi, held-out SC-HF-I-4, 400 steps): pool / myocardium Dice 0.762 / 0.540 raw,
0.786 / 0.559 with the largest central component, 0.834 / 0.605 with the hull and the wall limit.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import convex_hull_image

CENTRE_SIGMA_FRACTION = 0.3  # centre prior: Gaussian with sigma = 0.3 x crop size
MAX_WALL_MM = 20.0  # myocardium farther than this from the blood pool is dropped (1 mm pixels)
MIN_MYOCARDIAL_SURROUND = 0.5  # share of the pixels just outside the pool that must be myocardium


def clean_phase(labels: np.ndarray) -> np.ndarray:
    """(H, W) uint8 labels -> cleaned copy (see the module doc)."""
    pool = labels == 1
    if not pool.any():
        return labels.copy()
    comps, n = ndimage.label(pool)
    h, w = labels.shape
    if n > 1:
        index = np.arange(1, n + 1)
        areas = ndimage.sum(pool, comps, index)
        centres = np.array(ndimage.center_of_mass(pool, comps, index)).reshape(n, 2)
        d2 = ((centres[:, 0] - h / 2) ** 2 + (centres[:, 1] - w / 2) ** 2) / (CENTRE_SIGMA_FRACTION * max(h, w)) ** 2
        keep = int(index[np.argmax(areas * np.exp(-0.5 * d2))])
        pool = comps == keep
    pool = convex_hull_image(pool) if pool.sum() >= 3 else pool
    heart, _ = ndimage.label(pool | (labels == 2))
    ids = np.unique(heart[pool])
    myo = np.isin(heart, ids[ids > 0]) & ~pool & (labels == 2)
    myo &= ndimage.distance_transform_edt(~pool) <= MAX_WALL_MM
    out = np.zeros_like(labels)
    out[myo] = 2
    out[pool] = 1
    return out if myocardial_surround(out) >= MIN_MYOCARDIAL_SURROUND else np.zeros_like(labels)


def myocardial_surround(labels: np.ndarray) -> float:
    """Share of the pixels bordering the blood pool (label 1) that are myocardium (label 2); 0 without a pool."""
    pool = labels == 1
    border = ndimage.binary_dilation(pool) & ~pool
    return float((labels[border] == 2).mean()) if border.any() else 0.0


def clean_cycle(labels: np.ndarray) -> np.ndarray:
    """(T, H, W) labels -> every phase cleaned."""
    return np.stack([clean_phase(lab) for lab in labels])


def impose_labels(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(T, 3, H, W) probabilities made to agree with cleaned (T, H, W) labels: where the argmax differs,
    the pixel becomes one-hot on the cleaned label (so resampling the probabilities keeps the clean-up)."""
    out = probs.copy()
    changed = probs.argmax(axis=1) != labels
    if changed.any():
        onehot = np.eye(probs.shape[1], dtype=probs.dtype)[labels]  # (T, H, W, 3)
        out = np.where(changed[:, None], np.moveaxis(onehot, -1, 1), out)
    return out
