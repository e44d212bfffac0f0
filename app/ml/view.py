"""Echo view classification of a recording: `classify_view(recording) -> ViewPrediction`.

The model (models/view, app.ml.nets.view_classifier.ViewNet) sees single frames cropped to the
ultrasound sector's bounding box and area-resized to its square input (`frame_to_input`, the same crop
app.ml.inference uses for segmentation). `classify_view` averages the class probabilities of a handful
of evenly spaced frames. The metadata says, per view, what the model was trained on ("real",
"phantom only", "none"); `trusted_views` are the views it has seen real recordings of. The prediction
is advice: callers keep the user's / DICOM view (app.workflow.view_step).

torch is imported lazily (inside functions), so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from app.data.recording import Recording

MODEL_NAME = "view"
DEFAULT_FRAMES = 8
BLACK_LEVEL = 0.02  # 0..1: pixels at or below this are outside the image content (no sector mask)


@dataclass(frozen=True)
class ViewPrediction:
    """view: the most probable class; probability: its mean probability over `frames_used`.

    probabilities: class -> mean probability (untrained classes ~0). trusted_views: views with real
    training data; data_by_view: class -> "real" / "phantom only" / "none" (from the model metadata).
    """

    view: str
    probability: float
    probabilities: dict[str, float]
    frames_used: tuple[int, ...]
    trusted_views: tuple[str, ...]
    data_by_view: dict[str, str]

    @property
    def trusted(self) -> bool:
        return self.view in self.trusted_views


def content_box(frame: np.ndarray, sector: np.ndarray | None) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): the sector's bounding box, else that of the non-black pixels."""
    from app.ml.inference import sector_box

    if sector is not None and sector.shape == frame.shape and sector.any():
        return sector_box(sector)
    return sector_box(frame > BLACK_LEVEL)


def frame_to_input(frame: np.ndarray, sector: np.ndarray | None, size_px: int) -> np.ndarray:
    """(H, W) float 0..1 frame -> (size_px, size_px) float32 0..1 network input (crop + area resize)."""
    r0, r1, c0, c1 = content_box(frame, sector)
    crop = np.ascontiguousarray(frame[r0:r1, c0:c1], dtype=np.float32)
    return cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)


def pick_frames(n_frames: int, n_wanted: int = DEFAULT_FRAMES) -> tuple[int, ...]:
    """Up to n_wanted evenly spaced frame indices of a clip."""
    n = max(1, min(int(n_wanted), int(n_frames)))
    return tuple(int(i) for i in np.unique(np.linspace(0, n_frames - 1, n).round().astype(int)))


def model_installed(root: Path | None = None) -> bool:
    from app.ml.weights import model_available

    return model_available(MODEL_NAME, root)


def _load(device_str: str):
    from app.ml.weights import models_dir

    return _load_cached(device_str, str(models_dir()))


@lru_cache(maxsize=2)
def _load_cached(device_str: str, models_root: str):
    import torch

    from app.ml.weights import load_model, read_card

    root = Path(models_root)
    net = load_model(MODEL_NAME, torch.device(device_str), root=root)
    return net, read_card(MODEL_NAME, root)


def predict_inputs(net, inputs: np.ndarray, device) -> np.ndarray:
    """(N, S, S) float32 inputs -> (N, n_classes) softmax probabilities (numpy)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))[:, None].to(device)
    with torch.inference_mode():
        return torch.softmax(net(x).float(), 1).cpu().numpy()


def view_inputs(recording: Recording, size_px: int, n_frames: int = DEFAULT_FRAMES,
                slice_index: int = 0) -> tuple[np.ndarray, tuple[int, ...]]:
    """((k, S, S) float32 network inputs, the k frame indices): up to n_frames evenly spaced frames of a slice,
    each cropped to the sector and resized (frame_to_input)."""
    shape = recording.slice_frames(slice_index).shape
    if len(shape) != 3 or shape[0] == 0:
        raise ValueError(f"expected (T, H, W) frames, got {shape}")
    used = pick_frames(shape[0], n_frames)
    sector = recording.sector_mask
    frames = [frame_to_input(recording.frames_unit(slice_index, frames=t), sector, size_px) for t in used]
    return np.stack(frames), used


def classify_view(recording: Recording, n_frames: int = DEFAULT_FRAMES, device=None,
                  slice_index: int = 0) -> ViewPrediction:
    """Mean class probabilities over up to n_frames evenly spaced frames (WeightsError without a model)."""
    from app.ml.device import choose_device
    from app.ml.nets.view_classifier import CLASSES

    device = device if device is not None else choose_device()
    net, card = _load(str(device))
    inputs, used = view_inputs(recording, int(card.preprocessing.input_size_px or 96), n_frames, slice_index)
    mean = predict_inputs(net, inputs, device).mean(0)
    best = int(mean.argmax())
    data = dict(card.flag("data_by_view", {}))
    return ViewPrediction(
        view=CLASSES[best], probability=float(mean[best]),
        probabilities={c: round(float(p), 4) for c, p in zip(CLASSES, mean, strict=True)},
        frames_used=used, trusted_views=tuple(v for v in CLASSES if data.get(v) == "real"),
        data_by_view=data,
    )
