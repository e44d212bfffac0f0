"""Files around `analyze`: label maps in (--labels) and out (--masks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.recording import Recording


def load_labels(path: Path, recording: Recording) -> np.ndarray:
    """A label map for the recording from .npz ('labels' array, e.g. a phantom truth sidecar), .npy, or an
    image file SimpleITK reads (NIfTI, MetaImage; a 4D (x, y, slice, phase) file for a stack)."""
    from app.cli import UsageError

    if not path.is_file():
        raise UsageError(f"{path}: labels file not found")
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                if "labels" not in z:
                    raise UsageError(f"{path}: no 'labels' array in the .npz (found {', '.join(z.files)})")
                labels = z["labels"]
        elif path.suffix == ".npy":
            labels = np.load(path)
        else:
            labels = _image_labels(path, recording)
    except UsageError:
        raise
    except Exception as exc:  # numpy / SimpleITK read errors
        raise UsageError(f"{path}: cannot read labels ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    labels = np.asarray(labels)
    if recording.is_stack and recording.n_frames == 1 and labels.shape == recording.frames.shape[:1] + recording.frames.shape[2:]:
        labels = labels[:, None]  # a 3D (slice, H, W) map of a one-phase stack
    if labels.shape != recording.frames.shape:
        raise UsageError(f"{path}: labels of shape {labels.shape} do not match the recording {recording.frames.shape}")
    return labels.astype(np.uint8)


def _image_labels(path: Path, recording: Recording) -> np.ndarray:
    """The label image SimpleITK reads: (phase, slice, H, W) from (x, y, slice, phase) made (slice, phase, H, W);
    for a stack, its slices put base to apex from the file's orientation as the image reader puts the stack's
    (app.data.readers.nifti.base_to_apex), else an obliquely stored label map would meet the reversed slices."""
    import SimpleITK as sitk

    from app.data.readers.nifti import base_to_apex

    image = sitk.ReadImage(str(path))
    labels = sitk.GetArrayFromImage(image)
    if labels.ndim == 4:
        labels = labels.transpose(1, 0, 2, 3)
    if recording.is_stack and labels.ndim in (3, 4):
        stack = base_to_apex(labels[:, None] if labels.ndim == 3 else labels, image.GetDirection(),
                             image.GetDimension())
        labels = stack[:, 0] if labels.ndim == 3 else stack
    return labels


def write_masks(labels: np.ndarray, recording: Recording, path: Path) -> Path:
    """Write labels (T, H, W) or (S, T, H, W) as NIfTI with the recording's spacing.

    2D+t: axes (x=col, y=row, t) with spacing (col mm, row mm, frame interval s).
    Stack: (x, y, slice, phase) with spacing (col mm, row mm, slice spacing mm, frame interval s); one phase:
    (x, y, slice). Labels: 0 background, 1 LV cavity, 2 myocardium, 3 LA (echo) or RV (short-axis MRI).
    """
    import SimpleITK as sitk

    dt = 1.0 / recording.frame_rate_hz if recording.frame_rate_hz else 1.0
    sp_row, sp_col = (float(s) for s in recording.spacing_mm)
    if labels.ndim == 4 and labels.shape[1] == 1:  # one phase: a 3D (x, y, slice) volume, as it was read
        image = sitk.GetImageFromArray(np.ascontiguousarray(labels[:, 0]).astype(np.uint8))
        image.SetSpacing((sp_col, sp_row, float(recording.slice_spacing_mm or 1.0)))
    elif labels.ndim == 4:
        image = sitk.GetImageFromArray(np.ascontiguousarray(labels.transpose(1, 0, 2, 3)).astype(np.uint8),
                                       isVector=False)
        image.SetSpacing((sp_col, sp_row, float(recording.slice_spacing_mm or 1.0), dt))
    else:
        image = sitk.GetImageFromArray(np.ascontiguousarray(labels).astype(np.uint8), isVector=False)
        image.SetSpacing((sp_col, sp_row, dt))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)
    return path
