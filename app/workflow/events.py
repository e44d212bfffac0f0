"""A tiny Qt-free signal: models emit, views connect (napari style). Used by the study state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Slot = Callable[..., object]


class Signal:
    """Callbacks run synchronously in the emitting thread, in the order they were connected."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Slot] = []

    def connect(self, slot: Slot) -> Slot:
        if slot not in self._slots:
            self._slots.append(slot)
        return slot

    def disconnect(self, slot: Slot | None = None) -> None:
        if slot is None:
            self._slots.clear()
        elif slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)

    def __len__(self) -> int:
        return len(self._slots)


class StudyEvents:
    """Every change of the study state. Arguments: the recording index (and a payload where noted)."""

    def __init__(self) -> None:
        self.recording_added = Signal("recording_added")  # (index)
        self.analysis_changed = Signal("analysis_changed")  # (index)
        self.contours_changed = Signal("contours_changed")  # (index, keys: list[(slice, frame)])
        self.edes_changed = Signal("edes_changed")  # (index)
        self.view_changed = Signal("view_changed")  # (index)
        self.calibration_changed = Signal("calibration_changed")  # (index)
        self.measurements_changed = Signal("measurements_changed")  # (index)
        self.modified = Signal("modified")  # (index) any change that must be autosaved
