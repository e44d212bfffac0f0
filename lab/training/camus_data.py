"""CAMUS A4C ED/ES frames with masks, resized to the network grid (numpy only, no torch).

Files: <root>/<split>/patientNNNN_4CH.npz with ed, es (uint8 images, rows = depth), ed_gt, es_gt
(uint8 labels 0 bg, 1 LV, 2 myocardium, 3 LA) and spacing_mm (row, col).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "camus_a4c"


@dataclass(frozen=True)
class CamusCase:
    """One patient at native resolution: images/labels (2, H, W) uint8 for (ED, ES)."""

    patient: str
    images: np.ndarray
    labels: np.ndarray
    spacing_mm: tuple[float, float]


@dataclass(frozen=True)
class CamusArrays:
    """A split resized to (size, size): images (N, 2, S, S) float32 0..1, labels (N, 2, S, S) uint8."""

    patients: tuple[str, ...]
    images: np.ndarray
    labels: np.ndarray


def case_paths(split: str, root: Path | None = None) -> list[Path]:
    folder = Path(root or DEFAULT_ROOT) / split
    if not folder.is_dir():
        raise FileNotFoundError(f"CAMUS split folder {folder} not found")
    return sorted(folder.glob("patient*_4CH.npz"))


def require_splits(root: Path | None, *splits: str) -> None:
    """For a command's --data, before any work: SystemExit with one line (exit 2 through the CLI) when a split
    folder is missing."""
    for split in splits:
        try:
            case_paths(split, root)
        except FileNotFoundError as exc:
            raise SystemExit(f"{exc} (--data is the camus_a4c folder of ../shared/data)") from None


def load_case(path: Path) -> CamusCase:
    with np.load(path) as data:
        images = np.stack([data["ed"], data["es"]]).astype(np.uint8)
        labels = np.stack([data["ed_gt"], data["es_gt"]]).astype(np.uint8)
        spacing = tuple(float(s) for s in data["spacing_mm"])
    return CamusCase(path.stem.split("_")[0], images, labels, spacing)


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W) any dtype -> (size, size) float32 0..1 (area averaging when shrinking)."""
    img = image.astype(np.float32)
    if image.dtype == np.uint8:
        img /= 255.0
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def resize_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """(H, W) uint8 -> (size, size) uint8 nearest neighbour, pixel centres aligned with resize_image
    (cv2's INTER_NEAREST takes floor(x * scale) and puts the labels a fraction of a pixel off the image)."""
    return cv2.resize(labels.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST_EXACT)


def load_split(split: str, size: int, root: Path | None = None, limit: int | None = None) -> CamusArrays:
    """Every case of `split` resized to size x size."""
    paths = case_paths(split, root)[:limit]
    if not paths:
        raise FileNotFoundError(f"no CAMUS cases in split {split!r}")
    images, labels, names = [], [], []
    for path in paths:
        case = load_case(path)
        images.append(np.stack([resize_image(im, size) for im in case.images]))
        labels.append(np.stack([resize_labels(lb, size) for lb in case.labels]))
        names.append(case.patient)
    return CamusArrays(tuple(names), np.stack(images), np.stack(labels))
