"""Phantom short-axis cine stacks as MRI training samples (every phase labelled), some with infarcts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from app.analysis.lv_localise import crop_around
from app.data.phantom import HeartParams, MriPhantomParams, make_mri
from app.data.phantom.segments import AHA_SEGMENTS
from lab.training.mri_data import CROP_PX, GRID_MM, SAMPLES_VERSION, MriSample, prepare_cine, to_grid

QUALITIES = ("excellent", "good", "fair", "poor")


TRABECULAE_MM = (3.0, 6.0)  # range of the apical trabecular layer's width with trabeculae=True


def random_params(rng: np.random.Generator) -> MriPhantomParams:
    """Varied hearts: EDV 90-260 ml, EF 15-70 %, half with 1-3 infarcted segments, varied image quality."""
    edv = float(rng.uniform(90, 260))
    ef = float(rng.uniform(0.15, 0.70))
    infarct = ()
    if rng.random() < 0.5:
        names = [s for s in AHA_SEGMENTS if not s.startswith("basal")]
        infarct = tuple(rng.choice(names, size=int(rng.integers(1, 4)), replace=False))
    heart = HeartParams(edv_ml=edv, esv_ml=edv * (1 - ef), heart_rate_bpm=float(rng.uniform(55, 95)),
                        infarct=infarct)
    return MriPhantomParams(heart=heart, n_phases=20, n_slices=int(rng.integers(8, 12)),
                            pixel_mm=float(rng.uniform(1.2, 1.6)), image_px=192,
                            quality=str(rng.choice(QUALITIES)))


def phantom_samples(n_cases: int, seed: int, cache: Path, trabeculae: bool = False) -> list[MriSample]:
    """Slices holding the LV from `n_cases` phantom stacks, on the 1 mm crop grid (cached as npz);
    trabeculae: the same hearts with an apical trabecular layer of TRABECULAE_MM width, labelled myocardium
    (app/data/phantom/mri_scene.py; the widths come from their own random stream)."""
    path = cache / f"phantom_sax_{n_cases}_{seed}{'_trab' if trabeculae else ''}_v{SAMPLES_VERSION}.npz"
    if path.is_file():
        return [MriSample(**item) for item in np.load(path, allow_pickle=True)["samples"]]
    rng, widths = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    samples: list[MriSample] = []
    for k in range(n_cases):
        params = random_params(rng)
        if trabeculae:
            params = replace(params, apical_trabeculae_mm=float(widths.uniform(*TRABECULAE_MM)))
        case = make_mri(params, seed=int(rng.integers(1 << 30)))
        samples += _case_samples(case, f"phantom{seed}_{k}")
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, samples=np.array([s.__dict__ for s in samples], dtype=object))
    return samples


def _case_samples(case, name: str) -> list[MriSample]:
    rec, labels = case.recording, case.truth.labels
    spacing = rec.spacing_mm
    pool_any = (labels == 1).any(axis=(1, 2, 3))
    rows, cols = np.nonzero((labels == 1).any(axis=(0, 1)))
    centre = (rows.mean() * spacing[0] / GRID_MM, cols.mean() * spacing[1] / GRID_MM)
    out = []
    for s in np.flatnonzero(pool_any | (labels == 2).any(axis=(1, 2, 3))):
        cine = to_grid(rec.frames[s].astype(np.float32), spacing)
        target = to_grid(labels[s], spacing, nearest=True)
        jitter = np.random.default_rng(s).normal(0, 6, 2)  # the real localiser is a few mm off
        image_crop, offset = prepare_cine(cine, (centre[0] + jitter[0], centre[1] + jitter[1]))
        target_crop, _ = crop_around(target, (centre[0] + jitter[0], centre[1] + jitter[1]), CROP_PX)
        out.append(MriSample(name, int(s), image_crop, target_crop.astype(np.uint8), spacing, offset))
    return out
