"""NIfTI (.nii, .nii.gz) and MetaImage (.mhd + .raw) through SimpleITK.

SimpleITK's numpy array reverses the file's index order, so a file stored (x=width, y=height, t)
arrives as (T, H, W): rows along y. This is the CAMUS layout (depth along y), so CAMUS files and the
echo clip need no transposition.

Layout rules:
- 2D: one frame (1, H, W), echo.
- 3D: a 2D+t echo clip (T, H, W) when the caller says it is echo (read_image_file(echo=True), e.g.
  `analyze --view a4c`), the file name names an echo view (4CH, a4c, ...) or says "sequence"/"echo", or the
  voxels are stored as unsigned 8-bit (scanner video; MR volumes are not); otherwise a volume of slices
  (S, 1, H, W), MR.
- 4D (x, y, z, t), e.g. ACDC short axis: (S, T, H, W), MR; slices base -> apex when the image
  direction is a real orientation (same LPS apex rule as DICOM), else in file order.
Calibration rule: MetaImage ElementSpacing is millimetres by convention (trusted unless all 1.0).
NIfTI spacing is trusted only when xyzt_units states a spatial unit (m, mm, um); with unknown units
(the echo clip: 0.4 "mm" with units 0) the spacing is nominal, so spacing_mm = (1, 1) and
calibrated=False. A spacing that is the writer's default (every pixdim 1: what SimpleITK writes when the
spacing was never set) is no calibration either, with a reader note (unset_spacing.py).
Frame times: the time step in the header's time unit (seconds when it states none, and always for
MetaImage), used only when it is a plausible frame interval (1-500 ms); otherwise a default rate with
frame_times_nominal=True (e.g. the echo clip's step of 1).
"""

from __future__ import annotations

import gzip
import math
import re
import shutil
import struct
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from app.data.errors import LoadError
from app.data.readers import image_length, limits, unset_spacing
from app.data.readers.native_stderr import native_stderr_captured
from app.data.readers.plausible import PLAUSIBLE_FRAME_INTERVAL_S
from app.data.readers.sector import apply_mask, detect_sector
from app.data.readers.summary_only import unread_frames
from app.data.readers.view import view_from_text
from app.data.recording import NOMINAL_FRAME_RATE_HZ, Recording, SeriesInfo, uniform_frame_times

MAX_LABEL_VALUE = 7  # integer data within 0..7 everywhere: labels (ours 0-3, ACDC 0-3, M&Ms 0-3), not an image
APEX_DIRECTION_LPS = np.array([1.0, -1.0, -1.0]) / np.sqrt(3.0)
_ECHO_WORDS = ("sequence", "echo", "cine_echo")
NO_PIXDIM_NOTE = ("the file gives no pixel size (pixdim 0): read as uncalibrated (calibrate a known length to get mm "
                  "and ml)")
_SPACE_UNITS_TO_MM = {1: 1000.0, 2: 1.0, 3: 0.001}
_TIME_UNITS_TO_S = {8: 1.0, 16: 0.001, 24: 1e-6}


@contextmanager
def _itk_name(path: Path):
    """A name ITK accepts for `path`: ITK's NIfTI reader insists on .nii/.nii.gz and goes by it to decompress, so
    other names, and a gzip file named .nii (or a plain one named .nii.gz), are aliased through a symlink (or a
    copy) in a temporary folder. MetaImage headers keep their path."""
    from app.data.readers import detect

    if detect.sniff(path) == detect.METAIMAGE:
        yield path
        return
    with path.open("rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    if path.name.lower().endswith(".nii.gz" if gz else ".nii"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="cardiotrace-") as tmp:
        alias = Path(tmp) / ("image.nii.gz" if gz else "image.nii")
        try:
            alias.symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, alias)
        yield alias


def _reader(path: Path, itk_path: Path):
    """SimpleITK reader with the ImageIO chosen from the content (ITK would go by the extension)."""
    import SimpleITK as sitk

    from app.data.readers import detect

    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # ITK warnings go to stderr; errors still raise
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(itk_path))
    reader.SetImageIO("MetaImageIO" if detect.sniff(path) == detect.METAIMAGE else "NiftiImageIO")
    _itk_read(path, "header", reader.ReadImageInformation)
    if _meta(reader, "datatype").strip() in _COMPLEX_DATATYPES or reader.GetPixelID() in (
            sitk.sitkComplexFloat32, sitk.sitkComplexFloat64):
        raise LoadError(path, "the image holds complex numbers (e.g. raw MR data before reconstruction), not the "
                              "grey levels of an image: export the magnitude image")
    # MetaIO reads a spacing of 0 or NaN as 0, and ITK then refuses the image data in words of its own
    if reader.GetImageIO() == "MetaImageIO" and 0.0 in reader.GetSpacing():
        raise LoadError(path, f"the header's voxel spacing ({_spacing_text(path)}) has a size of zero or not a "
                              "number: fix its ElementSpacing (voxel sizes in mm, all above 0)")
    return reader


def _spacing_text(path: Path) -> str:
    """The MetaImage header's ElementSpacing (or ElementSize) as written, for the message."""
    try:
        header = path.read_bytes()[:64 * 1024].decode("latin-1")
    except OSError:
        return "unreadable"
    found = re.search(r"^\s*Element(?:Spacing|Size)\s*=\s*(.*?)\s*$", header, re.MULTILINE)
    return f"ElementSpacing = {found[1]}" if found else "not given"


_COMPLEX_DATATYPES = ("32", "1792", "2048")  # NIfTI's complex64, complex128, complex256

def _itk_read(path: Path, part: str, call, notice_fails: bool = False):
    """call() (an ITK read) with what MetaIO and nifticlib print on stderr captured: LoadError "the image `part`
    could not be read (their reason, else ITK's first line)" when it raises, or with `notice_fails` when they
    report a failure and ITK reads on (MetaIO's "Uncompress failed"); else their text back on stderr."""
    failed: str | None
    with native_stderr_captured() as printed:
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - SimpleITK raises RuntimeError with multi-line ITK text
            failed = _first_line(exc)
        else:
            failed = None
    if failed is not None or (notice_fails and printed.says_failed()):
        raise LoadError(path, f"the image {part} could not be read ({printed.first_line() or failed})")
    printed.emit()
    return result


def _meta(reader, key: str) -> str:
    return reader.GetMetaData(key) if reader.HasMetaDataKey(key) else ""


def _stored_8bit(reader) -> bool:
    """True when the file stores unsigned 8-bit voxels (NIfTI datatype 2 / MetaImage MET_UCHAR)."""
    import SimpleITK as sitk

    datatype = _meta(reader, "datatype")
    if datatype:
        return datatype.strip() == "2"
    return reader.GetPixelID() in (sitk.sitkUInt8, sitk.sitkVectorUInt8)


def _is_echo_clip(path: Path, reader, echo: bool = False) -> bool:
    """A 3D file is a 2D+t echo clip when the caller says so (echo), its name says so or it stores 8-bit
    grey (scanner video)."""
    if reader.GetDimension() != 3:
        return False
    if echo:
        return True
    stem = path.name.lower()
    named = view_from_text(stem) in ("a2c", "a3c", "a4c", "plax", "psax") or any(w in stem for w in _ECHO_WORDS)
    return named or _stored_8bit(reader)


def _units(reader) -> tuple[float | None, float | None]:
    """(mm per spatial unit or None when unknown, seconds per time unit) from the header."""
    code = _meta(reader, "xyzt_units")
    if not code:  # MetaImage: millimetres by convention; a time axis is taken as seconds
        return 1.0, 1.0
    try:
        value = int(code)
    except ValueError:
        return None, 1.0
    return _SPACE_UNITS_TO_MM.get(value & 7), _TIME_UNITS_TO_S.get(value & 56, 1.0)


def _code(reader, key: str) -> int | None:
    """A NIfTI header's integer field (qform_code, sform_code) as ITK reads it; None when absent or not a number."""
    try:
        return int(float(_meta(reader, key)))
    except ValueError:
        return None


def _pixel_bytes(reader) -> int:
    import SimpleITK as sitk

    size = sitk.Image([1] * reader.GetDimension(), reader.GetPixelID(), reader.GetNumberOfComponents())
    return max(1, size.GetSizeOfPixelComponent()) * reader.GetNumberOfComponents()


def describe(path: Path) -> SeriesInfo:
    """SeriesInfo from the header alone (no pixel decoding)."""
    with _itk_name(path) as itk_path:
        reader = _reader(path, itk_path)
    size = reader.GetSize()
    dim = len(size)
    echo = dim < 3 or _is_echo_clip(path, reader)
    frames = 1 if dim == 2 else (size[2] if echo else (size[3] if dim == 4 else 1))
    shape = tuple(reversed(size)) if dim != 4 else (size[2], size[3], size[1], size[0])
    return SeriesInfo(key=str(path), description=path.name, modality="echo" if echo else "mri",
                      n_frames=int(frames), shape=tuple(int(s) for s in shape), paths=(path,))


def read_image_file(path: Path, echo: bool = False, summary_only: bool = False) -> Recording:
    """Recording from a NIfTI or MetaImage file (echo: a 3D file is a 2D+t echo clip, see the layout rules).
    summary_only: every voxel is read all the same (a label map, a blank image and NaN voxels are told from all of
    them, and a gzip file cannot be sampled without decompressing it), but no masked or reordered copy is made
    (summary_only.py)."""
    with _itk_name(path) as itk_path:
        return _read(path, _reader(path, itk_path), echo, summary_only)


def _read(path: Path, reader, echo: bool = False, summary_only: bool = False) -> Recording:
    size, dim = reader.GetSize(), reader.GetDimension()
    if dim not in (2, 3, 4):
        raise LoadError(path, f"{dim}-dimensional image; expected 2D, 2D+t, 3D or 3D+t")
    if min(size) <= 0:
        raise LoadError(path, f"the image has an empty dimension (size {size})")
    n_voxels = int(np.prod(size, dtype=np.int64))
    # a broken file before one too large to load; a gzip file is decompressed only after the memory check
    streamed = image_length.is_gzip(path)
    _check_complete(path, reader, n_voxels, bound_only=streamed)
    limits.check_decoded_size(path, limits.estimate_bytes(*size, bytes_per_value=_pixel_bytes(reader) + 4, copies=2))
    if streamed:
        _check_complete(path, reader, n_voxels)
    import SimpleITK as sitk

    def direction_and_array():  # the image freed once copied
        image = reader.Execute()
        return image.GetDirection(), sitk.GetArrayFromImage(image)

    direction, data = _itk_read(path, "data", direction_and_array, notice_fails=True)
    data = _to_grey(data, reader.GetNumberOfComponents(), path)
    _refuse_label_map(path, data)
    finite = data[np.isfinite(data)] if np.issubdtype(data.dtype, np.floating) else data
    if finite.size == 0 or finite.min() == finite.max():
        what = f"every voxel is {finite.flat[0]:g}" if finite.size else "no voxel is a number (NaN or infinite)"
        raise LoadError(path, f"{what}: a blank image, nothing to analyze")
    if finite.size == data.size:
        return _recording(path, reader, data, direction, echo, summary_only)
    # NaN or infinite voxels: made the darkest value (background), and said, rather than carried into the contours
    n_bad = data.size - finite.size
    data = np.where(np.isfinite(data), data, finite.min()).astype(data.dtype, copy=False)
    recording = _recording(path, reader, data, direction, echo, summary_only)
    note = (f"{n_bad} of {data.size} voxels are not numbers (NaN or infinite): shown as background; "
            "check the frames they are in")
    return replace(recording, reader_notes=(*recording.reader_notes, note))


def _refuse_label_map(path: Path, data: np.ndarray) -> None:
    """LoadError for integer data whose every voxel is 0..MAX_LABEL_VALUE: a label map (ACDC's `_gt` files, our
    own masks) or an empty image, nothing to segment. Read as an image, an 8-bit 3D label map became an echo
    clip of black frames (in a batch over ACDC folders, a row of noise per label file)."""
    if data.size == 0 or not np.issubdtype(data.dtype, np.integer):
        return
    low, high = int(data.min()), int(data.max())
    if 0 <= low and high <= MAX_LABEL_VALUE:
        raise LoadError(path, f"every voxel is {low}-{high}: a label map (give it with --labels) or an empty image, "
                              "not an image to analyze")


def _check_complete(path: Path, reader, n_voxels: int, bound_only: bool = False) -> None:
    """LoadError when a NIfTI file (plain or gzip) or a MetaImage holds fewer voxel bytes than its header promises
    (ITK pads a truncated NIfTI with zeros instead of failing); bound_only: a gzip file is not decompressed, only
    a header claiming more than it could ever hold is refused (app.data.readers.image_length)."""
    if reader.GetImageIO() == "MetaImageIO":  # (a MetaImage written from a NIfTI keeps its NIfTI fields)
        image_length.check_metaimage(path, n_voxels * _pixel_bytes(reader))
        return
    offset, bitpix = _meta(reader, "vox_offset"), _meta(reader, "bitpix")
    if offset and bitpix:
        image_length.check_nifti(path, int(float(offset)) + n_voxels * max(1, int(bitpix) // 8), bound_only)


def _to_grey(data: np.ndarray, components: int, path: Path) -> np.ndarray:
    if components == 1:
        return data
    if components in (3, 4):
        luma = data[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return luma.astype(np.float32)
    raise LoadError(path, f"{components} values per pixel; expected grey or RGB")


def _recording(path: Path, reader, data: np.ndarray, direction, echo: bool = False,
               summary_only: bool = False) -> Recording:
    dim = reader.GetDimension()
    spacing = reader.GetSpacing()
    mm_per_unit, s_per_unit = _units(reader)
    nifti = bool(_meta(reader, "xyzt_units"))
    no_pixdim = nifti and not _stored_pixel_size(path)  # ITK reads a pixdim of 0 as 1 (mm): not a calibration
    clip = dim == 2 or _is_echo_clip(path, reader, echo)
    n_slices = 1 if clip else int(reader.GetSize()[2])
    unset = "" if no_pixdim else unset_spacing.reason(
        spacing, n_spatial=2 if clip else 3, has_time=dim == 4 or (clip and dim == 3), n_slices=n_slices,
        metaimage=not nifti, units_known=mm_per_unit is not None,
        placed=_code(reader, "qform_code") != 0 or _code(reader, "sform_code") != 0)
    trusted = mm_per_unit is not None and not no_pixdim and not unset
    spacing_mm = (spacing[1] * mm_per_unit, spacing[0] * mm_per_unit) if trusted else (1.0, 1.0)
    notes = (NO_PIXDIM_NOTE,) if no_pixdim else (unset_spacing.note(unset, stack=n_slices > 1),) if unset else ()
    common: dict[str, Any] = dict(spacing_mm=spacing_mm, calibrated=trusted, source_path=path,
                                  series_description=path.name, reader_notes=notes)
    if clip:
        frames = data[None] if dim == 2 else data
        step = spacing[2] * s_per_unit if dim == 3 and s_per_unit else None
        times, nominal = _times(frames.shape[0], step, NOMINAL_FRAME_RATE_HZ["echo"])
        mask = detect_sector(frames)
        shown = unread_frames(frames.shape, frames.dtype) if summary_only else apply_mask(frames, mask)
        return Recording(frames=shown, frame_times_s=times, modality="echo",
                         view=view_from_text(path.name), sector_mask=mask, frame_times_nominal=nominal,
                         **common)
    if dim == 3:
        stack = data[:, None]  # (S, 1, H, W)
        times, nominal = _times(1, None, NOMINAL_FRAME_RATE_HZ["mri"])
    else:
        stack = data.transpose(1, 0, 2, 3)  # (T, Z, Y, X) -> (S, T, H, W)
        step = spacing[3] * s_per_unit if s_per_unit else None
        times, nominal = _times(stack.shape[1], step, NOMINAL_FRAME_RATE_HZ["mri"])
    if summary_only:
        stack = unread_frames(stack.shape, stack.dtype)
    else:
        stack = base_to_apex(np.ascontiguousarray(stack), direction, dim)
    return Recording(frames=stack, frame_times_s=times, modality="mri", view="sax",
                     slice_spacing_mm=float(spacing[2] * mm_per_unit) if trusted else None,
                     frame_times_nominal=nominal, **common)


def _stored_pixel_size(path: Path) -> bool:
    """Whether the NIfTI header stores an in-plane pixel size (pixdim[1] and [2] positive and finite); True when the
    header cannot be read here (ITK read it: its own spacing stands)."""
    try:
        opener = gzip.open if image_length.is_gzip(path) else open
        with opener(path, "rb") as handle:
            head = handle.read(168)
    except (OSError, EOFError, zlib.error):
        return True
    for order in ("<", ">"):
        size = struct.unpack(order + "i", head[:4])[0] if len(head) >= 4 else 0
        if size == 348 and len(head) >= 108:  # NIfTI-1: float32 pixdim[8] at byte 76
            pixdim = struct.unpack(order + "8f", head[76:108])
        elif size == 540 and len(head) >= 168:  # NIfTI-2: float64 pixdim[8] at byte 104
            pixdim = struct.unpack(order + "8d", head[104:168])
        else:
            continue
        return all(math.isfinite(p) and p > 0 for p in pixdim[1:3])
    return True


def _times(n: int, step_s: float | None, default_hz: float) -> tuple[np.ndarray, bool]:
    """Frame times from the header time step when it is a plausible frame interval (1-500 ms)."""
    if step_s and PLAUSIBLE_FRAME_INTERVAL_S[0] <= step_s <= PLAUSIBLE_FRAME_INTERVAL_S[1] and n > 1:
        return uniform_frame_times(n, 1.0 / step_s), False
    return uniform_frame_times(n, default_hz), n > 1


def apex_first(direction, dim: int) -> bool:
    """True when the file's slice axis points from apex to base (real orientations only; an identity-like one
    says nothing of the anatomy: file order is kept)."""
    matrix = np.asarray(direction, dtype=np.float64).reshape(dim, dim)[:3, :3]
    if np.allclose(np.abs(matrix), np.eye(3)):
        return False
    return float(matrix[:, 2] @ APEX_DIRECTION_LPS) < 0


def base_to_apex(stack: np.ndarray, direction, dim: int) -> np.ndarray:
    """The stack with its slices base first: reversed when the file stores them apex first (apex_first)."""
    return stack[::-1].copy() if apex_first(direction, dim) else stack


def _first_line(exc: BaseException) -> str:
    """The informative line of an ITK error (the 'ITK ERROR: ...' text without the object address)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = next((ln for ln in lines if ln.startswith(("ITK ERROR", "Description"))), lines[-1] if lines else "")
    text = text.split("): ", 1)[-1] if text.startswith("ITK ERROR") else text
    return (text or type(exc).__name__)[:160]
