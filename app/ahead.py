"""Per-frame work run ahead of the rest, in a thread of its own, for every layer.

`run_ahead(step, inputs, depth)` yields `step(x)` for each input in order, as a plain loop would, while a
worker thread computes the next ones (at most `depth` ahead). For steps that release the GIL while they compute
(a network's engine, OpenCV's optical flow): on two cores they run beside the Python work on the frames before
them instead of between them. Inputs go through `step` in order: a recurrent network's state goes forward as
it does inline. Users: the echo network (app.ml.inference), the strain's motion (app.workflow.strain_pipeline).

Closing the iterator early (a cancelled analysis, a consumer that stops) stops the worker after its current
frame and waits for it; an error in `step` is raised in the consumer, at the frame where it happened.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Collection, Generator, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

_POLL_S = 0.05  # how often a worker with a full queue looks whether the consumer has gone


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def run_ahead(step: Callable[[In], Out], inputs: Collection[In], depth: int = 4) -> Generator[Out, None, None]:
    """step(inputs[0]), step(inputs[1]), ... in order, computed in a worker thread up to `depth` ahead."""
    results: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for x in inputs:
                if stop.is_set() or not hand_over(step(x)):
                    return
        except BaseException as exc:  # noqa: BLE001 - any error is handed to the consumer and raised there
            hand_over(_Failed(exc))

    worker = threading.Thread(target=work, name="cardiotrace-ahead", daemon=True)
    worker.start()
    try:
        for _ in range(len(inputs)):
            item = results.get()
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
