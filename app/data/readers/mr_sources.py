"""Turn MR DICOM sources into MrImage lists and pixel stacks (see dicom_mr.py for the arrangement).

- `read_mr_files`: a series of single-frame files (headers first, pixels only once the grid is sound).
- `read_enhanced_mr`: one Enhanced MR multi-frame file. Without per-frame geometry or timing (as in
  files stripped of functional groups) the frames are slices of a volume when the file says so
  (MRAcquisitionType 3D or VolumetricProperties VOLUME: (S, 1, H, W), SpacingBetweenSlices), else
  phases of one slice with a nominal frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from app.data.errors import LoadError
from app.data.readers import dicom_common as dc, limits
from app.data.readers.dicom_mr import MrImage, assemble, build_recording, normal_from
from app.data.readers.progress import Step, report
from app.data.readers.summary_only import unread_frames
from app.data.recording import Recording


def _vector(values: list[float] | None, n: int) -> np.ndarray | None:
    return np.asarray(values, dtype=np.float64) if values and len(values) == n else None


def image_facts(ds, ref, order_default: int = 0) -> MrImage:
    """MrImage from a single-frame MR dataset (header only is enough)."""
    order = dc.get(ds, "InstanceNumber")
    try:
        order = int(order) if order is not None else order_default
    except (TypeError, ValueError):
        order = order_default
    return MrImage(
        position_mm=_vector(dc.get_floats(ds, "ImagePositionPatient"), 3),
        normal=normal_from(dc.get_floats(ds, "ImageOrientationPatient")),
        trigger_ms=dc.get_float(ds, "TriggerTime"),
        order=order,
        ref=ref,
    )


def read_mr_files(paths: list[Path], label: Path, progress: Step | None = None) -> Recording:
    """Recording from single-frame MR files of one series; `label` names the series in errors. Every image is
    decoded for a summary too (`info`): a damaged image or one of another pixel type anywhere in the series is the
    series' error, and a series' images are small."""
    headers = []
    for index, path in enumerate(paths):
        report(progress, 0.3 * index / len(paths), f"reading headers {index + 1}/{len(paths)}")
        headers.append((path, dc.read_dataset(path, header_only=True)))
    sizes = {(int(dc.get(h, "Rows", 0)), int(dc.get(h, "Columns", 0))) for _, h in headers}
    if len(sizes) != 1:
        raise LoadError(label, f"images of the series have different sizes {sorted(sizes)}")
    rows, cols = sizes.pop()
    limits.check_decoded_size(label, limits.estimate_bytes(len(paths), rows, cols, bytes_per_value=4, copies=2))
    grid, slice_spacing = assemble([image_facts(h, p, i) for i, (p, h) in enumerate(headers)], label)
    first = headers[0][1]
    total = sum(len(row) for row in grid)
    planes: list[list[np.ndarray]] = []
    for row in grid:
        planes.append([])
        for im in row:
            done = sum(len(r) for r in planes)
            report(progress, 0.3 + 0.7 * done / total, f"decoding images {done + 1}/{total}")
            planes[-1].append(_decode_single(cast(Path, im.ref)))  # a file's image: its path
    pixels = np.stack([np.stack(row) for row in planes])
    report(progress, 1.0, "done")
    return build_recording(grid, pixels, slice_spacing, first, label, dc.get_floats(first, "PixelSpacing"))


def _decode_single(path: Path) -> np.ndarray:
    grey = dc.decode_grey(dc.read_dataset(path), path)
    if grey.shape[0] != 1:
        raise LoadError(path, f"expected one image, found {grey.shape[0]} frames in a single-image series")
    return grey[0]


def _item(seq_owner, keyword: str):
    seq = dc.get(seq_owner, keyword) if seq_owner is not None else None
    return seq[0] if seq else None


def _frame_value(groups, shared, seq: str, keyword: str):
    for owner in (groups, shared):
        value = dc.get(_item(owner, seq), keyword) if _item(owner, seq) is not None else None
        if value is not None:
            return value
    return None


def _floats(value) -> list[float] | None:
    try:
        return [float(v) for v in value] if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class EnhancedLayout:
    """How the frames of an Enhanced MR file form a stack: grid[slice][phase].ref = frame index."""

    grid: list
    slice_spacing_mm: float | None
    pixel_spacing: list[float] | None
    stack_view: str

    @property
    def shape_st(self) -> tuple[int, int]:
        return len(self.grid), len(self.grid[0])


def enhanced_layout(ds, path: Path, n_frames: int) -> EnhancedLayout:
    """The stack layout from the functional groups (header only; no pixels needed)."""
    per_frame = dc.get(ds, "PerFrameFunctionalGroupsSequence") or []
    shared = _item(ds, "SharedFunctionalGroupsSequence")
    spacing = _floats(
        _frame_value(per_frame[0] if per_frame else None, shared, "PixelMeasuresSequence", "PixelSpacing")
    )
    spacing = spacing or dc.get_floats(ds, "PixelSpacing")
    images = []
    for i, groups in enumerate(per_frame if len(per_frame) == n_frames else []):
        position = _floats(_frame_value(groups, shared, "PlanePositionSequence", "ImagePositionPatient"))
        orientation = _floats(_frame_value(groups, shared, "PlaneOrientationSequence", "ImageOrientationPatient"))
        trigger = _frame_value(groups, shared, "CardiacSynchronizationSequence", "NominalCardiacTriggerDelayTime")
        images.append(MrImage(_vector(position, 3), normal_from(orientation),
                              float(trigger) if trigger is not None else None, i, i))
    if any(im.position_mm is not None or im.trigger_ms is not None for im in images):
        grid, slice_spacing = assemble(images, path)
        return EnhancedLayout(grid, slice_spacing, spacing, "sax")
    return _layout_without_frame_groups(ds, n_frames, spacing)


def _layout_without_frame_groups(ds, n: int, spacing) -> EnhancedLayout:
    volume = str(dc.get(ds, "MRAcquisitionType", "")).upper() == "3D" or \
        str(dc.get(ds, "VolumetricProperties", "")).upper() == "VOLUME"
    if volume and n > 1:
        step = dc.get_float(ds, "SpacingBetweenSlices") or dc.get_float(ds, "SliceThickness")
        return EnhancedLayout([[MrImage(None, None, None, i, i)] for i in range(n)], step, spacing, "unknown")
    return EnhancedLayout([[MrImage(None, None, None, i, i) for i in range(n)]], None, spacing, "sax")


def read_enhanced_mr(ds, path: Path, summary_only: bool = False) -> Recording:
    """Recording from one Enhanced MR (multi-frame) dataset; summary_only: one frame decoded, for the pixels' type
    (summary_only.py)."""
    frames = dc.decode_grey(ds, path, [0] if summary_only else None)
    layout = enhanced_layout(ds, path, dc.image_geometry(ds, path)[0])
    if summary_only:
        rows, cols = frames.shape[-2:]
        pixels = unread_frames((*layout.shape_st, rows, cols), frames.dtype)
    else:
        pixels = np.stack([np.stack([frames[im.ref] for im in row]) for row in layout.grid])
    return build_recording(layout.grid, pixels, layout.slice_spacing_mm, ds, path, layout.pixel_spacing,
                           stack_view=layout.stack_view)
