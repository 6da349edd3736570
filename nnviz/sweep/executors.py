"""Running a sweep's tasks: local worker processes by default, or a Dask distributed cluster.

Both are used through the ``concurrent.futures`` style: submit every task, collect results as they finish
(through done-callbacks into a queue, so a consumer can wait with a short timeout and notice a cancel),
cancel what is pending. No scheduling of our own: the pool or the Dask scheduler decides where runs go.
Dask is imported only when a scheduler address is given.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
import uuid
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import NnvizError
from .task import run_task

DEFAULT_CONNECT_TIMEOUT = 5.0
POLL_SECONDS = 0.1
DASK_HINT = "install the optional extra: pip install 'nnviz[distributed]' (or: pip install 'dask[distributed]')"


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(leave_one: bool) -> int:
    """All cores (the command line), or all but one (the app: one core stays with the live run)."""
    n = cpu_count()
    return max(1, n - 1) if leave_one else n


def _init_worker() -> None:
    from ..engine.threads import limit_blas_threads
    limit_blas_threads(1)


@dataclass
class Outcome:
    """One finished task: its index in the submitted list and its row, or an error message."""
    index: int
    row: dict | None = None
    error: str | None = None


class SweepJob:
    """Tasks running on local processes (``scheduler`` None) or on a Dask cluster at ``scheduler``.

    ``start()`` submits everything (and raises NnvizError if the cluster cannot be reached within
    ``connect_timeout`` seconds); ``outcomes()`` yields :class:`Outcome` as runs finish, from any one
    thread; ``cancel()`` may be called from any thread and stops the workers promptly: pending runs are
    dropped, local worker processes are terminated, Dask futures are cancelled. Finished results stay.
    """

    def __init__(self, tasks: list[dict], workers: int | None = None, scheduler: str | None = None,
                 connect_timeout: float = DEFAULT_CONNECT_TIMEOUT):
        self.tasks = list(tasks)
        self.scheduler = (scheduler or "").strip() or None
        self.workers = workers if workers else default_workers(leave_one=False)
        if not isinstance(self.workers, int) or self.workers < 1:
            raise NnvizError(f"workers: must be a whole number of at least 1, got {workers!r}")
        self.connect_timeout = connect_timeout
        self.message = ""              # what went wrong with the workers (a dead worker, a lost cluster)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._futures: list = []
        self._pool: ProcessPoolExecutor | None = None
        self._client = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self.started_at = None

    # -- starting ----------------------------------------------------------------------------------------
    def start(self) -> "SweepJob":
        self.started_at = time.perf_counter()
        if not self.tasks:
            return self
        if self.scheduler:
            self._start_dask()
        else:
            self._start_local()
        return self

    def _start_local(self) -> None:
        n = min(self.workers, len(self.tasks))
        self._pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker)
        for i, task in enumerate(self.tasks):
            fut = self._pool.submit(run_task, task)
            self._futures.append(fut)
            fut.add_done_callback(lambda f, i=i: self._queue.put(i))

    def _start_dask(self) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise NnvizError(f"a Dask scheduler was given but Dask is not installed: {DASK_HINT}") from None
        address = self.scheduler
        if "://" not in address:
            address = f"tcp://{address}"
        try:
            self._client = Client(address, timeout=self.connect_timeout, set_as_default=False)
        except Exception as e:   # OSError / TimeoutError (nothing there), ValueError (a bad address)
            raise NnvizError(
                f"cannot reach the Dask scheduler at {address} within {self.connect_timeout:g} s "
                f"({type(e).__name__}: {_short(e)}); is `dask scheduler` running there, and is the port "
                f"open?") from None
        prefix = f"nnviz-sweep-{uuid.uuid4().hex[:12]}"
        for i, task in enumerate(self.tasks):
            # pure=False: two runs are never merged; retries: a lost worker's run is redone elsewhere
            fut = self._client.submit(run_task, task, key=f"{prefix}-{i}", pure=False, retries=1)
            self._futures.append(fut)
            fut.add_done_callback(lambda f, i=i: self._queue.put(i))

    # -- results -----------------------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def outcomes(self, poll: float = POLL_SECONDS) -> Iterator[Outcome]:
        """Finished runs as they come; ends when all are in, the job is cancelled or the workers are lost."""
        remaining = set(range(len(self._futures)))
        while remaining and not self._cancelled.is_set():
            try:
                i = self._queue.get(timeout=poll)
            except queue.Empty:
                if self._client is not None and self._client.status not in ("running", "connecting", "newly-created"):
                    self.message = (f"lost the connection to the Dask scheduler at {self.scheduler}; "
                                    f"the finished runs are kept")
                    return
                continue
            if i not in remaining:
                continue
            remaining.discard(i)
            if self._cancelled.is_set():
                return
            fut = self._futures[i]
            try:
                row = fut.result()
            except CancelledError:
                continue
            except BrokenProcessPool:
                self.message = ("a worker process died (killed, or out of memory); the runs that finished "
                                "are kept, the others did not run")
                return
            except Exception as e:   # an error inside the run (or Dask's KilledWorker after its retries)
                name = type(e).__name__
                if name == "KilledWorker":
                    msg = "the Dask workers running it died (Dask retried it, then gave up)"
                elif name == "CancelledError":
                    if self._cancelled.is_set():
                        return
                    msg = "cancelled by the cluster"
                elif name == "TaskError":
                    msg = _short(e)
                else:
                    msg = f"{name}: {_short(e)}"
                yield Outcome(i, error=msg)
                continue
            yield Outcome(i, row=row)

    # -- stopping ----------------------------------------------------------------------------------------
    def request_cancel(self) -> None:
        """Ask the thread reading ``outcomes()`` to stop within a poll interval; it then calls ``close()``."""
        self._cancelled.set()

    def cancel(self) -> None:
        """Stop now: drop pending runs and stop the workers (local processes are terminated)."""
        self._cancelled.set()
        self.close(terminate=True)

    def close(self, terminate: bool | None = None) -> None:
        """Release the workers: wait for running ones (``terminate`` False) or stop them (default: if
        cancelled)."""
        if terminate is None:
            terminate = self._cancelled.is_set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pool is not None:
            pool = self._pool
            for fut in self._futures:
                fut.cancel()
            procs = list((getattr(pool, "_processes", None) or {}).values())
            if terminate:
                for p in procs:
                    try:
                        p.terminate()
                    except Exception:
                        pass
            pool.shutdown(wait=not terminate, cancel_futures=True)
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():      # did not take SIGTERM: no process is left behind
                    p.kill()
                    p.join(timeout=5)
        if self._client is not None:
            client = self._client
            try:
                if self._futures:
                    client.cancel([f for f in self._futures if not f.done()])
            except Exception:
                pass
            try:
                client.close(timeout=self.connect_timeout)
            except Exception:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close(terminate=exc[0] is not None)


def _short(e: Any, limit: int = 200) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
