"""Reading a file for its summary only (`info`, readers.read_summary): the readers' own code, but the frames are not
all decoded and kept, so a long or large clip is summarized in little time and memory.

The summary comes from the header (size, frame count, timing, spacing, view, patient) but for what the readers find
in the pixels, each from a sample of frames spread over the clip, the same frames as a full read samples:
- the sector mask: from the frames sector.detect_sector samples (sector.sample_step);
- the image mode: colour Doppler from the colour sample (colour_flow.py);
- the damaged frames of a DICOM: every frame's JPEG structure (no decoding), and the sampled frames' decoding;
- the pixels' type: from the frames decoded (one, for an enhanced MR; a series of MR images is decoded whole).
A DICOM decodes only those frames (a MONOCHROME1 file, flipped by the whole clip's range, and one pydicom cannot
decode in part are decoded whole). A video is decoded from start to end all the same, its frame count being the
frames the decoder gives (and a seek costs more than the frames it skips), but one frame at a time: the sector's
frames are added to sector.SectorEvidence, the colour frames give the grey map's pixels, and only when some pixel
may be off that map is the colour sample decoded a second time to be tested against it. A NIfTI or MetaImage is read
whole (a label map, a blank image, NaN voxels are told from every voxel) without its masked or reordered copy.
The recording read so holds `unread_frames` in place of its pixels: it never leaves the readers.
A file too large to load on this machine (limits.py) is summarized all the same where the summary holds a sample only:
a DICOM decoded in part (its pixel data read frame by frame from the file when it is uncompressed, pixel_damage.py)
and a video; its summary says why the load refuses it. A NIfTI or MetaImage, a series of MR images, and a DICOM
decoded whole are refused as the load refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecordingSummary:
    """What readers.read_summary finds: `fields`, the recording's Recording.summary(); `too_large_to_load`, None
    when load_recording reads the file on this machine, else the reason it refuses it (its LoadError's reason: too
    large to decode in the memory allowed, limits.py)."""

    fields: dict
    too_large_to_load: str | None = None


def unread_frames(shape: tuple[int, ...], dtype) -> np.ndarray:
    """Stand-in frames of `shape` and `dtype` that were not decoded: a read-only view of one zero (no memory), so
    that the recording's shape and dtype are the file's."""
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(int(n) for n in shape))
