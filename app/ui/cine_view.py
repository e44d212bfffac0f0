"""Cine view: one recording's frames with axes in mm, playback at the recording's own frame rate.

Playback follows the recording's frame times (speed 0.25x-2x): each timer tick picks the frame whose
time has been reached, so a slow repaint skips frames instead of slowing the clip. Optionally loops
over one beat (the ED-to-ED interval holding the current frame). Window/level act on the native
intensities through the ImageItem levels (no copy of the frames).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.data.recording import Recording

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0)



FRAME_BASE = 0  # frames are numbered from 0 everywhere: counter, curves, tables, report, JSON


FLAG_MARK = "⚑"  # after the frame counter when the frame has quality flags (listed in its tooltip)


def frame_text(frame: int, n_frames: int) -> str:
    """The frame counter: 'frame 14 of 0–35' (the number the curves, tables and report use)."""
    return f"frame {frame + FRAME_BASE} of {FRAME_BASE}–{n_frames - 1 + FRAME_BASE}"


def flags_tooltip(flags) -> str:
    """The frame counter's tooltip: the frame's quality flags, one a line (the report's wording), or ""."""
    return "Quality flags of this frame:\n" + "\n".join(f"• {f}" for f in flags) if flags else ""


class CineView(QWidget):
    """frame_changed(int) whenever the displayed frame changes (slider, keys, playback, set_frame)."""

    frame_changed = Signal(int)
    playing_changed = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.recording: Recording | None = None
        self.slice_index = 0
        self.frame = 0
        self._frames: np.ndarray | None = None  # (T, H, W) native
        self._frame_flags: tuple = ()  # per frame, the measurements' quality flags (set_frame_flags)
        self._base_levels = (0.0, 1.0)
        self._loop: tuple[int, int] | None = None
        self._play_start = (0.0, 0.0)  # (monotonic s, recording time s)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.plot.setBackground("k")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self._build_controls()

    # -- layout -----------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.toggled.connect(self.set_playing)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame (Left / Right arrow keys step)")
        self.slider.valueChanged.connect(self.set_frame)
        self.frame_label = QLabel("-")
        self.frame_label.setMinimumWidth(150)
        self.speed = QComboBox()
        self.speed.addItems([f"{s:g}x" for s in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("Playback speed relative to the recording's frame rate")
        self.speed.currentIndexChanged.connect(self._restart_clock)
        self.loop_beat = QCheckBox("Loop one beat")
        self.window_slider = _labelled_slider("W", 5, 200, 100, self._apply_levels)
        self.level = _labelled_slider("L", 0, 100, 50, self._apply_levels)
        row = QHBoxLayout()
        for w in (self.play_button, self.slider, self.frame_label, self.speed, self.loop_beat):
            row.addWidget(w)
        wl = QHBoxLayout()
        wl.addWidget(QLabel("Window / level"))
        wl.addLayout(self.window_slider[0])
        wl.addLayout(self.level[0])
        wl.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        layout.addLayout(wl)

    # -- content ----------------------------------------------------------------------------
    def set_recording(self, recording: Recording | None, slice_index: int = 0, frame: int = 0,
                      keep_view: bool = False) -> None:
        """Show one slice of a recording; keep_view keeps the zoom and pan (stepping through a stack's slices)."""
        self.set_playing(False)
        if recording is not self.recording:
            self._frame_flags = ()  # another recording: its own flags come with its measurements
        self.recording = recording
        self.slice_index = slice_index
        if recording is None:
            self._frames = None
            self.image.clear()
            return
        if recording.display_rgb is not None:  # a colour Doppler clip: its colours as the scanner showed them
            self._frames, self._base_levels = recording.display_rgb, (0.0, 255.0)
        else:
            self._frames = recording.slice_frames(slice_index)
            sample = self._frames[:: max(1, len(self._frames) // 8)]
            lo, hi = np.percentile(sample, [1.0, 99.5])
            self._base_levels = (float(lo), float(hi if hi > lo else lo + 1))
        self.slider.blockSignals(True)
        self.slider.setRange(0, recording.n_frames - 1)
        self.slider.blockSignals(False)
        self.frame = -1
        self.image.setImage(self._frames[0], autoLevels=False, levels=self._levels())  # size before setRect
        self.update_geometry()
        self.set_frame(min(frame, recording.n_frames - 1))
        if not keep_view:
            self.fit()

    def fit(self) -> None:
        """Show the whole image; the view then stays put while overlays change (no auto-range)."""
        vb = self.plot.getPlotItem().vb
        vb.autoRange(padding=0.02, items=[self.image])
        vb.disableAutoRange()

    def update_geometry(self) -> None:
        """Place the image in mm (pixel centres at index x spacing); call after a calibration."""
        rec = self.recording
        assert rec is not None  # called with a recording shown
        row_mm, col_mm = self.spacing_mm
        h, w = rec.image_shape
        self.image.setRect(QRectF(-0.5 * col_mm, -0.5 * row_mm, w * col_mm, h * row_mm))
        unit = "mm" if rec.calibrated else "px, uncalibrated"
        across, down = ("x", "y") if rec.modality == "mri" else ("lateral", "depth")  # no probe words on MRI
        self.plot.setLabel("bottom", f"{across} ({unit})")
        self.plot.setLabel("left", f"{down} ({unit})")

    @property
    def spacing_mm(self) -> tuple[float, float]:
        rec = self.recording
        return rec.spacing_mm if rec is not None and rec.calibrated else (1.0, 1.0)

    def px_to_view(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) (x, y) pixels -> view coordinates (mm when calibrated)."""
        row_mm, col_mm = self.spacing_mm
        return np.asarray(points_px, dtype=np.float64) * np.array([col_mm, row_mm])

    def view_to_px(self, x: float, y: float) -> tuple[float, float]:
        row_mm, col_mm = self.spacing_mm
        return (x / col_mm, y / row_mm)

    def set_frame(self, frame: int) -> None:
        if self._frames is None:
            return
        frame = int(np.clip(frame, 0, len(self._frames) - 1))
        if frame == self.frame:
            return
        self.frame = frame
        self.image.setImage(self._frames[frame], autoLevels=False, levels=self._levels())
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self._show_frame_label()
        self.frame_changed.emit(frame)

    def set_frame_flags(self, quality) -> None:
        """Per frame, its quality flags (Measurements.quality): the counter marks a flagged frame with FLAG_MARK
        and lists its flags in the tooltip (why a contour is missing or a frame is left out of the curve)."""
        self._frame_flags = tuple(tuple(f) for f in (quality or ()))
        self._show_frame_label()

    def _show_frame_label(self) -> None:
        if self._frames is None or self.recording is None:
            return
        frame = self.frame
        t = float(self.recording.frame_times_s[frame])
        when = "" if self.recording.frame_times_nominal else f"  {t * 1000:.0f} ms"  # no made-up times
        flags = self._frame_flags[frame] if frame < len(self._frame_flags) else ()
        self.frame_label.setText(f"{frame_text(frame, len(self._frames))}{when}" + (f"  {FLAG_MARK}" if flags else ""))
        self.frame_label.setToolTip(flags_tooltip(flags))

    def step(self, delta: int) -> None:
        self.set_playing(False)
        if self._frames is not None:
            self.set_frame((self.frame + delta) % len(self._frames))

    @property
    def n_frames(self) -> int:
        return 0 if self._frames is None else len(self._frames)

    def go_to(self, frame: int) -> None:
        """Stop playback and show `frame` (clamped to the recording: Home, End, PgUp/PgDn, marks)."""
        self.set_playing(False)
        self.set_frame(frame)

    # -- window / level ---------------------------------------------------------------------
    def _levels(self) -> tuple[float, float]:
        lo, hi = self._base_levels
        span = hi - lo
        width = span * self.window_slider[1].value() / 100.0
        centre = lo + span * self.level[1].value() / 100.0
        return (centre - width / 2, centre + width / 2)

    def _apply_levels(self) -> None:
        if self._frames is not None:
            self.image.setLevels(self._levels())

    # -- playback ---------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def set_loop_range(self, frames: tuple[int, int] | None) -> None:
        """(first, last) frame of the beat to loop over, used when 'Loop one beat' is ticked."""
        self._loop = frames

    def set_playing(self, play: bool) -> None:
        if play and (self._frames is None or len(self._frames) < 2):
            play = False
        if play == self.playing:
            self.play_button.setChecked(play)
            return
        if play:
            self._restart_clock()
            assert self.recording is not None  # its frames are playing
            rate = self.recording.frame_rate_hz or 25.0
            self.timer.start(max(5, int(500.0 / (rate * self.current_speed))))
        else:
            self.timer.stop()
        self.play_button.blockSignals(True)
        self.play_button.setChecked(play)
        self.play_button.setText("Pause" if play else "Play")
        self.play_button.blockSignals(False)
        self.playing_changed.emit(play)

    def toggle_playing(self) -> None:
        self.set_playing(not self.playing)

    @property
    def current_speed(self) -> float:
        return SPEEDS[self.speed.currentIndex()]

    def _restart_clock(self) -> None:
        if self.recording is not None:
            self._play_start = (time.monotonic(), float(self.recording.frame_times_s[max(self.frame, 0)]))

    def _tick(self) -> None:
        assert self.recording is not None  # the timer runs while its frames play
        times = self.recording.frame_times_s
        first, last = self._loop if (self.loop_beat.isChecked() and self._loop) else (0, len(times) - 1)
        dt = float(np.median(np.diff(times))) if len(times) > 1 else 0.04
        t0, t_end = float(times[first]), float(times[last]) + dt
        clock0, rec0 = self._play_start
        t = rec0 + (time.monotonic() - clock0) * self.current_speed
        if not first <= self.frame <= last:
            t = t0
            self._play_start = (time.monotonic(), t0)
        if t >= t_end:
            t = t0 + (t - t0) % max(t_end - t0, 1e-6)
        frame = int(np.searchsorted(times, t, side="right") - 1)
        self.set_frame(int(np.clip(frame, first, last)))


def _labelled_slider(name: str, lo: int, hi: int, value: int, slot):
    layout = QHBoxLayout()
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(lo, hi)
    slider.setValue(value)
    slider.setMaximumWidth(160)
    slider.setToolTip({"W": "Window width (% of the intensity range)", "L": "Level (centre)"}[name])
    slider.valueChanged.connect(slot)
    layout.addWidget(QLabel(name))
    layout.addWidget(slider)
    return layout, slider
