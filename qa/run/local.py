"""Where calls are processed: in ``qa run`` itself, or in worker processes on this machine.

Both are *executors*: the run hands them :class:`qa.run.task.CallTask` s (``submit``) and
collects :class:`qa.run.task.CallResult` s (``wait``); the run keeps at most ``max_in_flight``
tasks handed out (back-pressure) and is the only process that writes to the database.

Worker processes are started with the ``spawn`` method, each builds its
:class:`qa.run.task.CallWorker` (Whisper, the diarizer when a mono call needs it, the rubrics)
once, and takes call after call. A worker dies with the run (``PR_SET_PDEATHSIG``), so a killed
run leaves no orphans. When a worker process dies mid-call (killed, out of memory), the calls it
may have held come back as retryable failures; the run retries each once::

    plan = plan_workers("auto", device="cpu", todo=500)   # WorkerPlan(workers=2, threads=1, ...)
    with ProcessExecutor(setup, plan) as executor:
        executor.submit(task); results = executor.wait(timeout=30)
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from types import TracebackType
from typing import Protocol

from qa import runtime
from qa.config import ConfigError
from qa.run.task import CallResult, CallTask, CallWorker, StepHook, WorkerSetup

__all__ = [
    "DEFAULT_WORKER_MEMORY_MB",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "WorkerPlan",
    "WorkerStartError",
    "available_memory_mb",
    "plan_workers",
    "usable_cores",
]

log = logging.getLogger(__name__)

#: Peak RSS of one worker process, measured on the replicated sample store: ~550 MiB with Whisper
#: base int8 and the rubrics, ~1.1-1.3 GiB once the diarizer (pyannote + CAM++) is loaded for a
#: mono call, peak 1.5 GiB over 24 calls (longest 78 s); rounded up.
DEFAULT_WORKER_MEMORY_MB = 1600
#: Kept free for the run itself (ingest, the database) and the system.
PARENT_RESERVE_MB = 768


class WorkerStartError(RuntimeError):
    """Worker processes die before finishing any call (the message says what to check)."""


@dataclass(frozen=True)
class WorkerPlan:
    """How many workers, how many CPU threads each, and why."""

    workers: int
    threads: int
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"workers": self.workers, "threads_per_worker": self.threads, "reason": self.reason}


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def available_memory_mb() -> float:
    """MemAvailable from /proc/meminfo, in MiB (what can be used without swapping)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("inf")


def plan_workers(
    requested: int | str,
    *,
    device: str = "cpu",
    cpu_threads: int = 0,
    todo: int | None = None,
    cores: int | None = None,
    memory_mb: float | None = None,
    worker_memory_mb: int = 0,
) -> WorkerPlan:
    """Decide the workers and threads per worker.

    ``auto`` on CPU: ``min(cores, (available memory - 768 MiB) // worker memory, calls to do)``,
    at least 1; on CUDA: 1 (one process keeps the GPU busy with batched decoding). Threads per
    worker: ``cpu_threads`` when set, else the cores divided among the workers, so N workers
    never ask for more threads than there are cores.
    """
    cores = cores or usable_cores()
    if requested == "auto":
        if device == "cuda":
            workers, reason = 1, "auto: one worker drives the GPU (batched decoding)"
        else:
            memory = available_memory_mb() if memory_mb is None else memory_mb
            per_worker = worker_memory_mb or DEFAULT_WORKER_MEMORY_MB
            by_memory = max(1, math.floor((memory - PARENT_RESERVE_MB) / per_worker))
            workers = max(1, min(cores, by_memory, todo if todo else cores))
            reason = (
                f"auto: {cores} core(s), {memory / 1024:.1f} GiB available / "
                f"{per_worker} MiB a worker → {by_memory}"
                + (f", {todo} call(s) to do" if todo is not None else "")
            )
    else:
        workers = int(requested)
        if workers < 1:
            raise ConfigError("workers must be 1 or more, or 'auto'")
        reason = "configured"
        if todo is not None and 0 < todo < workers:  # a worker with no call only loads models
            workers, reason = todo, f"configured {requested}, {todo} call(s) to do"
    threads = cpu_threads or max(1, cores // workers)
    if workers * threads > cores:
        log.warning(
            "%d worker(s) × %d thread(s) is more than the %d core(s): they will compete",
            workers,
            threads,
            cores,
        )
    return WorkerPlan(workers, threads, reason)


class Executor(Protocol):
    """Runs tasks somewhere and hands back results as they finish."""

    kind: str  # inline | processes | ray
    workers: int

    @property
    def in_flight(self) -> int: ...

    def submit(self, task: CallTask) -> None: ...

    def wait(self, timeout: float) -> list[CallResult]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """One worker in the ``qa run`` process itself: a task runs when the run waits for it."""

    kind = "inline"
    workers = 1

    def __init__(self, worker: CallWorker, on_step: Callable[[str, str], None] | None = None):
        self.worker = worker
        self.on_step = on_step
        self._queue: deque[CallTask] = deque()

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def submit(self, task: CallTask) -> None:
        self._queue.append(task)

    def wait(self, timeout: float) -> list[CallResult]:
        if not self._queue:
            return []
        task = self._queue.popleft()
        step: StepHook | None = None
        if self.on_step is not None:
            report, call_id = self.on_step, task.call.call_id

            def step(name: str) -> None:
                report(name, call_id)

        return [self.worker.process(task, step)]

    def close(self) -> None:
        self._queue.clear()

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- worker processes -----------------------------------------------------------------------

_WORKER: CallWorker | None = None


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when the run that started it dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the run died before the request took effect
        os._exit(1)


def _start_worker(setup: WorkerSetup, threads: int, parent: int) -> None:
    """Process initializer: load the models once for all the calls this process will take."""
    global _WORKER
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle
    import torch

    torch.set_num_threads(threads)  # the diarizer; Whisper gets cpu_threads
    _WORKER = CallWorker(setup)


def _process(task: CallTask) -> CallResult:
    if _WORKER is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("worker process was not initialised")
    return _WORKER.process(task)


class ProcessExecutor:
    """N worker processes on this machine (see the module docstring)."""

    kind = "processes"

    def __init__(self, setup: WorkerSetup, plan: WorkerPlan) -> None:
        self.setup, self.plan = setup, plan
        self.workers = plan.workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future[CallResult], CallTask] = {}
        self._breaks_without_result = 0

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Spawned workers inherit this environment: numpy must start with one BLAS thread
            # there, as in `qa run` itself (see qa/runtime.py), or a call's words can differ.
            runtime.apply()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.setup, self.plan.threads, os.getpid()),
            )
        return self._pool

    def submit(self, task: CallTask) -> None:
        pool = self._ensure_pool()
        try:
            future = pool.submit(_process, task)
        except BrokenProcessPool:
            self._pool = None
            future = self._ensure_pool().submit(_process, task)
        self._futures[future] = task

    def wait(self, timeout: float) -> list[CallResult]:
        if not self._futures:
            return []
        done, _ = wait_futures(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        results: list[CallResult] = []
        broken = False
        for future in done:
            task = self._futures.pop(future)
            error = future.exception()
            if error is None:
                results.append(future.result())
                self._breaks_without_result = 0
            elif isinstance(error, BrokenProcessPool):
                broken = True
                results.append(
                    CallResult.lost(task, "a worker process died (killed, or out of memory?)")
                )
            else:  # the task could not be sent or its result not returned
                results.append(CallResult.lost(task, f"{type(error).__name__}: {error}"))
        if broken:
            # Every call still held by the broken pool comes back for a retry in a new pool.
            for future, task in list(self._futures.items()):
                future.cancel()
                results.append(
                    CallResult.lost(task, "its worker pool broke (a worker process died)")
                )
            self._futures.clear()
            self._restart()
        return results

    def _restart(self) -> None:
        self._breaks_without_result += 1
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._breaks_without_result >= 3:
            raise WorkerStartError(
                "worker processes keep dying before finishing a call: run `qa run --workers 1 "
                "-v` to see the error, check the models (qa models check) and free memory"
            )
        log.warning("a worker process died; starting new ones and retrying its calls once")
        time.sleep(0.5)

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
