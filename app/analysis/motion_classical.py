"""Dense tissue motion between consecutive frames with OpenCV (DIS optical flow or Farnebäck).

A flow field is (H, W, 2) float32 (dx, dy) in pixels: the point at (x, y) in the first frame is at
(x + dx, y + dy) in the second. `masked_velocity` samples a field at points using only the pixels of
a mask (the myocardium), so blood-pool and background motion do not leak into the wall estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Protocol

import cv2
import numpy as np
from scipy import ndimage

METHODS = ("dis", "farneback")


class FlowEstimator(Protocol):
    """Anything that turns two (H, W) float32 0..1 frames into an (H, W, 2) flow field."""

    name: str

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray: ...


def to_uint8(frame_unit: np.ndarray) -> np.ndarray:
    """(H, W) float 0..1 -> uint8 0..255 (what OpenCV's flow methods take)."""
    result: np.ndarray = np.clip(np.asarray(frame_unit, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return result


@dataclass
class ClassicalFlow:
    """OpenCV dense optical flow. method: 'dis' (fast, default) or 'farneback'.

    DIS parameters (patch 8 px, stride 4, full-resolution finest scale, 16 gradient-descent
    iterations, no variational refinement) were chosen on phantom clips with exact material motion:
    variational refinement lowers the endpoint error slightly (0.141 vs 0.154 px) but shrinks the
    displacements (regression slope 0.90 vs 0.95), which accumulates into tangential lag of the
    tracked points; without it the segmental strain error fell from 3.2 to 2.1 strain points over
    8 phantom clips and every hypokinetic segment was found (2 of 4 with refinement). Pre-smoothing
    the speckle made the endpoint error worse (0.84 vs 0.48 px on warped CAMUS frames).
    """

    method: str = "dis"
    presmooth_sigma_px: float = 0.0
    scale: float = 1.0  # < 1: the flow is computed on frames resized by this factor, returned on the input grid

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown flow method {self.method!r}; expected one of {METHODS}")
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"flow scale must be in (0, 1], got {self.scale}")
        self.name = f"classical-{self.method}"
        self._dis: cv2.DISOpticalFlow | None = None
        if self.method == "dis":
            dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
            dis.setPatchSize(8)
            dis.setPatchStride(4)
            dis.setFinestScale(0)
            dis.setGradientDescentIterations(16)
            dis.setVariationalRefinementIterations(0)
            dis.setUseMeanNormalization(True)
            self._dis = dis

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        f: np.ndarray = np.asarray(frame, dtype=np.float32)
        if self.presmooth_sigma_px > 0:
            f = cv2.GaussianBlur(f, (0, 0), self.presmooth_sigma_px)
        return to_uint8(f)

    def __call__(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        a, b = self._prepare(first), self._prepare(second)
        h, w = a.shape
        small = (max(int(round(w * self.scale)), 8), max(int(round(h * self.scale)), 8))
        if small != (w, h):
            a = cv2.resize(a, small, interpolation=cv2.INTER_AREA)
            b = cv2.resize(b, small, interpolation=cv2.INTER_AREA)
        # the ignores: a None flow lets OpenCV allocate it, which its stubs do not allow for
        flow: np.ndarray
        if self._dis is not None:
            flow = self._dis.calc(a, b, None).astype(np.float32)  # type: ignore[call-overload]
        else:
            flow = cv2.calcOpticalFlowFarneback(  # type: ignore[call-overload]
                a, b, None, pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.1, flags=0
            ).astype(np.float32)
        if small == (w, h):
            return flow
        resized: np.ndarray = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        resized[..., 0] *= np.float32(w / small[0])
        resized[..., 1] *= np.float32(h / small[1])
        return resized


def flow_sequence(
    frames_unit: np.ndarray, estimator: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> Iterator[np.ndarray]:
    """Yield the (H, W, 2) flow from frame t to t+1 for t = 0 .. T-2 of (T, H, W) frames."""
    for t in range(len(frames_unit) - 1):
        yield estimator(frames_unit[t], frames_unit[t + 1])


def masked_smooth_flow(flow: np.ndarray, mask: np.ndarray, sigma_px: float = 3.0) -> np.ndarray:
    """Normalised convolution: Gaussian average of the flow over mask pixels only.

    flow: (H, W, 2); mask: (H, W) bool. Returns (H, W, 2); pixels far from the mask get the
    nearest masked average (the weight floor keeps them finite).
    """
    w = mask.astype(np.float32)
    num_x = cv2.GaussianBlur(flow[..., 0] * w, (0, 0), sigma_px)
    num_y = cv2.GaussianBlur(flow[..., 1] * w, (0, 0), sigma_px)
    den = np.maximum(cv2.GaussianBlur(w, (0, 0), sigma_px), 1e-3)
    return np.stack([num_x / den, num_y / den], axis=-1)


def sample_field(field: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """Bilinear samples of an (H, W, C) field at (N, 2) points (x, y) -> (N, C)."""
    coords = [points_px[:, 1], points_px[:, 0]]
    return np.stack(
        [ndimage.map_coordinates(field[..., c], coords, order=1, mode="nearest") for c in range(field.shape[-1])],
        axis=1,
    )


def masked_velocity(flow: np.ndarray, mask: np.ndarray, points_px: np.ndarray, sigma_px: float = 3.0) -> np.ndarray:
    """(N, 2) displacement of points (N, 2) from a flow (H, W, 2) averaged over mask (H, W) pixels."""
    if not mask.any():
        return sample_field(flow, points_px)
    return sample_field(masked_smooth_flow(flow, mask, sigma_px), points_px)


def endpoint_error_px(flow: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean endpoint error between (H, W, 2) fields, over mask pixels when given."""
    err = np.linalg.norm(np.asarray(flow) - np.asarray(truth), axis=-1)
    return float(err[mask].mean() if mask is not None and mask.any() else err.mean())
