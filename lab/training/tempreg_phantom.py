"""Phantom echo and cine-MR recordings with random parameters for TempReg-Net training and evaluation.

Every parameter varies with the seed: EDV/EF, heart rate, systole/diastole ratio, start phase (so beats
are cut at either end), echo view, frame rate 20-100 Hz, 1-4 beats, image quality, tilt and sector width;
MR phases, slices and pixel size. MR clips use the mid-ventricular slice.
"""

from __future__ import annotations

import numpy as np

from lab.training.tempreg_cycle import CycleTruth, phantom_events
from lab.training.tempreg_sample import TrainClip

MAX_ECHO_FRAMES = 160
QUALITIES = ("excellent", "good", "fair", "poor")


def random_heart(rng: np.random.Generator):
    from app.data.phantom import HeartParams

    edv = rng.uniform(70.0, 260.0)
    ef = rng.uniform(15.0, 70.0)
    return HeartParams(edv_ml=edv, esv_ml=edv * (1.0 - ef / 100.0), heart_rate_bpm=rng.uniform(45.0, 120.0),
                       systole_diastole_ratio=rng.uniform(0.4, 0.9), start_phase=rng.uniform(0.0, 0.999))


def random_echo_params(rng: np.random.Generator):
    from app.data.phantom import EchoPhantomParams

    heart = random_heart(rng)
    fps = rng.uniform(20.0, 100.0)
    beats = int(rng.integers(1, 5))
    while beats > 1 and beats * fps * 60.0 / heart.heart_rate_bpm > MAX_ECHO_FRAMES:
        beats -= 1
    return EchoPhantomParams(heart=heart, view=str(rng.choice(["a4c", "a2c", "a3c"])), beats=beats,
                             frame_rate_hz=fps, quality=str(rng.choice(QUALITIES)),
                             sector_deg=rng.uniform(75.0, 90.0), tilt_deg=rng.uniform(-8.0, 8.0))


def random_mri_params(rng: np.random.Generator):
    from app.data.phantom import MriPhantomParams

    pixel_mm = rng.uniform(1.2, 1.8)
    image_px = int(np.ceil(max(180.0 / pixel_mm, 128)))
    return MriPhantomParams(heart=random_heart(rng), n_phases=int(rng.integers(16, 41)),
                            n_slices=int(rng.integers(5, 9)), pixel_mm=pixel_mm, image_px=image_px,
                            quality=str(rng.choice(QUALITIES)))


def make_short_echo(seed: int):
    """A cheap phantom echo (one beat, 20 Hz, 120 bpm) with random appearance, for its ED/ES frames only."""
    import dataclasses

    import app.data.phantom as phantom

    params = random_echo_params(np.random.default_rng(seed))
    heart = dataclasses.replace(params.heart, heart_rate_bpm=120.0, start_phase=0.9)
    return phantom.make_echo(dataclasses.replace(params, heart=heart, beats=1, frame_rate_hz=20.0), seed)


def make_case(seed: int, modality: str):
    """PhantomCase(recording, truth) of the given modality with parameters drawn from the seed."""
    import app.data.phantom as phantom

    rng = np.random.default_rng(seed)
    if modality == "echo":
        return phantom.make_echo(random_echo_params(rng), seed)
    return phantom.make_mri(random_mri_params(rng), seed)


def modality_of_seed(seed: int) -> str:
    """Two echo clips for each MR clip."""
    return "mri" if seed % 3 == 2 else "echo"


def case_events(recording, truth, n_frames: int | None = None) -> np.ndarray:
    """(E, 2) nominal (frame, is_ED) events of the phantom's timing over n_frames (default: the clip)."""
    heart = truth.parameters.get("heart", {}) if isinstance(truth.parameters, dict) else {}
    from app.data.phantom.timing import systole_fraction

    rate = recording.frame_rate_hz or 1.0
    hr = float(heart.get("heart_rate_bpm", recording.heart_rate_bpm or 60.0))
    start = float(heart.get("start_phase", 0.0))
    ratio = float(heart.get("systole_diastole_ratio", 0.6))
    return phantom_events(n_frames or recording.n_frames, rate * 60.0 / hr, start, systole_fraction(ratio))


def phantom_clip(seed: int, size: int = 64) -> TrainClip:
    """One phantom recording as a training clip (frames prepared exactly as at inference)."""
    modality = modality_of_seed(seed)
    return phantom_clip_from_case(make_case(seed, modality), seed, modality, size)


def phantom_clip_from_case(case, seed: int, modality: str, size: int = 64, cine_repeats: int = 2) -> TrainClip:
    """The recording as a clip. A cine MR series covers exactly one cardiac cycle, so it is repeated
    cine_repeats times (as a cine loop plays) to give training windows every start phase."""
    from app.ml.edes import default_slice, prepare_clip

    rec, truth = case.recording, case.truth
    frames = prepare_clip(rec, default_slice(rec), size)
    ed, es, n = list(truth.ed_frames), list(truth.es_frames), rec.n_frames
    repeats = cine_repeats if rec.modality == "mri" else 1
    frames = np.concatenate([frames] * repeats)
    ed = [f + r * n for r in range(repeats) for f in ed]
    es = [f + r * n for r in range(repeats) for f in es]
    events = case_events(rec, truth, n_frames=len(frames))
    cycle = CycleTruth(np.zeros(len(frames)), tuple(ed), tuple(es), events)
    clip_frames = np.clip(frames * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return TrainClip.from_cycle(clip_frames, cycle, f"phantom:{modality}:{seed}", modality,
                                rec.frame_rate_hz or 1.0)


def phantom_warp_clips(case, count: int, rng: np.random.Generator, size: int = 64) -> list[TrainClip]:
    """count cheap clips with arbitrary timing from one rendered phantom echo: its first ED and ES
    frames (cropped to the sector box) warped like the CAMUS clips (tempreg_camus)."""
    from lab.training.camus_data import CamusCase
    from lab.training.tempreg_camus import camus_clip, es_to_ed_flow, shrink_case

    rec, truth = case.recording, case.truth
    if not truth.ed_frames or not truth.es_frames or rec.is_stack:
        return []
    ed, es = truth.ed_frames[0], truth.es_frames[0]
    frames, labels = rec.frames, truth.labels
    if rec.sector_mask is not None and rec.sector_mask.any():
        from app.ml.inference import sector_box

        r0, r1, c0, c1 = sector_box(rec.sector_mask)
        frames, labels = frames[:, r0:r1, c0:c1], labels[:, r0:r1, c0:c1]
    pseudo = CamusCase(f"phantom{truth.parameters.get('seed', '')}", np.stack([frames[ed], frames[es]]),
                       np.stack([labels[ed], labels[es]]), tuple(rec.spacing_mm))
    pseudo, flow = shrink_case(pseudo, es_to_ed_flow(pseudo), 2 * size)
    return [camus_clip(pseudo, flow, rng, size) for _ in range(count)]
