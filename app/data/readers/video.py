"""AVI / MP4 through OpenCV: grey uint8 (T, H, W) frames, fps -> frame times, calibrated=False.

A video has no physical scale, so spacing_mm is nominal (1, 1) until the user calibrates. When the
container reports no usable fps, NOMINAL_FRAME_RATE_HZ["echo"] is used with frame_times_nominal=True. The
frame count in the header is only an estimate, so frames are read until the decoder stops, with the
memory limit checked against the header estimate first and again while reading. A video that stops well
short of its header's count (a truncated file: an interrupted copy or export) is kept with a reader note. A
sample of the colour frames tells a colour Doppler clip (colour_flow.py), whose colours are kept for the viewer.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.data.errors import LoadError
from app.data.readers import colour_flow, limits
from app.data.readers.sector import apply_mask, detect_sector
from app.data.readers.view import view_from_text
from app.data.recording import NOMINAL_FRAME_RATE_HZ, Recording, SeriesInfo, uniform_frame_times

_MAX_PLAUSIBLE_FPS = 1000.0
# Frames the decoder may fall short of the header's count without a note: FFmpeg estimates the count from the
# duration when the container does not store it.
_COUNT_TOLERANCE = 0.02


def _open(path: Path):
    """An OpenCV capture through FFmpeg only (other backends would try the file as an image list)."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own messages: quiet
    import cv2

    level = cv2.utils.logging.getLogLevel()  # a file it cannot open: our one error line, not its warning too
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not capture.isOpened():
        capture.release()
        raise LoadError(path, "the video could not be opened (corrupt file or unsupported codec)")
    return capture


def _header(capture) -> tuple[int, int, int, float]:
    """(frame count estimate, height, width, fps) as the container reports them."""
    import cv2

    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return max(count, 0), height, width, fps


def _avi_rate_is_zero(path: Path) -> bool:
    """An AVI whose video stream header gives no rate (dwRate or dwScale 0) and no frame period: FFmpeg then
    reports its default 25 fps as if the file said so (a 50 Hz clip's heart rate read at half)."""
    if path.suffix.lower() != ".avi":
        return False
    with open(path, "rb") as f:
        head = f.read(16384)
    if head[:4] != b"RIFF" or head[8:12] != b"AVI ":
        return False
    at = head.find(b"strh")
    while at >= 0 and head[at + 8:at + 12] != b"vids":
        at = head.find(b"strh", at + 4)
    if at < 0 or len(head) < at + 36:
        return False
    scale, rate = struct.unpack_from("<II", head, at + 8 + 20)
    avih = head.find(b"avih")
    period_us = struct.unpack_from("<I", head, avih + 8)[0] if 0 <= avih and len(head) >= avih + 12 else 0
    return (rate == 0 or scale == 0) and period_us == 0


def describe(path: Path) -> SeriesInfo:
    capture = _open(path)
    try:
        count, height, width, _ = _header(capture)
    finally:
        capture.release()
    return SeriesInfo(key=str(path), description=path.name, modality="echo", n_frames=count,
                      shape=(count, height, width), paths=(path,))


class _ColourSample:
    """Every `stride`-th colour frame, the stride doubling whenever more than twice SAMPLED_FRAMES are kept (the
    frame count in a video's header is only an estimate)."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []
        self.stride = 1

    def offer(self, index: int, frame_bgr: np.ndarray) -> None:
        if index % self.stride:
            return
        self.frames.append(frame_bgr[..., ::-1])
        if len(self.frames) > 2 * colour_flow.SAMPLED_FRAMES:
            self.frames, self.stride = self.frames[::2], 2 * self.stride

    def off_grey_map(self) -> np.ndarray | None:
        return colour_flow.off_grey_map(np.stack(self.frames)) if self.frames else None


def _decoded(capture) -> Iterator[np.ndarray]:
    """The video's frames as the decoder gives them (BGR, or grey), until it stops."""
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            return
        yield frame


def _read_frames(capture, path: Path, colour: _ColourSample) -> list[np.ndarray]:
    import cv2

    limit = limits.max_load_bytes()
    frames: list[np.ndarray] = []
    for frame in _decoded(capture):
        if frame.ndim == 3:
            colour.offer(len(frames), frame)
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if frames and grey.shape != frames[0].shape:
            raise LoadError(path, f"frame {len(frames)} has size {grey.shape}, the first has {frames[0].shape}")
        frames.append(grey)
        if len(frames) * grey.size * limits.WORKING_COPIES > limit:
            limits.check_decoded_size(path, len(frames) * grey.size * limits.WORKING_COPIES, "the video")
    return frames


def read_video(path: Path) -> Recording:
    """Recording from an AVI or MP4 file."""
    capture = _open(path)
    try:
        count, height, width, fps = _header(capture)
        limits.check_decoded_size(path, limits.estimate_bytes(count, height, width), "the video")
        colour = _ColourSample()
        frames = _read_frames(capture, path, colour)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes the file's LoadError
        raise LoadError(path, f"the video could not be decoded ({exc})") from None
    finally:
        capture.release()
    if not frames:
        raise LoadError(path, "the video holds no readable frames")
    data = np.stack(frames).astype(np.uint8, copy=False)
    nominal = not (0.0 < fps < _MAX_PLAUSIBLE_FPS) or _avi_rate_is_zero(path)
    times = uniform_frame_times(len(frames), NOMINAL_FRAME_RATE_HZ["echo"] if nominal else fps)
    mask = detect_sector(data)
    mode = "colour Doppler" if colour_flow.shows_colour_flow(colour.off_grey_map(), mask) else "2D"
    return Recording(
        frames=apply_mask(data, mask),
        spacing_mm=(1.0, 1.0),
        frame_times_s=times,
        modality="echo",
        view=view_from_text(path.stem),
        calibrated=False,
        source_path=path,
        sector_mask=mask,
        series_description=path.name,
        frame_times_nominal=nominal and len(frames) > 1,
        reader_notes=_truncation_notes(count, len(frames)),
        image_mode=mode,
        display_rgb=_display_colours(path, data.shape, mask) if mode == "colour Doppler" else None,
    )


def _display_colours(path: Path, shape: tuple[int, ...], mask: np.ndarray | None) -> np.ndarray | None:
    """The colours of a colour Doppler clip for the viewer, decoded again (only such clips keep them: most grey
    echo videos are stored as colour too); None when the second pass does not give the same frames."""
    import cv2

    limits.check_decoded_size(path, limits.estimate_bytes(*shape, 3), "the video's colours")
    capture = _open(path)
    try:
        frames: list[np.ndarray] = []
        for frame in itertools.islice(_decoded(capture), shape[0]):
            if frame.shape[:2] != shape[1:] or frame.ndim != 3:
                return None
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if len(frames) < shape[0]:
        return None
    return apply_mask(np.stack(frames), mask)  # black outside the sector, as the grey frames


def _truncation_notes(header_count: int, n_read: int) -> tuple[str, ...]:
    """A note when the decoder stopped short of the header's frame count by more than its tolerance."""
    if header_count - n_read <= max(1, int(_COUNT_TOLERANCE * header_count)):
        return ()
    return (f"the video ends early: {n_read} of the {header_count} frames its header announces could be read "
            "(a truncated or damaged file)",)
