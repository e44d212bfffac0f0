"""DICOM cine MR -> (S, T, H, W) stack (or (T, H, W) for one slice).

Two sources give the same per-image facts (position along the slice normal, trigger time, order):
- a series of single-frame images (one file each): ImagePositionPatient, ImageOrientationPatient,
  TriggerTime, InstanceNumber;
- one Enhanced MR multi-frame file: PerFrameFunctionalGroupsSequence (PlanePositionSequence,
  PlaneOrientationSequence, CardiacSynchronizationSequence/NominalCardiacTriggerDelayTime), with
  SharedFunctionalGroupsSequence for what all frames share (PixelMeasuresSequence).
Slices are grouped by position along the normal and ordered base -> apex; phases by trigger time.
Base -> apex: the apex lies towards the patient's left, anterior, inferior side, which in DICOM LPS
coordinates is the direction (+1, -1, -1); slices go in the order of increasing projection on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.errors import LoadError
from app.data.readers import dicom_common as dc
from app.data.readers.view import view_from_text
from app.data.recording import NOMINAL_FRAME_RATE_HZ, Recording, uniform_frame_times

APEX_DIRECTION_LPS = np.array([1.0, -1.0, -1.0]) / np.sqrt(3.0)
MAX_ORIENTATION_COS = 0.999  # slices more than ~2.5 degrees apart are not one stack


@dataclass(frozen=True)
class MrImage:
    """Facts about one 2D image of a series; `ref` finds its pixels (file path or frame index)."""

    position_mm: np.ndarray | None  # (3,) ImagePositionPatient
    normal: np.ndarray | None  # (3,) unit slice normal
    trigger_ms: float | None
    order: int
    ref: object


def normal_from(orientation: list[float] | None) -> np.ndarray | None:
    """Unit slice normal from a 6-value ImageOrientationPatient (row x column cosines)."""
    if not orientation or len(orientation) != 6:
        return None
    n = np.cross(np.asarray(orientation[:3]), np.asarray(orientation[3:]))
    norm = float(np.linalg.norm(n))
    return n / norm if norm > 1e-6 else None


def _slice_axis(images: list[MrImage]) -> np.ndarray | None:
    normals = [im.normal for im in images if im.normal is not None]
    if not normals or any(im.position_mm is None for im in images):
        return None
    axis = np.mean(normals, axis=0)
    axis /= np.linalg.norm(axis) or 1.0
    return -axis if float(axis @ APEX_DIRECTION_LPS) < 0 else axis


def _group_slices(images: list[MrImage], tolerance_mm: float) -> list[tuple[float, list[MrImage]]]:
    """[(position along the base->apex axis, images of that slice)], base first."""
    axis = _slice_axis(images)
    if axis is None:
        return [(0.0, list(images))]
    keyed = sorted(((float(im.position_mm @ axis), im) for im in images), key=lambda p: p[0])
    groups: list[tuple[float, list[MrImage]]] = []
    for pos, im in keyed:
        if groups and abs(pos - groups[-1][0]) <= tolerance_mm:
            groups[-1][1].append(im)
        else:
            groups.append((pos, [im]))
    return groups


def _order_phases(slice_images: list[MrImage], path: Path, pos_mm: float, located: bool = True) -> list[MrImage]:
    """The images of one slice in trigger order; `located`: the series' positions and orientations told its
    slices apart (else every image is in this one 'slice')."""
    ordered = sorted(slice_images, key=lambda im: (im.trigger_ms if im.trigger_ms is not None else 0.0, im.order))
    triggers = [im.trigger_ms for im in ordered if im.trigger_ms is not None]
    if len(triggers) == len(ordered) and len(set(triggers)) != len(triggers):
        if not located:
            raise LoadError(path, "the images carry no usable position or orientation (ImagePositionPatient / "
                                  "ImageOrientationPatient), so the slices of the series cannot be told apart")
        raise LoadError(path, f"the slice at {pos_mm:.1f} mm has several images with the same trigger time: the "
                              "same image twice (a copied file?) or mixed acquisitions in one series")
    return ordered


def assemble(images: list[MrImage], path: Path) -> tuple[list[list[MrImage]], float | None]:
    """Images arranged [slice][phase] base->apex, and the slice spacing in mm (None for one slice)."""
    if not images:
        raise LoadError(path, "no MR images found")
    normals = [im.normal for im in images if im.normal is not None]
    if normals and min(abs(float(n @ normals[0])) for n in normals) < MAX_ORIENTATION_COS:
        raise LoadError(path, "the series mixes image orientations (e.g. long- and short-axis images); "
                              "CardioTrace stacks parallel slices only")
    groups = _group_slices(images, tolerance_mm=0.05)
    located = _slice_axis(images) is not None
    grid = [_order_phases(members, path, pos, located) for pos, members in groups]
    counts = [len(g) for g in grid]
    if len(set(counts)) > 1:
        detail = ", ".join(
            f"slice {i + 1} ({pos:.1f} mm): {n}" for i, ((pos, _), n) in enumerate(zip(groups, counts, strict=False))
        )
        raise LoadError(path, f"slices have different numbers of phases ({detail}); missing images?")
    positions = np.array([pos for pos, _ in groups])
    spacing = float(np.median(np.diff(positions))) if len(positions) > 1 else None
    return grid, spacing


def phase_times(grid: list[list[MrImage]]) -> tuple[np.ndarray, bool]:
    """((T,) seconds from the first phase, nominal flag): mean trigger time of each phase over slices."""
    n_phases = len(grid[0])
    trig = [[im.trigger_ms for im in row] for row in grid]
    if all(t is not None for row in trig for t in row):
        ms = np.mean(np.asarray(trig, dtype=np.float64), axis=0)
        if n_phases == 1 or np.all(np.diff(ms) > 0):
            return (ms - ms[0]) / 1000.0, False
    return uniform_frame_times(n_phases, NOMINAL_FRAME_RATE_HZ["mri"]), n_phases > 1


def build_recording(grid, pixels: np.ndarray, slice_spacing, ds, path: Path, pixel_spacing,
                    stack_view: str = "sax") -> Recording:
    """Recording from [slice][phase] images whose pixels are `pixels` (S, T, H, W).

    `stack_view` is the view given to a multi-slice stack whose description names none.
    """
    times, nominal = phase_times(grid)
    spacing_ok = pixel_spacing and len(pixel_spacing) == 2 and all(p > 0 for p in pixel_spacing)
    description = str(dc.get(ds, "SeriesDescription", "") or dc.get(ds, "ProtocolName", ""))
    view = view_from_text(description)
    if pixels.shape[0] > 1 and view == "unknown":
        view = stack_view
    frames = pixels if pixels.shape[0] > 1 else pixels[0]
    heart_rate = dc.get_float(ds, "HeartRate")
    return Recording(
        frames=frames,
        spacing_mm=(float(pixel_spacing[0]), float(pixel_spacing[1])) if spacing_ok else (1.0, 1.0),
        frame_times_s=times,
        modality="mri",
        view=view,
        calibrated=bool(spacing_ok),
        patient=dc.patient_info(ds),
        source_path=path,
        slice_spacing_mm=round(abs(slice_spacing), 3) if slice_spacing else None,
        heart_rate_bpm=heart_rate if heart_rate and heart_rate > 0 else None,
        series_description=description,
        frame_times_nominal=nominal,
    )
