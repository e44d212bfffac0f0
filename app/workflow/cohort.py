"""Cohorts on a Dask distributed cluster: one task per recording, failures isolated, resumable, cancellable.

`run_cohort(items, task, workers=N)` starts a local cluster (N processes, one thread each) and runs
`task(item, on_progress)` once per item as one Dask task; `scheduler="tcp://host:8786"` joins an existing
cluster instead (started with `dask scheduler` and `dask worker`, dask-jobqueue or the Dask Kubernetes
operator), so the same code runs on one machine or many. The module knows nothing of the analysis: `task` does
the work and writes its own result (atomically); `is_done(item)` says that a complete result exists, and those
items are skipped, so re-running the same command resumes. An exception in a task, or a worker that dies,
marks that item failed with its error; the other items go on.

Progress and cancel as in a local run (app.tasks): the task's `on_progress(Progress)` on the worker is sent,
throttled, as a Dask event to this process, where `on_progress(key, Progress)` receives it (fraction and
message; partial results stay on the worker); `cancel` stops the run: tasks not finished are cancelled and the
summary says `interrupted`. The module prints nothing: the caller shows outcomes and progress.

The task and the items are shipped to the workers with cloudpickle: they must be importable there (the
workers run the same installation of the app) and carry no open files or locks.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from distributed.diagnostics.plugin import WorkerPlugin  # this module is imported only to run on Dask

from app.tasks import Cancel, Progress, ProgressFn, is_cancelled

if TYPE_CHECKING:
    from distributed import Client, Future, Worker

Item = TypeVar("Item")
STATUSES = ("ok", "failed", "skipped")
CONNECT_TIMEOUT_S = 20
PUBLISH_S = 0.25  # a worker sends a task's progress at most this often (and always its end)
POLL_S = 0.1  # how often this process looks for finished tasks, progress and cancel


@dataclass(frozen=True)
class Outcome(Generic[Item]):
    """What became of one item: status ok / failed / skipped, or the status its task's value gives (a batch's
    "left out"); the error text when not ok, the task's return value unless failed, seconds spent in the task
    (0 when skipped)."""

    key: str
    item: Item
    status: str
    error: str = ""
    value: object = None
    seconds: float = 0.0


@dataclass(frozen=True)
class CohortSummary:
    """The outcomes in the items' order (items a cancelled run did not finish have none), the cluster's
    worker count, the wall time, and whether `cancel` stopped the run."""

    outcomes: tuple[Outcome[Any], ...]
    workers: int
    wall_s: float
    interrupted: bool = False

    def _keys(self, status: str) -> list[str]:
        return [o.key for o in self.outcomes if o.status == status]

    @property
    def done(self) -> list[str]:
        return self._keys("ok")

    @property
    def failed(self) -> list[str]:
        return self._keys("failed")

    @property
    def skipped(self) -> list[str]:
        return self._keys("skipped")

    @property
    def errors(self) -> dict[str, str]:
        return {o.key: o.error for o in self.outcomes if o.status == "failed"}


class _Publisher:
    """A task's ProgressFn on a worker: (key, fraction, message) as a Dask event under `topic`, throttled."""

    def __init__(self, topic: str, key: str) -> None:
        self.topic, self.key = topic, key
        self._sent_s = float("-inf")

    def __call__(self, progress: Progress) -> None:
        from distributed import get_worker

        now = time.monotonic()
        if now - self._sent_s < PUBLISH_S and progress.fraction < 1.0:
            return
        self._sent_s = now
        get_worker().log_event(self.topic, [self.key, float(progress.fraction), str(progress.message)])


def _ignore(progress: Progress) -> None:
    pass


def guarded(task: Callable[[Item, ProgressFn], object], item: Item, key: str = "",
            topic: str = "") -> tuple[str, str, object, float]:
    """Run task(item, on_progress) on a worker: (status, error, value, seconds); an exception is the item's
    error. With a topic, the task's progress goes to this process as events (see the module docstring)."""
    started = time.perf_counter()
    try:
        value = task(item, _Publisher(topic, key) if topic else _ignore)
    except Exception as exc:  # noqa: BLE001 - one recording's failure is reported, never raised into the cluster
        text = " ".join(str(exc).split()) or exc.__class__.__name__
        return (
            "failed",
            f"{exc.__class__.__name__}: {text}",
            traceback.format_exc(limit=6),
            time.perf_counter() - started,
        )
    status = value.get("status", "ok") if isinstance(value, dict) else "ok"  # the task's own word (a batch's
    error = value.get("error", "") if isinstance(value, dict) else ""  # "left out") passes through
    return str(status), str(error), value, time.perf_counter() - started


@contextlib.contextmanager
def cluster_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A dask.distributed Client: joined to `scheduler`, or on a new LocalCluster of `workers` processes
    with one thread each (closed on exit)."""
    from distributed import Client, LocalCluster

    if scheduler:
        with _joined(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=max(int(workers or 1), 1), threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


@contextlib.contextmanager
def _joined(scheduler: str) -> Iterator[Client]:
    """A Client of the scheduler at `scheduler`, or ConnectionError within CONNECT_TIMEOUT_S: a service that is no
    Dask scheduler answers with bytes Dask takes for a message length (a MemoryError of exabytes) or never
    answers the handshake (Dask's own timeout does not end that wait): the attempt runs in a thread of its own."""
    import threading

    from distributed import Client

    got: list[Client | BaseException] = []

    def connect() -> None:
        try:
            got.append(Client(scheduler, timeout=CONNECT_TIMEOUT_S))
        except BaseException as exc:  # noqa: BLE001 - any failure is the address's, said below
            got.append(exc)

    attempt = threading.Thread(target=connect, name="dask-connect", daemon=True)
    attempt.start()
    attempt.join(CONNECT_TIMEOUT_S + 5)
    result = got[0] if got else TimeoutError(f"no Dask handshake within {CONNECT_TIMEOUT_S + 5} s")
    if isinstance(result, BaseException):
        why = " ".join(str(result).split())[:200] or type(result).__name__
        if isinstance(result, MemoryError):
            why = "it answered, but not as a Dask scheduler does"
        raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {why}") from None
    with result:
        yield result


def run_cohort(items: Sequence[Item], task: Callable[[Item, ProgressFn], object], *,
               key: Callable[[Item], str] = str, is_done: Callable[[Item], bool] | None = None,
               workers: int | None = None, scheduler: str | None = None,
               on_outcome: Callable[[Outcome[Item]], None] | None = None,
               on_progress: Callable[[str, Progress], None] | None = None, cancel: Cancel = None,
               worker_setup: Callable[[], None] | None = None) -> CohortSummary:
    """Run task(item, on_progress) for every item not already done, one Dask task each (see the module
    docstring).

    key(item): a unique name (the task key and the summary's); is_done(item): True when a complete result
    exists (skipped); on_outcome: called in this process as each item finishes (e.g. to update an index file);
    on_progress(key, Progress): a running task's progress, in this process; cancel: an Event or a callable,
    looked at every POLL_S; worker_setup(): run once in every worker process before its first task (and in
    workers that join later), e.g. to pin threads and import the task's libraries."""
    started = time.perf_counter()
    outcomes: dict[str, Outcome[Item]] = {}
    todo: list[Item] = []
    for item in items:
        name = key(item)
        if name in outcomes or any(name == key(t) for t in todo):
            raise ValueError(f"two items share the key {name!r}")
        if is_done is not None and is_done(item):
            outcomes[name] = Outcome(name, item, "skipped")
            if on_outcome is not None:
                on_outcome(outcomes[name])
        else:
            todo.append(item)
    n_workers, interrupted = 0, False
    if todo and not is_cancelled(cancel):
        with cluster_client(workers, scheduler) as client:
            if worker_setup is not None:
                client.register_plugin(_WorkerSetup(worker_setup))
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            events: queue.SimpleQueue[tuple[float, list[Any]]] = queue.SimpleQueue()
            topic = f"cardiotrace-progress-{uuid.uuid4().hex}" if on_progress is not None else ""
            if topic:
                client.subscribe_topic(topic, events.put)  # called on the client's event loop: queued for here
            futures = {client.submit(guarded, task, item, key(item), topic, key=f"recording-{key(item)}",
                                     pure=False): item for item in todo}
            interrupted = _collect(client, futures, key, outcomes, on_outcome, events, on_progress, cancel)
            if topic:
                client.unsubscribe_topic(topic)
    else:
        interrupted = bool(todo)
    ordered = tuple(outcomes[key(item)] for item in items if key(item) in outcomes)
    return CohortSummary(ordered, n_workers, time.perf_counter() - started, interrupted)


class _WorkerSetup(WorkerPlugin):
    """A Dask worker plugin running `setup()` when a worker starts or the plugin is registered. At the
    worker's close it freezes the garbage collector's objects, as app.cli.entry_point does, so the process
    exits without walking the task's libraries (torch) with the cycle collector again: the cluster's close
    waits for that."""

    name = "cardiotrace-worker-setup"

    def __init__(self, setup: Callable[[], None]) -> None:
        self.setup_fn = setup

    def setup(self, worker: Worker) -> None:
        self.setup_fn()

    def teardown(self, worker: Worker) -> None:
        import gc

        gc.freeze()


def _collect(client: Client, futures: dict[Future[tuple[str, str, object, float]], Item],
             key: Callable[[Item], str], outcomes: dict[str, Outcome[Item]],
             on_outcome: Callable[[Outcome[Item]], None] | None, events: queue.SimpleQueue[tuple[float, list[Any]]],
             on_progress: Callable[[str, Progress], None] | None, cancel: Cancel) -> bool:
    """Record each task's outcome as it finishes, pass progress on, and stop on cancel: True when cancelled."""
    from distributed import as_completed

    pending = as_completed(list(futures))
    while not pending.is_empty():
        if is_cancelled(cancel):
            client.cancel([f for f in futures if key(futures[f]) not in outcomes])
            return True
        for future in pending.next_batch(block=False) if pending.has_ready() else ():
            item = futures[future]
            name = key(item)
            try:
                status, error, value, seconds = future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or the task could not run there
                status, error, value, seconds = "failed", f"{exc.__class__.__name__}: {exc}", None, 0.0
            outcomes[name] = Outcome(name, item, status, error, value if status != "failed" else None,
                                     round(seconds, 3))
            if on_outcome is not None:
                on_outcome(outcomes[name])
        _pass_progress(events, outcomes, on_progress)
        if not pending.has_ready():
            time.sleep(POLL_S)
    return False


def _pass_progress(events: queue.SimpleQueue[tuple[float, list[Any]]], outcomes: dict[str, Any],
                   on_progress: Callable[[str, Progress], None] | None) -> None:
    while not events.empty():
        _, (name, fraction, message) = events.get()
        if on_progress is not None and name not in outcomes:  # late news of a finished task is dropped
            on_progress(name, Progress(fraction, message))
