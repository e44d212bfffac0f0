"""AVI / MP4 through OpenCV: grey uint8 (T, H, W) frames, fps -> frame times, calibrated=False.

A video has no physical scale, so spacing_mm is nominal (1, 1) until the user calibrates. When the
container reports no usable fps, NOMINAL_FRAME_RATE_HZ["echo"] is used with frame_times_nominal=True. The
frame count in the header is only an estimate, so frames are read until the decoder stops, with the
memory limit checked against the header estimate first and again while reading. A video that stops well
short of its header's count (a truncated file: an interrupted copy or export) is kept with a reader note. A
sample of the colour frames tells a colour Doppler clip (colour_flow.py), whose colours are kept for the viewer.
For a summary only (summary_only.py) the frames are decoded one at a time and only the sampled ones kept.
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
from app.data.readers.sector import SectorEvidence, apply_mask, detect_sector, sample_step
from app.data.readers.summary_only import unread_frames
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
    frame count in a video's header is only an estimate); `indices` the frames kept."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.frames: list[np.ndarray] = []
        self.stride = 1

    def offer(self, index: int, frame_bgr: np.ndarray | None = None) -> None:
        """Frame `index`, kept when the stride takes it (None: its index only, _colour_indices)."""
        if index % self.stride:
            return
        self.indices.append(index)
        if frame_bgr is not None:
            self.frames.append(frame_bgr[..., ::-1])
        if len(self.indices) > 2 * colour_flow.SAMPLED_FRAMES:
            self.indices, self.frames, self.stride = self.indices[::2], self.frames[::2], 2 * self.stride

    def off_grey_map(self) -> np.ndarray | None:
        return colour_flow.off_grey_map(np.stack(self.frames)) if self.frames else None


def _decoded(capture) -> Iterator[np.ndarray]:
    """The video's frames as the decoder gives them (BGR, or grey), until it stops."""
    while True:
        ok, frame = capture.read()
        if not ok or frame is None:
            return
        yield frame


def _read_frames(capture, path: Path) -> tuple[list[np.ndarray], _ColourSample]:
    import cv2

    limit = limits.max_load_bytes()
    frames: list[np.ndarray] = []
    colour = _ColourSample()
    for frame in _decoded(capture):
        if frame.ndim == 3:
            colour.offer(len(frames), frame)
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if frames and grey.shape != frames[0].shape:
            raise LoadError(path, f"frame {len(frames)} has size {grey.shape}, the first has {frames[0].shape}")
        frames.append(grey)
        if len(frames) * grey.size * limits.WORKING_COPIES > limit:
            limits.check_decoded_size(path, len(frames) * grey.size * limits.WORKING_COPIES, "the video")
    return frames, colour


def _colour_indices(n_frames: int) -> list[int]:
    """The frames _ColourSample keeps of a clip of n_frames (its own rule, replayed on the indices)."""
    sample = _ColourSample()
    for index in range(n_frames):
        sample.offer(index)
    return sample.indices


class _Streamed:
    """What a summary keeps of a clip decoded one frame at a time, sampled as read_video samples a clip of
    `planned` frames: the frames read and their size, the sector evidence, the pixels the colour sample's grey map
    is learnt from (colour_flow.grey_map's subset, gathered frame by frame)."""

    def __init__(self, planned: int) -> None:
        self.sector_step = sample_step(planned)
        self.colour_at = _colour_indices(planned)
        self.n_frames = 0
        self.shape_hw: tuple[int, int] | None = None
        self.sector = SectorEvidence()
        self.map_levels: list[np.ndarray] = []
        self.map_colours: list[np.ndarray] = []
        self.levels_seen = np.zeros(256, dtype=bool)
        self.grey_deviation = 0  # colour_flow.none_off_map's bound

    def sampled_as_read(self) -> bool:
        """Whether the plan holds for the frames read (the header's count is only an estimate)."""
        return sample_step(self.n_frames) == self.sector_step and _colour_indices(self.n_frames) == self.colour_at

    def check_size(self, frame: np.ndarray, path: Path) -> None:
        size = (int(frame.shape[0]), int(frame.shape[1]))
        if self.shape_hw is None:
            self.shape_hw = size
        elif size != self.shape_hw:
            raise LoadError(path, f"frame {self.n_frames} has size {size}, the first has {self.shape_hw}")

    def add_colour(self, frame_bgr: np.ndarray) -> None:
        """A colour frame: its share of the grey map's subset (the regular stride over the stacked sample, from its
        place in it), its grey levels and how far it strays from grey."""
        import cv2

        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        luma = colour_flow.luma_of(rgb)
        pixels = luma.size
        step = colour_flow.map_step(len(self.colour_at) * pixels)
        first = (-len(self.map_levels) * pixels) % step
        self.map_levels.append(luma.reshape(-1)[first::step].copy())
        self.map_colours.append(rgb.reshape(-1, 3)[first::step].copy())
        self.levels_seen |= colour_flow.levels_in(luma)
        self.grey_deviation = max(self.grey_deviation, colour_flow.grey_deviation(rgb, luma))


def _stream(capture, path: Path, planned: int) -> _Streamed:
    """One pass over the frames; grab() alone for those no sample takes (no colour conversion, no copy)."""
    import cv2

    seen = _Streamed(planned)
    colour_at = set(seen.colour_at)
    while capture.grab():
        index = seen.n_frames
        in_sector, in_colour = index % seen.sector_step == 0, index in colour_at
        if in_sector or in_colour:
            ok, frame = capture.retrieve()
            if not ok or frame is None:  # where read() stops too
                break
            seen.check_size(frame, path)
            if in_colour and frame.ndim == 3:
                seen.add_colour(frame)
            if in_sector:
                seen.sector.add(frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
        seen.n_frames += 1
    return seen


def _flow_shares(capture, colour_at: list[int], table: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """A second pass: the share of the sector off the grey map `table` in each frame of the colour sample."""
    import cv2

    shares: list[float] = []
    wanted, index = set(colour_at), 0
    while index <= colour_at[-1] and capture.grab():
        if index in wanted:
            ok, frame = capture.retrieve()
            if not ok or frame is None or frame.ndim != 3:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            shares.append(float(colour_flow.off_frame(rgb, colour_flow.luma_of(rgb), table)[inside].mean()))
        index += 1
    return np.asarray(shares)


def _decoded_with(path: Path, read, summary_only: bool = False):
    """(the header's frame count, fps, read(capture, that count)), the capture released after, and any decoder
    failure the file's LoadError; summary_only: `read` keeps a sample only, a clip too large to load is read all the
    same (its refusal deferred, limits.py)."""
    capture = _open(path)
    try:
        count, height, width, fps = _header(capture)
        limits.check_decoded_size(path, limits.estimate_bytes(count, height, width), "the video",
                                  deferrable=summary_only)
        return count, fps, read(capture, count)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes the file's LoadError
        raise LoadError(path, f"the video could not be decoded ({exc})") from None
    finally:
        capture.release()


def read_video(path: Path, summary_only: bool = False) -> Recording:
    """Recording from an AVI or MP4 file; summary_only: for its summary, the frames not kept (summary_only.py)."""
    if summary_only:
        return _summary_recording(path)
    count, fps, (frames, colour) = _decoded_with(path, lambda capture, _: _read_frames(capture, path))
    if not frames:
        raise LoadError(path, "the video holds no readable frames")
    data = np.stack(frames).astype(np.uint8, copy=False)
    mask = detect_sector(data)
    mode = "colour Doppler" if colour_flow.shows_colour_flow(colour.off_grey_map(), mask) else "2D"
    display = _display_colours(path, data.shape, mask) if mode == "colour Doppler" else None
    return _recording(path, apply_mask(data, mask), count, fps, mask, mode, display)


def _summary_recording(path: Path) -> Recording:
    """read_video's recording, its frames streamed and not kept (unread_frames in the recording); read_video's
    memory checks deferred (limits.py), in its order and with its numbers, for a clip too large to load."""
    count, fps, seen = _decoded_with(path, lambda capture, n: _stream(capture, path, n), summary_only=True)
    if not seen.sampled_as_read():  # the header's count was off: sample the frames read, as read_video does
        n_read = seen.n_frames
        seen = _decoded_with(path, lambda capture, _: _stream(capture, path, n_read), summary_only=True)[2]
    if not seen.n_frames or seen.shape_hw is None:
        raise LoadError(path, "the video holds no readable frames")
    shape = (seen.n_frames, *seen.shape_hw)
    frame_bytes = limits.estimate_bytes(*seen.shape_hw)
    if seen.n_frames * frame_bytes > (limit := limits.max_load_bytes()):  # _read_frames' check, at the frame it fails
        limits.check_decoded_size(path, (limit // frame_bytes + 1) * frame_bytes, "the video", deferrable=True)
    mask = seen.sector.sector()
    mode = _streamed_mode(path, seen, mask)
    if mode == "colour Doppler":  # read_video's check before it decodes the colours again
        limits.check_decoded_size(path, limits.estimate_bytes(*shape, 3), "the video's colours", deferrable=True)
    return _recording(path, unread_frames(shape, np.uint8), count, fps, mask, mode, None)


def _streamed_mode(path: Path, seen: _Streamed, mask: np.ndarray | None) -> str:
    """read_video's image mode: the colour sample against its grey map, decoded again (the map needs all of it)
    unless none of it can be off the map."""
    if not seen.map_levels:
        return "2D"
    table = colour_flow.grey_map_of(np.concatenate(seen.map_levels), np.concatenate(seen.map_colours))
    if colour_flow.none_off_map(table, seen.levels_seen, seen.grey_deviation):
        shares = np.zeros(len(seen.map_levels))  # what the second look would find: no pixel off the map
    else:
        inside = colour_flow.sector_inside(mask, seen.shape_hw or (0, 0))
        shares = _decoded_with(path, lambda capture, _: _flow_shares(capture, seen.colour_at, table, inside),
                               summary_only=True)[2]
    return "colour Doppler" if len(shares) and colour_flow.flow_in(shares) else "2D"


def _recording(path: Path, frames: np.ndarray, header_count: int, fps: float, mask: np.ndarray | None, mode: str,
               display_rgb: np.ndarray | None) -> Recording:
    """The video's Recording from its (masked) grey frames and what was found in them."""
    n_frames = frames.shape[0]
    nominal = not (0.0 < fps < _MAX_PLAUSIBLE_FPS) or _avi_rate_is_zero(path)
    times = uniform_frame_times(n_frames, NOMINAL_FRAME_RATE_HZ["echo"] if nominal else fps)
    return Recording(
        frames=frames,
        spacing_mm=(1.0, 1.0),
        frame_times_s=times,
        modality="echo",
        view=view_from_text(path.stem),
        calibrated=False,
        source_path=path,
        sector_mask=mask,
        series_description=path.name,
        frame_times_nominal=nominal and n_frames > 1,
        reader_notes=_truncation_notes(header_count, n_frames),
        image_mode=mode,
        display_rgb=display_rgb,
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
