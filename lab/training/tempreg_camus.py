"""Echo clips with known ED/ES timing built from real CAMUS ED and ES frames (numpy/OpenCV only).

The ED frame is warped towards ES by a fraction (1 - v(t)) of a smooth ES->ED displacement field
(Farneback optical flow between the expert label maps, Gaussian smoothed), where v(t) is a synthetic
relative volume of `tempreg_cycle` (half the clips with the phantom's waveform and ED/ES definition); so the LV cavity
shrinks and regrows with a known timing. Fresh multiplicative speckle, gain flicker and noise per frame; random crop,
flip, frame rate, heart rate, number of beats and start phase per clip.
"""

from __future__ import annotations

import cv2
import numpy as np

from lab.training.camus_data import CamusCase
from lab.training.tempreg_cycle import phantom_timing_cycle, synthetic_cycle
from lab.training.tempreg_sample import TrainClip

MAX_FRAMES = 320


def _label_image(labels: np.ndarray) -> np.ndarray:
    """(H, W) labels -> blurred uint8 image with distinct grey levels per structure, for the flow."""
    img = np.zeros(labels.shape, np.float32)
    img[labels == 1], img[labels == 2], img[labels == 3] = 200.0, 100.0, 150.0
    return cv2.GaussianBlur(img, (0, 0), 3).astype(np.uint8)


def es_to_ed_flow(case: CamusCase) -> np.ndarray:
    """(H, W, 2) float32 field f with ES(x) ~ ED(x + f(x)), from the ED and ES label maps."""
    ed_lab, es_lab = case.labels
    flow = cv2.calcOpticalFlowFarneback(_label_image(es_lab), _label_image(ed_lab), None,
                                        0.5, 4, 31, 5, 7, 1.5, 0)
    return cv2.GaussianBlur(flow, (0, 0), 4)


def shrink_case(case: CamusCase, flow: np.ndarray, max_side: int = 128) -> tuple[CamusCase, np.ndarray]:
    """Images (area), labels (nearest) and flow (scaled) resized so the longer side is max_side px:
    clips are rendered at this working size (4-6x cheaper than full size) before the final resize."""
    h, w = case.images.shape[1:]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return case, flow
    size = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
    images = np.stack([cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in case.images])
    labels = np.stack([cv2.resize(lb, size, interpolation=cv2.INTER_NEAREST_EXACT) for lb in case.labels])
    small_flow = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR) * np.float32(scale)
    spacing = (case.spacing_mm[0] / scale, case.spacing_mm[1] / scale)
    return CamusCase(case.patient, images, labels, spacing), small_flow


def _clip_length(frames_per_beat: float, rng: np.random.Generator) -> int:
    beats = int(rng.integers(1, 5))
    n = int(round(frames_per_beat * (beats + rng.uniform(0.1, 0.6))))
    while n > MAX_FRAMES and beats > 1:
        beats -= 1
        n = int(round(frames_per_beat * (beats + rng.uniform(0.1, 0.6))))
    return int(np.clip(n, 16, MAX_FRAMES))


def _crop_box(shape: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int, int]:
    h, w = shape
    top, bottom = int(rng.uniform(0, 0.1) * h), h - int(rng.uniform(0, 0.1) * h)
    left, right = int(rng.uniform(0, 0.1) * w), w - int(rng.uniform(0, 0.1) * w)
    return top, bottom, left, right


def camus_clip(case: CamusCase, flow: np.ndarray, rng: np.random.Generator, size: int = 64) -> TrainClip:
    """One random clip: frames (T, size, size) uint8 with its ED/ES frames and label events."""
    fps, hr = rng.uniform(20.0, 100.0), rng.uniform(45.0, 120.0)
    frames_per_beat = fps * 60.0 / hr
    n = _clip_length(frames_per_beat, rng)
    make_cycle = phantom_timing_cycle if rng.random() < 0.5 else synthetic_cycle
    cycle = make_cycle(n, frames_per_beat, rng)
    while not (cycle.ed_frames or cycle.es_frames):
        cycle = make_cycle(n, frames_per_beat, rng)
    ed_img = case.images[0].astype(np.float32)
    h, w = ed_img.shape
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom, left, right = _crop_box((h, w), rng)
    gamma, flip, noise = rng.uniform(0.7, 1.4), rng.random() < 0.5, rng.uniform(0.01, 0.05)
    out = np.empty((n, size, size), np.uint8)
    for k, v in enumerate(cycle.volume):
        s = np.float32(1.0 - v)
        frame = cv2.remap(ed_img, gx + s * flow[..., 0], gy + s * flow[..., 1], cv2.INTER_LINEAR)
        frame *= rng.gamma(8.0, 0.125, size=frame.shape).astype(np.float32)  # fresh speckle
        small = cv2.resize(frame[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA) / 255.0
        small = np.clip(small * rng.normal(1.0, 0.03), 0.0, 1.0) ** gamma
        small = small + rng.normal(0.0, noise, small.shape)
        out[k] = np.clip(small * 255.0, 0, 255).astype(np.uint8)
    if flip:
        out = out[:, :, ::-1].copy()
    return TrainClip.from_cycle(out, cycle, f"camus:{case.patient}", "echo", fps)
