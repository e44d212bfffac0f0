"""Files around `analyze`: label maps in (--labels) and out (--masks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.analysis.label_convention import lv_and_rv_swapped
from app.data.recording import Recording


def load_labels(path: Path, recording: Recording) -> np.ndarray:
    """A label map for the recording from .npz ('labels' array, e.g. a phantom truth sidecar), .npy, or an
    image file SimpleITK reads (NIfTI, MetaImage; a 4D (x, y, slice, phase) file for a stack)."""
    from app.commands.usage import UsageError

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
    except Exception as exc:  # noqa: BLE001 - numpy / SimpleITK read errors
        raise UsageError(
            f"{path}: cannot read labels ({_read_error(exc)}; a label map is a .npz with a 'labels' array, a .npy, "
            "or an image such as NIfTI or MetaImage)"
        ) from None
    labels = np.asarray(labels)
    if (
        recording.is_stack
        and recording.n_frames == 1
        and labels.shape == recording.frames.shape[:1] + recording.frames.shape[2:]
    ):
        labels = labels[:, None]  # a 3D (slice, H, W) map of a one-phase stack
    if labels.shape != recording.frames.shape:
        raise UsageError(f"{path}: labels of shape {labels.shape} do not match the recording {recording.frames.shape}")
    labels = labels.astype(np.uint8)
    if recording.modality == "mri" and (shares := lv_and_rv_swapped(labels)) is not None:
        raise UsageError(f"{path}: label 3 is ringed by myocardium ({shares[1]:.0%} of its border) and label 1 is not "
                         f"({shares[0]:.0%}): the LV and RV are the other way round (ACDC's own files: 1 RV, 3 LV); "
                         "--labels takes 1 LV, 2 myocardium, 3 RV")
    return labels


def _read_error(exc: Exception) -> str:
    if isinstance(exc, RuntimeError) and "SimpleITK" in str(exc):
        return "not an image file SimpleITK reads"  # its own message is a C++ source location
    if "pickled" in str(exc) or "allow_pickle" in str(exc):  # numpy's advice to load it unsafely is not ours
        return "it holds Python objects (pickled data), which are never loaded, not numbers"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
    """`analyze --masks`: the one label-map writer of the exports (app.report.exports.write_label_map)."""
    from app.report.exports import write_label_map

    return write_label_map(labels, recording, path)
