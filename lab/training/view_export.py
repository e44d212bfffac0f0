"""A view classifier input as a clinical video export shows it (issue 53, deliverable 4).

EchoNet-Dynamic-like exports crop a square window around the scan sector, so the fan's sides and far field are
cut off and the apex sits at the top edge, then shrink it to a small square (112 px) and store it through a
lossy codec. The reader then crops what is left of the sector, which fills the square. The classifier had only
seen whole fans (CAMUS, phantoms) and was unsure of real A4C exports. `clinical_view_export` makes any input
(every class, so a cut fan is no cue for a view) look like such an export: a square window from the fan's apex,
a small square, an MJPEG-like JPEG round trip, and the reader's content crop back to the network's size.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.ml.augment import jpeg_round_trip
from app.ml.view import frame_to_input

WINDOW_FRACTIONS = (0.6, 1.0)  # the square's side over the fan's width
EXPORT_SIZES_PX = (64, 80, 96, 112, 112, 128)
JPEG_QUALITY = (30, 90)


def square_window(x: np.ndarray, fraction: float, shift: float) -> np.ndarray:
    """(S, S) -> the square of side fraction x S whose top edge is at the apex row (the first row with image), its
    centre moved sideways by shift x S; outside the input is black."""
    size = x.shape[0]
    side = max(8, int(round(fraction * size)))
    rows = np.nonzero(x.max(axis=1) > 0)[0]
    top = int(rows[0]) if rows.size else 0
    left = int(round((size - side) / 2 + shift * size))
    out = np.zeros((side, side), np.float32)
    r0, r1 = top, min(size, top + side)
    c0, c1 = max(0, left), min(size, left + side)
    if r1 > r0 and c1 > c0:
        out[: r1 - r0, c0 - left: c1 - left] = x[r0:r1, c0:c1]
    return out


def clinical_view_export(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, S) float32 0..1 input -> the same view as a clinical export would show it, at (S, S)."""
    size = x.shape[0]
    window = square_window(x, float(rng.uniform(*WINDOW_FRACTIONS)), float(rng.uniform(-0.05, 0.05)))
    small_px = int(rng.choice(EXPORT_SIZES_PX))
    small = cv2.resize(window, (small_px, small_px), interpolation=cv2.INTER_AREA)
    grey = np.round(np.clip(small, 0.0, 1.0) * 255.0).astype(np.uint8)
    if rng.random() < 0.8:
        grey = jpeg_round_trip(grey, int(rng.integers(*JPEG_QUALITY)))
    return frame_to_input(grey.astype(np.float32) / 255.0, None, size)
