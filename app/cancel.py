"""Cancellation of long tasks, for every layer: a task takes `cancel`, either a threading.Event (the UI's
workers) or a no-argument callable returning True when the user asked to stop, or None."""

from __future__ import annotations

import threading
from typing import Callable, Union

Cancel = Union[threading.Event, Callable[[], bool], None]


def is_cancelled(cancel: Cancel) -> bool:
    """True when `cancel` (an Event, a callable or None) says stop."""
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())
