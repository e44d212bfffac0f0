"""app.tasks.is_cancelled: one reading of `cancel` for every long task."""

from __future__ import annotations

import threading

from app.tasks import is_cancelled


def test_event_callable_and_none():
    event = threading.Event()
    assert not is_cancelled(None) and not is_cancelled(event) and not is_cancelled(lambda: False)
    event.set()
    assert is_cancelled(event) and is_cancelled(lambda: True)
