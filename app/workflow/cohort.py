"""Cohorts on a Dask distributed cluster: one task per recording, failures isolated, resumable.

`run_cohort(items, task, workers=N)` starts a local cluster (N processes, one thread each) and runs
`task(item)` once per item as one Dask task; `scheduler="tcp://host:8786"` joins an existing cluster instead
(started with `dask scheduler` and `dask worker`, dask-jobqueue or the Dask Kubernetes operator), so the same
code runs on one machine or many. The module knows nothing of the analysis: `task` does the work and writes
its own result (atomically); `is_done(item)` says that a complete result exists, and those items are skipped,
so re-running the same command resumes. An exception in a task, or a worker that dies, marks that item
failed with its error; the other items go on. Progress: dask.distributed's text bar on a terminal, one line
per finished item otherwise.

The task and the items are shipped to the workers with cloudpickle: they must be importable there (the
workers run the same installation of the app) and carry no open files or locks.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TextIO, TypeVar

from distributed.diagnostics.plugin import WorkerPlugin  # this module is imported only to run on Dask

if TYPE_CHECKING:
    from distributed import Client, Future, Worker

Item = TypeVar("Item")
STATUSES = ("ok", "failed", "skipped")
CONNECT_TIMEOUT_S = 20


@dataclass(frozen=True)
class Outcome(Generic[Item]):
    """What became of one item: status ok / failed / skipped, the error text when failed, the task's return
    value when ok, seconds spent in the task (0 when skipped)."""

    key: str
    item: Item
    status: str
    error: str = ""
    value: object = None
    seconds: float = 0.0


@dataclass(frozen=True)
class CohortSummary:
    outcomes: tuple[Outcome[Any], ...]
    workers: int
    wall_s: float

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


def guarded(task: Callable[[Item], object], item: Item) -> tuple[str, str, object, float]:
    """Run task(item) on a worker: (status, error, value, seconds); an exception is the item's error."""
    started = time.perf_counter()
    try:
        value = task(item)
    except Exception as exc:  # noqa: BLE001 - one recording's failure is reported, never raised into the cluster
        text = " ".join(str(exc).split()) or exc.__class__.__name__
        return (
            "failed",
            f"{exc.__class__.__name__}: {text}",
            traceback.format_exc(limit=6),
            time.perf_counter() - started,
        )
    status = value.get("status", "ok") if isinstance(value, dict) else "ok"
    error = value.get("error", "") if isinstance(value, dict) else ""
    return ("ok" if status == "ok" else "failed"), str(error), value, time.perf_counter() - started


@contextlib.contextmanager
def cluster_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A dask.distributed Client: joined to `scheduler`, or on a new LocalCluster of `workers` processes
    with one thread each (closed on exit)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=max(int(workers or 1), 1), threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client


def run_cohort(items: Sequence[Item], task: Callable[[Item], object], *, key: Callable[[Item], str] = str,
               is_done: Callable[[Item], bool] | None = None, workers: int | None = None,
               scheduler: str | None = None, stream: TextIO | None = None,
               on_outcome: Callable[[Outcome[Item]], None] | None = None,
               worker_setup: Callable[[], None] | None = None) -> CohortSummary:
    """Run task(item) for every item not already done, one Dask task each (see the module docstring).

    key(item): a unique name (the task key and the summary's); is_done(item): True when a complete result
    exists (skipped); stream: where progress goes (default stderr); on_outcome: called in this process as
    each item finishes (e.g. to update an index file); worker_setup(): run once in every worker process
    before its first task (and in workers that join later), e.g. to pin threads and import the task's
    libraries."""
    out = stream if stream is not None else sys.stderr
    started = time.perf_counter()
    outcomes: dict[str, Outcome[Item]] = {}
    todo: list[Item] = []
    for item in items:
        name = key(item)
        if name in outcomes or any(name == key(t) for t in todo):
            raise ValueError(f"two items share the key {name!r}")
        if is_done is not None and is_done(item):
            outcomes[name] = Outcome(name, item, "skipped")
            _report(outcomes[name], out, on_outcome, tty=False)
        else:
            todo.append(item)
    n_workers = 0
    if todo:
        with cluster_client(workers, scheduler) as client:
            if worker_setup is not None:
                client.register_plugin(_WorkerSetup(worker_setup))
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            futures = {client.submit(guarded, task, item, key=f"recording-{key(item)}", pure=False): item
                       for item in todo}
            _collect(futures, key, outcomes, out, on_outcome)
    ordered = tuple(outcomes[key(item)] for item in items)
    return CohortSummary(ordered, n_workers, time.perf_counter() - started)


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


def _collect(futures: dict[Future[tuple[str, str, object, float]], Item], key: Callable[[Item], str],
             outcomes: dict[str, Outcome[Item]],
             stream: TextIO, on_outcome: Callable[[Outcome[Item]], None] | None) -> None:
    from distributed import as_completed

    tty = bool(getattr(stream, "isatty", lambda: False)())
    if tty:  # the library's bar, drawn until every task is finished
        from distributed import progress

        with contextlib.redirect_stdout(stream):
            progress(list(futures))
    for future in as_completed(list(futures)):
        item = futures[future]
        name = key(item)
        try:
            status, error, value, seconds = future.result()
        except Exception as exc:  # noqa: BLE001 - the worker died or the task could not run there
            status, error, value, seconds = "failed", f"{exc.__class__.__name__}: {exc}", None, 0.0
        outcomes[name] = Outcome(name, item, status, error, value if status == "ok" else None, round(seconds, 3))
        _report(outcomes[name], stream, on_outcome, tty)


def _report(outcome: Outcome[Item], stream: TextIO, on_outcome: Callable[[Outcome[Item]], None] | None,
            tty: bool) -> None:
    if on_outcome is not None:
        on_outcome(outcome)
    if not tty or outcome.status == "failed":
        text = {"ok": f"ok ({outcome.seconds:.1f} s)", "skipped": "already done, skipped"}.get(
            outcome.status, f"FAILED: {outcome.error}")
        stream.write(f"{outcome.key}: {text}\n")
        stream.flush()
