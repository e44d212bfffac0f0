"""Echo clips degraded the way clinical video exports are (issue 30): one module for tests, evaluation and
training augmentation.

A clinical export (e.g. the EchoNet-Dynamic AVIs) is the scan sector cropped and fitted into a small square
(112 x 112 px), 8-bit grey, passed through a lossy video codec, with the machine's gain and compression
(contrast) settings and a depth chosen by the sonographer. `degrade_clip` applies, in order:

1. depth cut: the far-field rows (bottom `depth_cut` fraction of the image, atria first) removed;
2. gain and contrast: x -> gain * x ** gamma on 0..1 intensities (gamma < 1 lifts the dark cavity);
3. fitted into size_px x size_px: scaled by one factor (pixels stay square, area averaging), centred,
   padded with black; labels with nearest neighbour on the same grid, so they can be scored;
4. optional Gaussian blur at the new size (blur_sigma_px; for training);
5. 8-bit, then a lossy codec round trip through a temporary file with OpenCV: "mjpeg" (OpenCV's own
   Motion-JPEG encoder, `quality` 0-100 as clinical exports use, 50-75), "mpeg4" (MPEG-4 part 2 via FFmpeg,
   an inter-frame codec like H.264, at FFmpeg's default bit rate) or "none". H.264 itself: the
   opencv-python-headless wheel has no H.264 encoder (VideoWriter with 'avc1'/'H264' does not open), so
   "mpeg4" stands in for it.

spacing_mm is updated so every structure keeps its size in millimetres (spacing x scale factor). All of it is
deterministic: random_degradation(seed) draws the parameters, degrade_clip has no randomness.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from app.data.recording import Recording, uniform_frame_times

CODECS = ("mjpeg", "mpeg4", "none")
CLINICAL_SIZES_PX = (112, 160)


@dataclass(frozen=True)
class Degradation:
    """How to degrade a clip (see the module docstring for the order)."""

    size_px: int = 112
    codec: str = "mjpeg"
    quality: int = 60  # mjpeg only, 0-100
    gain: float = 1.0
    gamma: float = 1.0
    depth_cut: float = 0.0  # fraction of the rows removed at the bottom, 0-0.5
    blur_sigma_px: float = 0.0

    def __post_init__(self):
        if self.codec not in CODECS:
            raise ValueError(f"codec must be one of {', '.join(CODECS)}, got {self.codec!r}")
        if not 16 <= self.size_px <= 1024 or self.size_px % 2:
            raise ValueError(f"size_px must be an even number of pixels from 16 to 1024, got {self.size_px}")
        if not 0 <= self.quality <= 100:
            raise ValueError(f"quality must be 0-100, got {self.quality}")
        if not 0.0 <= self.depth_cut <= 0.5:
            raise ValueError(f"depth_cut must be 0-0.5, got {self.depth_cut}")
        if self.gain <= 0 or self.gamma <= 0 or self.blur_sigma_px < 0:
            raise ValueError("gain and gamma must be positive and blur_sigma_px not negative")


def clinical_export(size_px: int = 112) -> Degradation:
    """The fixed degradation `evaluate echo-seg --degrade` scores: MJPEG at quality 60, gain and contrast as
    recorded, a 10 % depth cut."""
    return Degradation(size_px=size_px, codec="mjpeg", quality=60, depth_cut=0.1)


def random_degradation(seed: int, sizes_px=CLINICAL_SIZES_PX + (128,)) -> Degradation:
    """Parameters drawn from the ranges clinical exports show (for training augmentation)."""
    rng = np.random.default_rng(seed)
    return Degradation(
        size_px=int(rng.choice(sizes_px)),
        codec=str(rng.choice(CODECS, p=[0.6, 0.25, 0.15])),
        quality=int(rng.integers(30, 91)),
        gain=float(rng.uniform(0.75, 1.3)),
        gamma=float(rng.uniform(0.7, 1.4)),
        depth_cut=float(rng.uniform(0.0, 0.25)),
        blur_sigma_px=float(rng.choice([0.0, rng.uniform(0.3, 1.0)])),
    )


@dataclass(frozen=True)
class DegradedClip:
    """frames (T, S, S) uint8; labels (R, S, S) uint8 or None; spacing_mm (row, col) of the new grid;
    mask (S, S) bool: the pixels that hold image (not the padding), or the fitted sector mask."""

    frames: np.ndarray
    labels: np.ndarray | None
    spacing_mm: tuple[float, float]
    mask: np.ndarray


def degrade_clip(frames: np.ndarray, spacing_mm, degradation: Degradation, labels: np.ndarray | None = None,
                 sector_mask: np.ndarray | None = None, frame_rate_hz: float = 30.0) -> DegradedClip:
    """frames (T, H, W) (uint8 0-255, or float 0-1) degraded; labels (R, H, W) and sector_mask (H, W) follow
    the same geometry with nearest-neighbour sampling, pixel centres aligned as the frames' INTER_AREA aligns
    them (INTER_NEAREST_EXACT: cv2's INTER_NEAREST takes floor(x * scale) and put the labels half a pixel down and
    right of the structures they name)."""
    import cv2

    d = degradation
    data = np.asarray(frames)
    unit = data.astype(np.float32) / (255.0 if data.dtype == np.uint8 else 1.0)
    keep, new_h, new_w, top, left = fit_geometry(unit.shape[1:], d)
    unit = unit[:, :keep]
    unit = np.clip(d.gain * np.clip(unit, 0.0, 1.0) ** d.gamma, 0.0, 1.0)
    h, w = unit.shape[1:]

    def place(image: np.ndarray, interpolation: int) -> np.ndarray:
        out = np.zeros((d.size_px, d.size_px), image.dtype)
        out[top:top + new_h, left:left + new_w] = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
        return out

    small = np.stack([place(f, cv2.INTER_AREA) for f in unit])
    if d.blur_sigma_px > 0:
        small = np.stack([cv2.GaussianBlur(f, (0, 0), d.blur_sigma_px) for f in small])
    video = np.round(np.clip(small, 0.0, 1.0) * 255.0).astype(np.uint8)
    if d.codec != "none":
        video = codec_round_trip(video, d.codec, d.quality, frame_rate_hz)
    new_labels = None
    if labels is not None:
        new_labels = np.stack([place(np.ascontiguousarray(lab[:keep]).astype(np.uint8), cv2.INTER_NEAREST_EXACT)
                               for lab in np.asarray(labels)])
    region = np.ones((h, w), np.uint8) if sector_mask is None else np.asarray(sector_mask)[:keep].astype(np.uint8)
    mask = place(region, cv2.INTER_NEAREST_EXACT).astype(bool)
    spacing = (float(spacing_mm[0]) * h / new_h, float(spacing_mm[1]) * w / new_w)
    return DegradedClip(video, new_labels, spacing, mask)


def fit_geometry(shape_hw: tuple[int, int], degradation: Degradation) -> tuple[int, int, int, int, int]:
    """(rows kept after the depth cut, fitted rows, fitted columns, top, left) of an (H, W) image fitted into the
    degradation's square (step 3 of the module docstring)."""
    h, w = shape_hw
    keep = max(2, int(round(h * (1.0 - degradation.depth_cut))))
    scale = degradation.size_px / max(keep, w)
    new_h, new_w = max(1, int(round(keep * scale))), max(1, int(round(w * scale)))
    return keep, new_h, new_w, (degradation.size_px - new_h) // 2, (degradation.size_px - new_w) // 2


def labels_after_resize(labels: np.ndarray, degradation: Degradation, out_px: int) -> np.ndarray:
    """(R, H, W) label maps carried where a degraded clip's pixels land once its size_px square is resized to
    out_px x out_px (as training resizes a small export back to the network's grid): the depth cut, the fit
    and the resize as one affine map, nearest neighbour at out_px, so the labels keep their full resolution and
    sit exactly on the structures (fitting them straight into out_px rounds the padding differently: up to a
    pixel off)."""
    import cv2

    keep, new_h, new_w, top, left = fit_geometry(labels.shape[-2:], degradation)
    w = labels.shape[-1]
    zoom = out_px / degradation.size_px
    # cv2.resize puts source pixel x at (x + 0.5) * dst / src - 0.5; then the square is resized to out_px
    a_r, a_c = new_h / keep * zoom, new_w / w * zoom
    b_r, b_c = (0.5 * new_h / keep + top) * zoom - 0.5, (0.5 * new_w / w + left) * zoom - 0.5
    matrix = np.array([[a_c, 0.0, b_c], [0.0, a_r, b_r]])
    return np.stack([cv2.warpAffine(np.ascontiguousarray(lab[:keep]).astype(np.uint8), matrix, (out_px, out_px),
                                    flags=cv2.INTER_NEAREST, borderValue=0) for lab in np.asarray(labels)])


def degrade_recording(recording: Recording, degradation: Degradation, labels: np.ndarray | None = None
                      ) -> tuple[Recording, np.ndarray | None]:
    """A 2D+t echo recording degraded (degrade_clip): the new Recording (same timing and view, the fitted
    sector mask) and the labels on its grid."""
    if recording.is_stack:
        raise ValueError("degrade_recording takes a 2D+t echo clip, not a stack of slices")
    frames = recording.frames
    if frames.dtype != np.uint8:
        lo, hi = float(frames.min()), float(frames.max())
        frames = (frames.astype(np.float32) - lo) / max(hi - lo, 1e-9)
    out = degrade_clip(frames, recording.spacing_mm, degradation, labels, recording.sector_mask,
                       recording.frame_rate_hz or 30.0)
    times = recording.frame_times_s if len(recording.frame_times_s) == recording.n_frames else \
        uniform_frame_times(recording.n_frames, 30.0)
    degraded = replace(recording, frames=out.frames, spacing_mm=out.spacing_mm, frame_times_s=times,
                       sector_mask=out.mask)
    return degraded, out.labels


def codec_round_trip(video: np.ndarray, codec: str, quality: int = 60, frame_rate_hz: float = 30.0) -> np.ndarray:
    """(T, H, W) uint8 written to a temporary video file with OpenCV and read back (T, H, W) uint8.

    mjpeg: OpenCV's own MJPEG encoder (the only OpenCV writer that honours a quality; its grey mode is
    broken, so frames go through as BGR); mpeg4: FFmpeg's MPEG-4 part 2 ('mp4v').
    """
    import cv2

    if codec == "none":
        return video
    t, h, w = video.shape
    api, fourcc, suffix = ((cv2.CAP_OPENCV_MJPEG, "MJPG", ".avi") if codec == "mjpeg"
                           else (cv2.CAP_FFMPEG, "mp4v", ".mp4"))
    with tempfile.TemporaryDirectory(prefix="cardiotrace_codec_") as folder:
        path = str(Path(folder) / f"clip{suffix}")
        writer = cv2.VideoWriter(path, api, cv2.VideoWriter.fourcc(*fourcc), float(frame_rate_hz), (w, h), True)
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write {codec} video")
        if codec == "mjpeg":
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, float(quality))
        for frame in video:
            writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_GRAY2BGR))
        writer.release()
        capture = cv2.VideoCapture(path)
        decoded: list[np.ndarray] = []
        while len(decoded) < t:
            ok, frame = capture.read()
            if not ok:
                break
            decoded.append(frame[..., 1] if frame.ndim == 3 else frame)
        capture.release()
    if len(decoded) != t:
        raise OSError(f"the {codec} round trip returned {len(decoded)} of {t} frames")
    return np.stack(decoded).astype(np.uint8)
