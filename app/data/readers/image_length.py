"""Whether a NIfTI or MetaImage file holds the image data its header describes, read from the file's length.

A header claiming more than the file holds is a broken file, not one too large to load, so this is asked before
the memory limit. A gzip file's length is known only by decompressing it (after the memory limit); before, only
what it could ever hold: deflate expands by at most 1032 times (zlib's technical details).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from app.data.errors import LoadError


def check_nifti(path: Path, needed: int, bound_only: bool = False) -> None:
    """LoadError when the NIfTI file (plain or gzip; header included) holds fewer than `needed` bytes; bound_only
    (a gzip file): it is not decompressed, only a header claiming more than it could expand to is refused."""
    if bound_only:
        bound = deflate_bound(path)
        if needed > bound:
            raise LoadError(path, f"the header describes {needed} bytes, more than a gzip file of "
                                  f"{path.stat().st_size} bytes can hold (at most {bound}): a broken file")
        return
    _check_length(path, nifti_bytes(path), needed)


def check_metaimage(path: Path, needed: int) -> None:
    """LoadError when the MetaImage's voxel data (after its text header, or in its data file) is short."""
    available = metaimage_data_bytes(path)
    if available is not None:
        _check_length(path, available, needed)


def _check_length(path: Path, available: int, needed: int) -> None:
    if available < needed:
        raise LoadError(path, f"the file is truncated: {available} bytes of image data, the header needs {needed}")


def is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def deflate_bound(path: Path) -> int:
    """The most bytes a gzip file can decompress to: 1032 per byte, and slack for a small file's headers."""
    return 1032 * path.stat().st_size + 1024


def nifti_bytes(path: Path) -> int:
    """The bytes of a NIfTI file, header included (a gzip file's streamed through zlib)."""
    if not is_gzip(path):
        return path.stat().st_size
    available = 0
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(4 * 1024 * 1024):
                available += len(chunk)
    except (OSError, EOFError, zlib.error):
        raise LoadError(path, "the gzip data is truncated or corrupt") from None
    return available


def metaimage_data_bytes(path: Path) -> int | None:
    """The bytes of voxel data a MetaImage has (after its text header, or in its data file), None when that
    cannot be told (compressed data, a list of data files, no readable header); LoadError when the one data
    file it names is missing. ITK's own error for a short file or a missing data file is 'File cannot be read'."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    fields, header_bytes = {}, 0
    for line in head.split(b"\n"):
        header_bytes += len(line) + 1
        key, _, value = line.decode("latin-1").partition("=")
        key = key.strip().lower()
        fields[key] = value.strip()
        if key == "elementdatafile":
            break
    else:
        return None
    name = fields["elementdatafile"]
    one_file = name.upper() != "LOCAL" and " " not in name and name.upper() != "LIST"  # (not a numbered series)
    if one_file and not (path.parent / name).resolve().is_relative_to(path.parent.resolve()):
        # an absolute path or '..' (ElementDataFile = /etc/passwd was read as an image): data lies with its header
        raise LoadError(path, f"its image data file {name!r} lies outside {str(path.parent)!r}: a MetaImage's data "
                              "file must be beside its header (or in a folder under it)")
    if one_file and not (path.parent / name).is_file():  # ITK: 'File cannot be read', after a line on stderr
        raise LoadError(path, f"its image data file {name!r}, named in the header, is not in {str(path.parent)!r}")
    if fields.get("compresseddata", "false").lower() == "true" or fields.get("headersize", "0") not in ("", "0"):
        return None  # (a HeaderSize, even -1 for 'the data's last bytes', leaves ITK to judge)
    if name.upper() == "LOCAL":
        return path.stat().st_size - header_bytes
    return (path.parent / name).stat().st_size if one_file else None
