"""Content sniffing: decide which reader handles a path from its bytes, never from its extension.

Signatures checked (first bytes of the file):
- DICOM Part 10: 128-byte preamble then b"DICM" at offset 128.
- Headerless DICOM (no preamble): a group 0x0002/0x0008 tag at offset 0, confirmed by pydicom later.
- DICOMDIR: a Part 10 file whose SOP class is the Media Storage Directory (told apart by the reader).
- NIfTI-1/NIfTI-2: b"n+1"/b"ni1" at 344, b"n+2"/b"ni2" at 4, also inside gzip (b"\\x1f\\x8b").
- MetaImage: a text header with "ObjectType", "NDims" or "ElementDataFile" keys.
- AVI: b"RIFF" .... b"AVI "; MP4/MOV: b"ftyp" at offset 4 (or "moov"/"mdat"/"wide" atoms).
Known non-image formats (PDF, ZIP, PNG, JPEG, text) are named so the error says what the file is.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from app.data.errors import LoadError

DICOM = "dicom"
NIFTI = "nifti"
METAIMAGE = "metaimage"
VIDEO = "video"
FOLDER = "folder"

_HEAD_BYTES = 1024
_KNOWN_OTHER = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (such as a NumPy .npz), not a recording"),
    (b"\x89PNG", "a PNG image (a single still picture, not a recording)"),
    (b"\xff\xd8\xff", "a JPEG image (a single still picture, not a recording)"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program binary"),
)
_DICOM_START_GROUPS = (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")
_METAIMAGE_KEYS = (b"objecttype", b"ndims", b"elementdatafile", b"dimsize")


def _read_head(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise LoadError(path, f"cannot open the file ({exc.strerror or exc})") from None


def _gunzip_head(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except (OSError, EOFError, zlib.error):
        return b""


def _is_nifti(head: bytes) -> bool:
    return head[344:348] in (b"n+1\x00", b"ni1\x00") or head[4:8] in (b"n+2\x00", b"ni2\x00")


def _is_metaimage(head: bytes) -> bool:
    text = head[:512].lower()
    return any(text.lstrip().startswith(k) or b"\n" + k in text for k in _METAIMAGE_KEYS)


def _is_video(head: bytes) -> bool:
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return True
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in (9, 10, 13) for c in head)


def sniff(path: str | Path) -> str:
    """The reader kind for `path`: DICOM, NIFTI, METAIMAGE, VIDEO or FOLDER; LoadError otherwise."""
    path = Path(path)
    if path.is_dir():
        return FOLDER
    if not path.exists():
        raise LoadError(path, "no such file or folder")
    if not path.is_file():
        raise LoadError(path, "not a regular file")
    head = _read_head(path)
    if not head:
        raise LoadError(path, "the file is empty (0 bytes)")
    if head[128:132] == b"DICM":
        return DICOM
    if _is_nifti(head):
        return NIFTI
    if head[:2] == b"\x1f\x8b":
        if _is_nifti(_gunzip_head(path)):
            return NIFTI
        raise LoadError(path, "a gzip file that does not hold a NIfTI image (or is truncated)")
    if _is_video(head):
        return VIDEO
    if _is_metaimage(head):
        return METAIMAGE
    for magic, what in _KNOWN_OTHER:
        if head.startswith(magic):
            raise LoadError(path, f"unsupported file: this is {what}")
    if head[:2] in _DICOM_START_GROUPS:
        return DICOM  # headerless DICOM; pydicom (force=True) confirms or refuses it
    if _looks_like_text(head):
        raise LoadError(path, "unsupported file: plain text, not an image or recording")
    raise LoadError(
        path, "unrecognised file format (expected DICOM, NIfTI, MetaImage .mhd, AVI or MP4 content)"
    )
