"""``qa run --ray ADDRESS``: the calls spread over a Ray cluster, the run still the only writer.

The run (the Ray *driver*) ingests and plans as always, then starts actors on the cluster, each
holding a :class:`qa.run.task.CallWorker` (models loaded once), and hands each actor at most
``max_in_flight / actors`` calls at a time (back-pressure: a large night never floods the
cluster's object store or the driver's memory). Results come back as they finish and are saved
by the driver, one transaction per call. A task whose actor died, or that failed for a reason
of the worker and not of the call, comes back retryable and is retried once on another actor
(a dead actor is replaced); a second failure is recorded with its reason.

Recordings reach the actors through the path they share (the store mounted at the same path on
every node) or, with ``ray_ship_audio``, as bytes sent with the task::

    executor = RayExecutor(config, choose_device(config), todo=120)
    executor.submit(task); executor.wait(timeout=30); executor.close()

Actors ask Ray for ``cpu_threads`` CPUs each (default 1); ``workers`` = N starts N actors,
``auto`` one per ``cpu_threads`` CPUs of the cluster (and no more than the calls to do).
"""

from __future__ import annotations

import logging
import math
import socket
import time
from typing import Any

from qa import runtime
from qa.config import Config, ConfigError
from qa.run.devices import DeviceChoice
from qa.run.task import CallResult, CallTask, CallWorker, WorkerSetup

__all__ = ["RayExecutor", "RayUnavailableError"]

log = logging.getLogger(__name__)


class RayUnavailableError(ConfigError):
    """Ray is not installed or the cluster cannot be reached; the message says what to do."""


class _CallActor:
    """A Ray actor: one CallWorker, loaded once, taking call after call."""

    def __init__(self, setup: WorkerSetup, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.worker = CallWorker(setup)

    def name(self) -> str:
        return self.worker.name

    def process(self, task: CallTask) -> CallResult:
        return self.worker.process(task)


class RayExecutor:
    """Actors on a Ray cluster (see the module docstring)."""

    kind = "ray"

    def __init__(self, config: Config, device: DeviceChoice, *, todo: int) -> None:
        try:
            import ray
        except ImportError:
            raise RayUnavailableError(
                "--ray needs Ray: pip install 'callqa[ray]' (the same version on every node)"
            ) from None
        self.ray = ray
        self.address = config.ray_address or "auto"
        started = time.perf_counter()
        _check_reachable(self.address)
        try:
            ray.init(
                address=self.address,
                namespace="callqa",
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RayUnavailableError(
                f"cannot reach the Ray cluster at {self.address}: {error}; start it with "
                "`ray start --head` (and `ray start --address HEAD:PORT` on each worker node), "
                "then pass --ray HEAD:PORT"
            ) from None
        self.threads = config.cpu_threads or 1
        self.ship_audio = config.ray_ship_audio
        cpus = int(ray.cluster_resources().get("CPU", 1))
        nodes = len([node for node in ray.nodes() if node.get("Alive")])
        if config.workers == "auto":
            actors = max(1, min(cpus // self.threads, todo))
            self.reason = f"auto: {cpus} CPU(s) on {nodes} node(s), {self.threads} per actor"
        else:
            actors = max(1, min(int(config.workers), todo))
            self.reason = f"configured {config.workers}, {cpus} CPU(s) on {nodes} node(s)"
        self.workers = actors
        self.setup = WorkerSetup.from_config(config, device, self.threads)
        num_gpus = 1 if device.device == "cuda" else 0
        self._actor_class = ray.remote(
            num_cpus=self.threads,
            num_gpus=num_gpus,
            max_restarts=0,
            runtime_env={"env_vars": runtime.current()},
        )(_CallActor)
        self.per_actor = max(1, math.ceil((config.max_in_flight or 2 * actors) / actors))
        self._actors: dict[str, Any] = {}  # key -> actor handle
        self._load: dict[str, int] = {}
        self._refs: dict[Any, tuple[str, CallTask]] = {}
        self._names: dict[str, str] = {}
        self._replaced = 0
        for index in range(actors):
            self._start_actor(f"actor-{index}")
        self.start_seconds = time.perf_counter() - started
        log.info(
            "Ray at %s: %d actor(s), %d call(s) each at a time (%s)",
            self.address,
            actors,
            self.per_actor,
            self.reason,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "workers": self.workers,
            "threads_per_worker": self.threads,
            "reason": self.reason,
            "address": self.address,
            "recordings": "sent as bytes" if self.ship_audio else "read from the shared store path",
        }

    def _start_actor(self, key: str) -> None:
        self._actors[key] = self._actor_class.remote(self.setup, self.threads)
        self._load[key] = 0

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def submit(self, task: CallTask) -> None:
        keys = sorted(self._actors, key=lambda key: self._load[key])
        others = [key for key in keys if self._names.get(key) != task.avoid_worker]
        key = (others or keys)[0]
        if self._load[key] >= self.per_actor:  # the caller keeps within the total; be fair
            log.debug("actor %s takes more than its share", key)
        ref = self._actors[key].process.remote(task)
        self._refs[ref] = (key, task)
        self._load[key] += 1

    def wait(self, timeout: float) -> list[CallResult]:
        if not self._refs:
            return []
        ready, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        results = []
        for ref in ready:
            key, task = self._refs.pop(ref)
            self._load[key] -= 1
            try:
                result: CallResult = self.ray.get(ref)
                self._names[key] = result.worker
                results.append(result)
            except self.ray.exceptions.RayActorError as error:
                results.append(self._lost(task, key, f"its Ray actor died: {_first_line(error)}"))
                self._replace(key)
            except self.ray.exceptions.RayError as error:
                results.append(self._lost(task, key, f"Ray task failed: {_first_line(error)}"))
        return results

    def _lost(self, task: CallTask, key: str, reason: str) -> CallResult:
        return CallResult.lost(task, reason, worker=self._names.get(key, key))

    def _replace(self, key: str) -> None:
        """Start a new actor in place of a dead one (bounded: a cluster that keeps killing its
        actors is not made to load the models forever)."""
        self._replaced += 1
        if self._replaced > 2 * self.workers:
            self._actors.pop(key, None)
            if not self._actors:
                raise RayUnavailableError(
                    "Ray actors keep dying: check the nodes' memory and logs (ray status, "
                    "/tmp/ray/session_latest/logs)"
                )
            return
        log.warning("Ray actor %s died; starting a new one", self._names.get(key, key))
        self._names.pop(key, None)
        self._start_actor(key)

    def close(self) -> None:
        for actor in self._actors.values():
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                log.debug("actor already gone", exc_info=True)
        self._actors.clear()
        self._refs.clear()
        self.ray.shutdown()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast when the head cannot be reached (ray.init would wait for minutes)."""
    if address in ("auto", "local") or address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as error:
        raise RayUnavailableError(
            f"cannot reach the Ray head at {address} ({error}): start it with `ray start --head "
            "--port PORT` and pass --ray HOST:PORT with the address `ray start` printed"
        ) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
