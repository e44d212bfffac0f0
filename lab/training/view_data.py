"""Training and validation frames of the view classifier (numpy only, no torch).

Every frame goes through app.ml.view.frame_to_input (sector bounding box, area resize to S x S).
Sources per class:
- a4c: REAL CAMUS A4C ED and ES images (camus_a4c/<split>) + phantom A4C clips;
- a2c, a3c: phantom clips only (app.data.phantom.make_echo; no real A2C/A3C data exists here);
- plax, psax: nothing (the network masks these classes);
- other: phantom cine-MRI short-axis frames; synthetic fan-shaped sectors that are blank (low noise),
  pure speckle, or smooth random tissue blobs; and real CAMUS frames whose sector is cut into 4 x 4
  tiles and shuffled (real texture, no heart anatomy, so "looks real" is not a shortcut to a4c).
Phantom clips are rendered with random quality, depth, tilt, sector width, image size and heart.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from app.ml.view import frame_to_input

APICAL = ("a4c", "a2c", "a3c")
OTHER_KINDS = ("mri", "blank", "speckle", "blobs", "shuffled")


def random_echo_params(view: str, rng: np.random.Generator):
    """EchoPhantomParams with random quality, depth, tilt, sector width, image size and heart."""
    from app.data.phantom import QUALITIES, EchoPhantomParams, HeartParams

    edv = float(rng.uniform(80, 200))
    heart = HeartParams(edv_ml=edv, esv_ml=edv * float(rng.uniform(0.3, 0.7)),
                        heart_rate_bpm=float(rng.uniform(55, 110)), start_phase=float(rng.uniform(0, 0.99)))
    rows = int(rng.integers(160, 257))
    return EchoPhantomParams(
        heart=heart, view=view, beats=1, frame_rate_hz=20.0, quality=str(rng.choice(QUALITIES)),
        depth_mm=None if rng.random() < 0.4 else float(rng.uniform(130, 200)),
        sector_deg=float(rng.uniform(60, 90)), image_shape_px=(rows, int(rows * rng.uniform(0.9, 1.25))),
        tilt_deg=float(rng.uniform(-15, 15)))


def phantom_echo_clip(view: str, seed: int, size_px: int, n_frames: int) -> np.ndarray:
    """(n, S, S) inputs from random frames of one phantom clip rendered with `seed`."""
    from app.data.phantom import make_echo

    rng = np.random.default_rng(seed)
    for _ in range(5):
        try:
            rec = make_echo(random_echo_params(view, rng), seed=seed).recording
            break
        except ValueError:  # the heart did not fit this depth / sector: draw again
            continue
    else:  # pragma: no cover - defaults always fit
        from app.data.phantom import EchoPhantomParams, make_echo as _make

        rec = _make(EchoPhantomParams(view=view, beats=1, frame_rate_hz=20.0), seed=seed).recording
    frames = rec.frames_unit()
    picks = rng.choice(frames.shape[0], size=min(n_frames, frames.shape[0]), replace=False)
    return np.stack([frame_to_input(frames[t], rec.sector_mask, size_px) for t in sorted(picks)])


def phantom_mri_frames(seed: int, size_px: int, n_frames: int) -> np.ndarray:
    """(n, S, S) inputs from random slices/phases of a small phantom short-axis MRI stack."""
    from app.data.phantom import QUALITIES, MriPhantomParams, make_mri

    rng = np.random.default_rng(seed)
    params = MriPhantomParams(n_phases=10, n_slices=4, image_px=int(rng.integers(128, 193)), pixel_mm=1.5,
                              quality=str(rng.choice(QUALITIES)))
    rec = make_mri(params, seed=seed).recording
    out = []
    for _ in range(n_frames):
        s = int(rng.integers(rec.n_slices))
        frame = rec.frames_unit(s)[int(rng.integers(rec.n_frames))]
        out.append(frame_to_input(frame, None, size_px))
    return np.stack(out)


def fan_mask(shape_hw: tuple[int, int], angle_deg: float) -> np.ndarray:
    """(H, W) bool ultrasound fan with its apex at the top centre."""
    h, w = shape_hw
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - (w - 1) / 2, yy + 1.0
    radius = np.hypot(dx, dy)
    return (np.abs(np.degrees(np.arctan2(dx, dy))) <= angle_deg / 2) & (radius <= h)


def synthetic_other(kind: str, rng: np.random.Generator, size_px: int, camus: np.ndarray | None = None) -> np.ndarray:
    """One (S, S) 'other' input: blank, speckle or blob sectors, or a tile-shuffled real CAMUS frame."""
    h = int(rng.integers(160, 257))
    shape = (h, int(h * rng.uniform(0.9, 1.3)))
    mask = fan_mask(shape, float(rng.uniform(60, 90)))
    if kind == "blank":
        img = rng.uniform(0, 0.08) * rng.rayleigh(1.0, shape)
    elif kind == "speckle":
        img = rng.uniform(0.2, 0.6) * rng.rayleigh(1.0, shape)
    elif kind == "blobs":
        coarse = rng.random((int(rng.integers(3, 10)),) * 2).astype(np.float32)
        smooth = cv2.resize(coarse, shape[::-1], interpolation=cv2.INTER_CUBIC)
        img = np.clip(smooth, 0, 1) ** rng.uniform(1, 3) * rng.rayleigh(0.6, shape)
    elif kind == "shuffled" and camus is not None and len(camus):
        src = camus[int(rng.integers(len(camus)))]
        n, t = 4, size_px // 4
        tiles = [src[r * t:(r + 1) * t, c * t:(c + 1) * t] for r in range(n) for c in range(n)]
        order = rng.permutation(len(tiles))
        rows = [np.concatenate([tiles[order[r * n + c]] for c in range(n)], 1) for r in range(n)]
        img = cv2.resize(np.concatenate(rows, 0), shape[::-1], interpolation=cv2.INTER_LINEAR)
    else:
        img = rng.rayleigh(0.3, shape)
    img = np.clip(img, 0, 1).astype(np.float32) * mask
    return frame_to_input(img, mask, size_px)


def camus_inputs(split: str, size_px: int, root: Path | None = None, limit: int | None = None) -> np.ndarray:
    """(2N, S, S) inputs: the ED and ES image of every CAMUS patient of `split` (REAL A4C)."""
    from lab.training.camus_data import case_paths, load_case

    out = []
    for path in case_paths(split, root)[:limit]:
        for image in load_case(path).images:
            out.append(frame_to_input(image.astype(np.float32) / 255.0, None, size_px))
    return np.stack(out).astype(np.float32)


def build_pools(seeds: range, frames_per_clip: int, size_px: int, camus: np.ndarray | None,
                n_other_each: int, log=print) -> dict[str, dict[str, np.ndarray]]:
    """class -> source -> (N, S, S) inputs. seeds: phantom clip seeds (one clip per view and seed)."""
    pools: dict[str, dict[str, np.ndarray]] = {}
    for view in APICAL:
        clips = [phantom_echo_clip(view, 1000 * APICAL.index(view) + s, size_px, frames_per_clip) for s in seeds]
        pools[view] = {"phantom": np.concatenate(clips)}
        log(f"  {view}: {len(clips)} phantom clips, {len(pools[view]['phantom'])} frames", flush=True)
    if camus is not None and len(camus):
        pools["a4c"]["camus"] = camus
    rng = np.random.default_rng(seeds.start + 7)
    n_mri = max(1, len(seeds) // 3)
    other = {"mri": np.concatenate([phantom_mri_frames(50000 + s, size_px, max(1, n_other_each // n_mri))
                                    for s in range(seeds.start, seeds.start + n_mri)])}
    for kind in OTHER_KINDS[1:]:
        if kind == "shuffled" and (camus is None or not len(camus)):
            continue
        other[kind] = np.stack([synthetic_other(kind, rng, size_px, camus) for _ in range(n_other_each)])
    pools["other"] = other
    log("  other: " + ", ".join(f"{k} {len(v)}" for k, v in other.items()), flush=True)
    return pools
