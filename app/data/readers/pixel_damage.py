"""Frames whose compressed pixel data is damaged although a decoder gave pixels for them.

A JPEG frame damaged in transfer or in an archive (bytes lost or changed) does not always fail to decode: pydicom
tries its next plugin where one fails, and one of libjpeg-turbo (Pillow) and libjpeg (pylibjpeg) often fills the
frame from the broken stream without a word. Such a frame is noise, not what the scanner stored; a run of them once
read as a second heart beat (a heart rate of 176 bpm). Two checks name the damaged frames:
- the frame's JPEG structure (ISO 10918: DICOM's JPEG baseline, extended and lossless syntaxes): it must end with
  its end-of-image marker, and its entropy-coded data may hold no marker other than restarts, tables and scans;
- where pydicom warned that its plugin changed during the decode (one refused a frame), the frames a plugin
  refuses although it decodes the file's others.
The reader notes them and the analysis leaves them out of the curve ED/ES come from.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

# DICOM's transfer syntaxes of ISO 10918 JPEG (baseline, extended, lossless, lossless SV1): the marker rules below
JPEG_10918_SYNTAXES = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                       "1.2.840.10008.1.2.4.70")
# markers that may follow entropy-coded data before the end of the image: tables (DHT, DAC, DQT), restart interval,
# line count, another scan, comments and application data; 0xC0-0xCF (frame headers, DHT, DAC) are checked apart
_BETWEEN_SCANS = frozenset({0xDA, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)})
_PLUGIN_CHANGED = "decoding plugin has changed"  # pydicom's warning when a frame needs another plugin


def decode_reporting_damage(ds, indices: list[int] | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """(ds.pixel_array, the frames found damaged); indices: only those frames are decoded, one at a time (a
    summary's sample, summary_only.py), stacked in that order; of the frames left out only those whose structure
    is damaged can be named."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = np.asarray(ds.pixel_array) if indices is None else _frames_at(ds, indices)
    damaged = set(_structurally_damaged(ds))
    if any(_PLUGIN_CHANGED in str(w.message) for w in caught):
        damaged |= set(_refused_by_a_plugin(ds))
    return data, tuple(sorted(damaged))


def _frames_at(ds, indices: list[int]) -> np.ndarray:
    from pydicom.pixels import iter_pixels

    with _pixel_source(ds) as source:
        return np.stack(list(iter_pixels(source, indices=indices)))


@contextmanager
def _pixel_source(ds) -> Iterator:
    """`ds`, or when its pixel data is uncompressed and still on disk (dicom_common.read_dataset defers large values)
    its image pixel elements with the file itself as their pixel data, which pydicom reads a frame at a time: a sample
    of a clip too large to load is decoded without its whole pixel data being read (summary_only.py)."""
    from pydicom.dataelem import DataElement, RawDataElement
    from pydicom.dataset import Dataset

    raw = ds.get_item("PixelData", keep_deferred=True)
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    filename = getattr(ds, "filename", None)
    if not isinstance(raw, RawDataElement) or raw.value is not None or syntax is None or syntax.is_encapsulated \
            or not isinstance(filename, str) or raw.value_tell is None:
        yield ds
        return
    view = Dataset()
    view.file_meta = ds.file_meta
    view.set_original_encoding(*ds.original_encoding)
    for tag in ds.keys():
        if tag.group == 0x0028:
            view[tag] = ds[tag]
    with open(filename, "rb") as file:
        file.seek(raw.value_tell)
        view.add(DataElement(raw.tag, raw.VR if raw.VR in ("OB", "OW") else "OW", file))  # implicit VR: OW
        yield view


def jpeg_damage(frame: bytes) -> str:
    """Why one ISO 10918 JPEG frame's structure is damaged ('' when it is sound)."""
    b = np.frombuffer(frame, np.uint8)
    end = len(b)
    while end > 0 and b[end - 1] in (0x00, 0xFF):  # DICOM pads a frame to an even length (encoders: 0 or 0xFF)
        end -= 1
    if end < 4 or b[0] != 0xFF or b[1] != 0xD8:
        return "no start-of-image marker"
    if b[end - 2] != 0xFF or b[end - 1] != 0xD9:
        return "cut short (no end-of-image marker)"
    ff = np.flatnonzero(b[:end - 1] == 0xFF)
    following = b[ff + 1]
    stuffed = (following == 0) | ((following >= 0xD0) & (following <= 0xD7)) | (following == 0xFF)  # data, restarts
    pos = 2
    for at in ff[~stuffed]:
        if at < pos:
            continue  # inside a segment's payload (a table may hold 0xFF bytes)
        marker = int(b[at + 1])
        if marker == 0xD9:
            return "" if at + 2 == end else "image data after its end-of-image marker"
        if marker == 0xD8 or not (marker in _BETWEEN_SCANS or 0xC0 <= marker <= 0xCF):
            return f"an invalid marker 0xFF{marker:02X} inside the image data"
        if at + 4 > end:
            return "a segment cut short"
        pos = at + 2 + (int(b[at + 2]) << 8 | int(b[at + 3]))
    return "no end-of-image marker"


def _frame_count(ds) -> int:
    return int(getattr(ds, "NumberOfFrames", 1) or 1)


def _structurally_damaged(ds) -> list[int]:
    if str(ds.file_meta.get("TransferSyntaxUID", "")) not in JPEG_10918_SYNTAXES:
        return []
    from pydicom.encaps import generate_frames

    frames = generate_frames(ds.PixelData, number_of_frames=_frame_count(ds))
    return [index for index, frame in enumerate(frames) if jpeg_damage(frame)]


def _refused_by_a_plugin(ds) -> list[int]:
    """The frames one of the decoder's plugins cannot decode although it decodes others of the file (a plugin
    that decodes none does not know this kind of JPEG: its refusals say nothing)."""
    from pydicom.pixels import get_decoder

    decoder = get_decoder(ds.file_meta.TransferSyntaxUID)
    refused: set[int] = set()
    for plugin in decoder.available_plugins:
        theirs = []
        for index in range(_frame_count(ds)):
            try:
                decoder.as_array(ds, index=index, decoding_plugin=plugin)
            except Exception:  # noqa: BLE001 - any refusal names the frame
                theirs.append(index)
        if len(theirs) < _frame_count(ds):
            refused.update(theirs)
    return sorted(refused)


def damage_note(frames: tuple[int, ...], n_frames: int) -> str:
    """The reader's note for damaged frames ('' for none): which, and what the analysis does with them."""
    if not frames:
        return ""
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    spans = [f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    which = ", ".join(spans[:-1]) + " and " + spans[-1] if len(spans) > 1 else spans[0]
    many = len(frames) > 1
    return (f"{len(frames)} of {n_frames} frames {'hold' if many else 'holds'} damaged image data "
            f"(frame{'s' if many or len(runs[0]) > 1 else ''} {which}, counted from 0): the decoder's guess, not the "
            "scanner's image, so left out of the ED/ES curve; get the file again from the scanner or the archive")
