"""Constant-acceleration Kalman filter for many 2D points at once (centerline tracking).

Each centerline point has, per image axis, the state [position, velocity, acceleration] and is
measured as z = [x, y, vx, vy]: position from the segmentation centerline, velocity from the dense
motion field. All points and both axes share the same F, H, Q, R and initial covariance, so their
covariance recursion is identical: one filterpy `KalmanFilter` (dim_x=3, dim_z=2) runs it once per
step and its gain K is applied to every point's state in one matrix product. This is exactly the
per-point filter, only vectorised (2 x 120 filters cost one 3 x 3 recursion).

Units: pixels and frames (dt = 1 frame by default), so velocities are displacements per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter


@dataclass(frozen=True)
class KalmanParams:
    """Noise model of the constant-acceleration tracker (pixels, frames)."""

    dt_frames: float = 1.0
    accel_noise_px: float = 0.35  # process noise: std of the acceleration change per frame
    position_noise_px: float = 1.5  # measurement noise of the segmentation centerline position
    velocity_noise_px: float = 0.25  # measurement noise of the motion-field displacement per frame
    initial_velocity_std_px: float = 1.0
    initial_accel_std_px: float = 0.5


def _shared_filter(params: KalmanParams, initial_position_std_px: float) -> KalmanFilter:
    dt = params.dt_frames
    kf = KalmanFilter(dim_x=3, dim_z=2)
    kf.F = np.array([[1.0, dt, 0.5 * dt * dt], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])
    kf.H = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    kf.Q = Q_discrete_white_noise(dim=3, dt=dt, var=params.accel_noise_px**2)
    kf.R = np.diag([params.position_noise_px**2, params.velocity_noise_px**2])
    kf.P = np.diag(
        [initial_position_std_px**2, params.initial_velocity_std_px**2, params.initial_accel_std_px**2]
    )
    kf.x = np.zeros((3, 1))
    return kf


class PointTracker:
    """Kalman tracker of N points in 2D with a constant-acceleration model.

    positions_px: (N, 2) start positions (x=col, y=row); velocities_px: optional (N, 2) start
    displacement per frame. State is kept as (3, 2N): rows [p, v, a], columns x of every point
    then y of every point.
    """

    def __init__(
        self,
        positions_px: np.ndarray,
        params: KalmanParams = KalmanParams(),
        velocities_px: np.ndarray | None = None,
        initial_position_std_px: float = 0.5,
    ) -> None:
        pos = np.asarray(positions_px, dtype=np.float64)
        if pos.ndim != 2 or pos.shape[1] != 2:
            raise ValueError(f"positions_px must be (N, 2), got {pos.shape}")
        self.n_points = pos.shape[0]
        self.params = params
        self._kf = _shared_filter(params, initial_position_std_px)
        self._state = np.zeros((3, 2 * self.n_points))
        self._state[0] = pos.T.reshape(-1)
        if velocities_px is not None:
            self._state[1] = np.asarray(velocities_px, dtype=np.float64).T.reshape(-1)

    # -- state ------------------------------------------------------------------------------
    def _pairs(self, row: int) -> np.ndarray:
        result: np.ndarray = self._state[row].reshape(2, self.n_points).T.copy()
        return result

    @property
    def positions_px(self) -> np.ndarray:
        """(N, 2) current positions (x, y)."""
        return self._pairs(0)

    @property
    def velocities_px(self) -> np.ndarray:
        """(N, 2) current displacement per frame."""
        return self._pairs(1)

    @property
    def position_std_px(self) -> float:
        """Standard deviation of every point's position estimate (same for all points)."""
        return float(np.sqrt(self._kf.P[0, 0]))

    # -- recursion --------------------------------------------------------------------------
    def predict(self) -> np.ndarray:
        """Advance one step with the CA model; returns the (N, 2) predicted positions."""
        self._kf.predict()
        self._state = self._kf.F @ self._state
        return self.positions_px

    def update(self, positions_px: np.ndarray, velocities_px: np.ndarray) -> np.ndarray:
        """Fuse z = [x, y, vx, vy] for every point: positions_px, velocities_px (N, 2).

        Returns the (N, 2) filtered positions.
        """
        z_pos = np.asarray(positions_px, dtype=np.float64).T.reshape(-1)
        z_vel = np.asarray(velocities_px, dtype=np.float64).T.reshape(-1)
        if z_pos.size != 2 * self.n_points or z_vel.size != 2 * self.n_points:
            raise ValueError("measurements must be (N, 2) like the tracked points")
        self._kf.update(np.zeros((2, 1)))  # covariance + gain; the shared dummy state stays 0
        innovation = np.stack([z_pos, z_vel]) - self._kf.H @ self._state
        self._state = self._state + self._kf.K @ innovation
        return self.positions_px


def filter_tracks(
    positions_px: np.ndarray, velocities_px: np.ndarray, params: KalmanParams = KalmanParams()
) -> np.ndarray:
    """Filter whole measured tracks: positions_px, velocities_px (T, N, 2) -> filtered (T, N, 2).

    velocities_px[t] is the displacement measured between frames t-1 and t (row 0 is the start
    velocity). The first frame initialises the filter.
    """
    pos = np.asarray(positions_px, dtype=np.float64)
    vel = np.asarray(velocities_px, dtype=np.float64)
    if pos.shape != vel.shape or pos.ndim != 3 or pos.shape[2] != 2:
        raise ValueError(f"tracks must both be (T, N, 2), got {pos.shape} and {vel.shape}")
    tracker = PointTracker(pos[0], params, velocities_px=vel[0])
    out = np.empty_like(pos)
    out[0] = tracker.positions_px
    for t in range(1, pos.shape[0]):
        tracker.predict()
        out[t] = tracker.update(pos[t], vel[t])
    return out
