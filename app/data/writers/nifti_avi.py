"""NIfTI (SimpleITK) and AVI (OpenCV) writers.

NIfTI layout the reader expects: an echo clip is a 3D uint8 image (x=col, y=row, t) whose third
spacing is the frame interval in seconds; a short-axis cine stack is 4D (x, y, z, t) with spacing
(col mm, row mm, slice spacing mm, frame interval s). The writer sets units mm + s.
AVI: 8-bit grey frames at the recording's frame rate, lossless FFV1 when available, else MJPEG;
AVI carries no pixel spacing (the truth sidecar does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.recording import Recording


def write_nifti(recording: Recording, path: str | Path) -> Path:
    """Write an echo clip (T, H, W) or an MR stack (S, T, H, W) as .nii / .nii.gz."""
    import SimpleITK as sitk

    path = Path(path)
    dt = 1.0 / (recording.frame_rate_hz or 25.0)
    row_mm, col_mm = recording.spacing_mm
    if recording.is_stack:
        data = np.ascontiguousarray(recording.frames.transpose(1, 0, 2, 3))  # (T, S, H, W) -> x, y, z, t
        image = sitk.GetImageFromArray(data, isVector=False)
        image.SetSpacing((col_mm, row_mm, float(recording.slice_spacing_mm or 1.0), dt))
    else:
        image = sitk.GetImageFromArray(np.ascontiguousarray(recording.frames), isVector=False)
        image.SetSpacing((col_mm, row_mm, dt))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=path.name.endswith(".gz"))
    return path


def write_avi(recording: Recording, path: str | Path) -> Path:
    """Write a (T, H, W) recording as a grey AVI at its frame rate."""
    import cv2

    path = Path(path)
    if recording.is_stack:
        raise ValueError("AVI holds one 2D+t clip, not a stack of slices")
    frames = recording.frames
    if frames.dtype != np.uint8:
        data = frames.astype(np.float32)
        frames = np.round((data - data.min()) / max(float(np.ptp(data)), 1e-9) * 255).astype(np.uint8)
    rows, cols = recording.image_shape
    fps = float(recording.frame_rate_hz or 25.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    for codec in ("FFV1", "MJPG"):
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*codec), fps, (cols, rows), False)
        if writer.isOpened():
            break
    else:
        raise OSError(f"OpenCV cannot write AVI video to {path}")
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    return path
