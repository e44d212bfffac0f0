"""DICOM pieces shared by the ultrasound and MR readers: safe reading, patient fields, decoding to grey.

Every pydicom call that can fail on a bad file goes through here and comes back as a LoadError.
Decoding uses pydicom's pixel backends (RLE built in; JPEG baseline/extended/lossless, JPEG-LS and
JPEG 2000 through the pylibjpeg plugins), and GDCM when they all fail (gdcm_decode.py: e.g. 12-bit lossy JPEG). Colour
is reduced to grey luma (ITU-R BT.601 Y): PALETTE COLOR through `apply_color_lut`, YBR_FULL/YBR_FULL_422 to RGB by
pydicom, RGB to Y with `convert_color_space` (8-bit) or the same weights (16-bit); a sample of an 8-bit colour
file's frames is checked for colour off its grey map (`decode_frames`, colour_flow.py: colour Doppler).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from app.data.errors import LoadError
from app.data.readers import limits, pixel_damage

PDF_SOP = "1.2.840.10008.5.1.4.1.1.104.1"
DICOMDIR_SOP = "1.2.840.10008.1.3.10"
SR_SOP_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
DEFER_BYTES = 8 * 1024 * 1024
TRUNCATED = "the file ends early: its image data is cut short (an interrupted copy or transfer?)"


def read_dataset(path: str | Path, header_only: bool = False):
    """pydicom Dataset of `path` (force=True so headerless files load); LoadError when unreadable."""
    import pydicom

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # large values (pixel data) stay on disk until decoded, after the memory check
            ds = pydicom.dcmread(str(path), force=True, stop_before_pixels=header_only, defer_size=DEFER_BYTES)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on corrupt data
        raise LoadError(path, f"not a readable DICOM file ({_short(exc)})") from None
    if len(ds) == 0:
        # pydicom gives up the whole dataset when the file ends inside the encapsulated pixel data
        cut = any("End of file reached" in str(w.message) for w in caught)
        raise LoadError(path, TRUNCATED if cut else "not a DICOM file: no DICOM elements could be read")
    _ensure_transfer_syntax(ds)
    return ds


def _ensure_transfer_syntax(ds) -> None:
    """Headerless files have no file meta: record the encoding pydicom found so pixels can decode."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit is None:
        return
    uid = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
    ds.file_meta = meta if meta is not None else FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid


def get(ds, keyword: str, default=None):
    """ds.keyword, or `default` when absent, empty or unparsable (corrupt values never raise)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = ds.get(keyword, default)
    except Exception:  # noqa: BLE001 - a corrupt value reads as absent
        return default
    return default if value is None or value == "" else value


def get_float(ds, keyword: str) -> float | None:
    value = get(ds, keyword)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def get_floats(ds, keyword: str) -> list[float] | None:
    value = get(ds, keyword)
    if value is None:
        return None
    items = [value] if isinstance(value, (str, bytes, int, float)) else value
    try:
        return [float(v) for v in items]
    except (TypeError, ValueError):
        return None


def sop_class(ds) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(get(ds, "SOPClassUID") or (get(meta, "MediaStorageSOPClassUID") if meta else "") or "")


def refuse_non_images(ds, path: Path) -> None:
    """LoadError for DICOM objects that are not images (SR, encapsulated PDF, no pixel data)."""
    sop = sop_class(ds)
    if sop.startswith(SR_SOP_PREFIX) or str(get(ds, "Modality", "")).upper() == "SR":
        raise LoadError(path, "unsupported DICOM object: a structured report (SR), not an image")
    if sop == PDF_SOP or "EncapsulatedDocument" in ds:
        raise LoadError(path, "unsupported DICOM object: an encapsulated document (PDF), not an image")
    if not any(k in ds for k in _PIXEL_KEYWORDS):
        if "Rows" in ds and "Columns" in ds:  # an image's header without its pixels: almost always a cut copy
            raise LoadError(path, "the DICOM file ends before its image data: an image header (rows, columns) "
                                  "but no pixels (a file cut short?)")
        raise LoadError(path, "the DICOM file has no pixel data (no image in it)")


def patient_info(ds):
    """PatientInfo from the standard patient/study elements (empty strings when absent)."""
    from app.data.recording import PatientInfo

    def text(keyword: str) -> str:
        return str(get(ds, keyword, "")).strip()

    return PatientInfo(
        name=text("PatientName").replace("^", " ").strip(),
        patient_id=text("PatientID"),
        birth_date=text("PatientBirthDate"),
        sex=text("PatientSex"),
        study_date=text("StudyDate"),
        institution=text("InstitutionName"),
        manufacturer=text("Manufacturer"),
        study_uid=text("StudyInstanceUID"),
        height_cm=_positive(get_float(ds, "PatientSize"), 100.0),  # metres in DICOM
        weight_kg=_positive(get_float(ds, "PatientWeight"), 1.0),
    )


def _positive(value: float | None, scale: float) -> float | None:
    """value x scale, or None when absent, zero (DICOM's 'unknown' in practice) or not finite."""
    import math

    return value * scale if value is not None and math.isfinite(value) and value > 0 else None


def image_geometry(ds, path: Path) -> tuple[int, int, int, int, int]:
    """(frames, rows, cols, samples, bytes_per_sample) from the header; LoadError when missing."""
    try:
        rows, cols = int(get(ds, "Rows", 0)), int(get(ds, "Columns", 0))
        frames = int(get(ds, "NumberOfFrames", 1))
        samples = int(get(ds, "SamplesPerPixel", 1) or 1)
        bits = int(get(ds, "BitsAllocated", 8) or 8)
    except (TypeError, ValueError):
        raise LoadError(path, "the image size fields (Rows, Columns, NumberOfFrames) are not numbers") from None
    if rows <= 0 or cols <= 0:
        raise LoadError(path, f"the image has no size (Rows={rows}, Columns={cols})")
    if frames <= 0:
        raise LoadError(path, "the file holds zero frames")
    return frames, rows, cols, samples, max(1, (bits + 7) // 8)


def check_size(ds, path: Path, deferrable: bool = False) -> None:
    """Refuse before decoding when the file holds less pixel data than its header describes (holds_frames), or
    when the decoded frames (plus colour/grey copies) exceed the limit (deferrable: only a sample of them is decoded,
    limits.check_decoded_size)."""
    frames, rows, cols, samples, nbytes = image_geometry(ds, path)
    holds_frames(ds, path, frames, rows * cols * samples * nbytes)
    colour_bytes = 6 if str(get(ds, "PhotometricInterpretation", "")).upper() == "PALETTE COLOR" else 0
    grey_bytes = nbytes if samples == 1 and not colour_bytes else 2
    per_pixel = 2 * samples * nbytes + colour_bytes + 2 * grey_bytes  # raw + decoded + RGB + grey + masked
    limits.check_decoded_size(path, limits.estimate_bytes(frames, rows, cols, bytes_per_value=per_pixel, copies=1),
                              deferrable=deferrable)


def short_pixel_data(n_bytes: int, expected_bytes: int) -> str:
    return (f"the pixel data is shorter than the header describes: {n_bytes} of {expected_bytes} bytes (a file cut "
            "short by an interrupted copy or transfer, or a wrong image size in the header)")


def holds_frames(ds, path: Path, frames: int, frame_bytes: int) -> None:
    """LoadError when the pixel data is too short for the header's frames, found from its stored length without
    reading it: native data shorter than frames x frame_bytes, or encapsulated data too short for one item (8 bytes
    and 2 of data) per frame. A header whose size fields are corrupt is then a broken file, not a recording too
    large for this machine."""
    try:
        element = ds.get_item("PixelData", keep_deferred=True)
        length = getattr(element, "length", None)  # a raw element: its stored length, the value still on disk
        if length is None and element is not None:
            value = getattr(element, "value", None)
            length = len(value) if isinstance(value, bytes) else 0 if value is None else None
    except Exception:  # noqa: BLE001 - no length to judge by: the decoder will tell
        return
    if length == 0:  # present but empty: pydicom's decoders then fail on a None ("NoneType has no len()")
        raise LoadError(path, "the pixel data element is empty: no image in the file")
    if length is None:
        return
    meta = getattr(ds, "file_meta", None)
    syntax = meta.get("TransferSyntaxUID") if meta is not None else None
    if length == 0xFFFFFFFF or getattr(syntax, "is_encapsulated", False):
        # encapsulated: its stored length when read, else undefined on disk and bounded by the file's size
        size = length if length != 0xFFFFFFFF else Path(path).stat().st_size if Path(path).is_file() else None
        if size is not None and frames * 10 > size:
            raise LoadError(path, f"the pixel data holds fewer frames than the header's {frames}: the file is "
                                  f"{size} bytes (a file cut short, or a wrong NumberOfFrames)")
        return
    bits = int(get(ds, "BitsAllocated", 8) or 8)
    expected = frames * frame_bytes
    if str(get(ds, "PhotometricInterpretation", "")).upper().strip() == "YBR_FULL_422":
        expected = expected * 2 // 3  # chroma halved horizontally: 2 values a pixel, not 3
    if bits % 8 == 0 and length < expected:
        raise LoadError(path, short_pixel_data(length, expected))


def decode_grey(ds, path: Path, sample: list[int] | None = None) -> np.ndarray:
    """(T, H, W) grey frames in the file's grey range (uint8/uint16/int16...); LoadError on failure, and on
    damaged compressed data (an MR image, where one noisy slice would go into every volume unseen). sample: as
    decode_frames' (its frames, or all of them for a MONOCHROME1 file)."""
    decoded = decode_frames(ds, path, sample)
    if decoded.damaged_frames:
        raise LoadError(path, "the image data is damaged: the JPEG decoder reported a corrupt stream (get the "
                              "file again from the scanner or the archive)")
    return decoded.grey


@dataclass(frozen=True, eq=False)
class DecodedFrames:
    """A file's frames decoded: grey: (T, H, W) in the file's grey range; for an 8-bit colour file the sampled
    frames' pixels off its grey map (colour_flow.off_grey_map: (N, H, W) bool) and its (T, H, W, 3) uint8
    colours (both None for a grey file); damaged_frames: those the decoder reported damaged (pixel_damage).
    sample: the frames grey holds when it is a sample of them (decode_frames' `sample`; rgb is then None), else
    None: all of them."""

    grey: np.ndarray
    off_grey_map: np.ndarray | None = None
    rgb: np.ndarray | None = None
    damaged_frames: tuple[int, ...] = ()
    sample: tuple[int, ...] | None = None


def decode_frames(ds, path: Path, sample: list[int] | None = None) -> DecodedFrames:
    """The file's frames (DecodedFrames); LoadError on failure. sample: only these frames are decoded, with the
    colour sample, for a summary (summary_only.py); a MONOCHROME1 file all the same (flipped by the clip's range).
    A file too large to load is refused (check_size), but for a sample only as a deferred refusal (limits.py)."""
    from app.data.readers import colour_flow

    frames, rows, cols, samples, _ = image_geometry(ds, path)
    refuse_non_images(ds, path)
    photometric = str(get(ds, "PhotometricInterpretation", "MONOCHROME2")).upper().strip()
    colour_at = [int(i) for i in colour_flow.sample_indices(frames)]
    also = colour_at if samples > 1 or photometric == "PALETTE COLOR" else []  # the colour sample
    wanted = None if sample is None or photometric == "MONOCHROME1" else sorted({*sample, *also})
    check_size(ds, path, deferrable=wanted is not None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, photometric, damaged = _pixels(ds, path, photometric, wanted)
            if photometric == "PALETTE COLOR":
                from pydicom.pixels import apply_color_lut

                data = _palette_to_8bit(apply_color_lut(data, ds))
                samples = 3
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure becomes the file's LoadError
        short = re.search(r"less than expected \((\d+) vs (\d+) bytes\)", str(exc))  # pydicom's words for a cut file
        if short:
            raise LoadError(path, short_pixel_data(int(short[1]), int(short[2]))) from None
        if isinstance(exc, StopIteration) or str(exc).startswith("StopIteration"):  # out of encapsulated frames
            raise LoadError(path, f"the pixel data holds fewer frames than the header's {frames} (a file cut short, "
                                  "or a wrong NumberOfFrames)") from None
        raise LoadError(path, f"the pixel data could not be decoded ({_short(exc)})") from None
    grey = _to_grey(data, samples, photometric)
    grey = grey.reshape((-1, *grey.shape[-2:])) if grey.ndim >= 2 else grey
    n_decoded = frames if wanted is None else len(wanted)
    if grey.shape != (n_decoded, rows, cols):
        raise LoadError(path, f"decoded pixel data has shape {grey.shape}, header says {(n_decoded, rows, cols)}")
    at = _positions(wanted, frames)
    kept = None if wanted is None else tuple(sample or ())
    grey_kept = grey if kept is None else grey[[at[i] for i in kept]]
    if samples == 1 or data.dtype != np.uint8:  # grey, or 16-bit colour: no colour Doppler display
        return DecodedFrames(grey_kept, damaged_frames=damaged, sample=kept)
    rgb = data.reshape(n_decoded, *data.shape[-3:-1], -1)[..., :3]
    off = colour_flow.off_grey_map(rgb[[at[i] for i in colour_at]])
    return DecodedFrames(grey_kept, off, rgb if kept is None else None, damaged, kept)


def _positions(wanted: list[int] | None, n_frames: int) -> dict[int, int]:
    """Frame index -> its place among the decoded frames (all, or those `wanted`)."""
    return {i: k for k, i in enumerate(range(n_frames) if wanted is None else wanted)}


@cache
def _without_gdcm_in_process() -> None:
    """pydicom's own GDCM plugin decodes in this process, where GDCM ends the process on some damaged data (an
    uncaught C++ exception): pydicom keeps its other plugins, and GDCM runs in a child (gdcm_decode)."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import AllTransferSyntaxes

    for uid in AllTransferSyntaxes:
        try:
            get_decoder(uid).remove_plugin("gdcm")
        except (NotImplementedError, ValueError):  # no decoder for it, or no GDCM plugin in it
            pass


def _pixels(ds, path: Path, photometric: str,
            wanted: list[int] | None = None) -> tuple[np.ndarray, str, tuple[int, ...]]:
    """(pixels, their photometric interpretation, the frames decoded from damaged data): pydicom's decoders first;
    GDCM as the fallback for compressed data they cannot decode. wanted: only these frames (stacked)."""
    _without_gdcm_in_process()
    if wanted is not None:
        try:
            data, damaged = pixel_damage.decode_reporting_damage(ds, wanted)
            return data, photometric, damaged
        except Exception:  # noqa: BLE001 - decoded whole instead: by GDCM, or failing as the whole file fails
            check_size(ds, path)  # whole: a file too large to load is refused after all
            data, photometric, damaged = _pixels(ds, path, photometric)
            framed = data if int(get(ds, "NumberOfFrames", 1) or 1) > 1 else data[None]
            return framed[wanted], photometric, damaged
    try:
        data, damaged = pixel_damage.decode_reporting_damage(ds)
        return data, photometric, damaged
    except Exception as first:
        from app.data.readers import gdcm_decode

        meta = getattr(ds, "file_meta", None)
        compressed = meta is not None and getattr(meta.get("TransferSyntaxUID"), "is_compressed", False)
        if not compressed or not gdcm_decode.available() or not Path(path).is_file():
            raise
        try:
            data, decoded_as = gdcm_decode.decode_with_gdcm(path)
        except Exception as second:  # noqa: BLE001 - any GDCM failure joins pydicom's in one message
            raise ValueError(f"{_short(first)}; GDCM: {_short(second)}") from None
        if photometric.startswith("YBR") and decoded_as == "RGB":
            photometric = "RGB"
        one = data.shape[0] == 1 and int(get(ds, "NumberOfFrames", 1) or 1) == 1
        return (data[0] if one else data), photometric, ()


def _palette_to_8bit(rgb: np.ndarray) -> np.ndarray:
    """Palette colour with 16-bit LUT entries -> 8-bit RGB (display LUTs carry 8 useful bits)."""
    if rgb.dtype == np.uint8:
        return rgb
    return np.rint(rgb.astype(np.float32) / 257.0).clip(0, 255).astype(np.uint8)


def grey_flipped(data: np.ndarray) -> np.ndarray:
    """`data` with its grey turned over within its own range (MONOCHROME1's 0 = white made 0 = black); its own
    inverse, the range being kept."""
    return (data.max() - data + data.min()).astype(data.dtype)


def _to_grey(data: np.ndarray, samples: int, photometric: str) -> np.ndarray:
    if samples == 1:
        if photometric == "MONOCHROME1":  # 0 is white: flip so bright means signal
            return grey_flipped(data)
        return data
    rgb = data[..., :3]
    if rgb.dtype == np.uint8:
        from pydicom.pixels import convert_color_space

        return np.ascontiguousarray(convert_color_space(rgb, "RGB", "YBR_FULL")[..., 0])
    luma = rgb.astype(np.float32) @ _LUMA_WEIGHTS
    return np.clip(np.rint(luma), 0, np.iinfo(np.uint16).max).astype(np.uint16)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
