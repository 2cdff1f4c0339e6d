"""The process environment callqa runs in: one definition, applied by every entry point.

Call audio and metadata never leave the machine (no pyannote or Gradio telemetry, no hub
lookups); torch's OpenMP threads wait passively instead of spinning, which otherwise slows
diarization ~30x when the cores are shared (measured: 92 s instead of 2.6 s); and numpy's
OpenBLAS runs one thread, because it sums in a thread-count-dependent order and Whisper's features
go through it (measured: a transcript differed between ``OPENBLAS_NUM_THREADS=1`` and ``2``), so
a call's result is the same in every process layout (one process, workers, Ray actors).

The library entry points call :func:`apply` (:func:`qa.run.pipeline.run_pipeline`, the call
worker that builds the speech engine in :mod:`qa.run.task`, the worker pool in
:mod:`qa.run.local`, :func:`ui.app.serve`), and so do ``qa`` (:mod:`qa.cli`) and the test suite.
The thread and telemetry variables only take effect when they are set before torch and numpy
load, so a script that imports those first should call it at its top::

    from qa import runtime

    runtime.apply()                 # before torch / numpy / pyannote / gradio are imported
    env = runtime.current()         # the values this process runs with, for a child process

A variable already set in the environment wins, so an operator can still choose otherwise. The
Makefile's exports mirror :data:`ENV`.

:func:`checkpoint` marks the points of ``qa run`` where the fault-injection tests kill it: with
``QA_KILL_AT=NAME:N`` set, the Nth time this process passes checkpoint NAME it sends itself a real
SIGKILL (nothing is flushed, nothing cleaned up). Unset, as in production, it does nothing::

    runtime.checkpoint("save")      # QA_KILL_AT=save:3 → kill -9 at the third call's save
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType

__all__ = ["ENV", "KILL_AT", "apply", "checkpoint", "current"]

#: The variable naming the checkpoint (and its count) at which the process kills itself.
KILL_AT = "QA_KILL_AT"
_passed: Counter[str] = Counter()

#: The variables and the values callqa runs with (unless the environment already sets them).
ENV: Mapping[str, str] = MappingProxyType(
    {
        "PYANNOTE_METRICS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "OMP_WAIT_POLICY": "PASSIVE",
        "OPENBLAS_NUM_THREADS": "1",
    }
)


def apply(environ: MutableMapping[str, str] | None = None) -> None:
    """Set each :data:`ENV` variable that ``environ`` (default: ``os.environ``) does not set
    already. Safe to call any number of times."""
    target = os.environ if environ is None else environ
    for name, value in ENV.items():
        target.setdefault(name, value)


def current() -> dict[str, str]:
    """The :data:`ENV` variables as this process runs with them, after :func:`apply` (for a
    worker started elsewhere, e.g. a Ray actor's ``runtime_env``)."""
    apply()
    return {name: os.environ[name] for name in ENV}


def checkpoint(name: str) -> None:
    """A point where a test may kill this process with SIGKILL (``QA_KILL_AT=NAME:N``: at the
    Nth pass of checkpoint NAME); without the variable, nothing happens."""
    wanted = os.environ.get(KILL_AT)
    if not wanted:
        return
    target, _, nth = wanted.rpartition(":")
    if target != name:
        return
    _passed[name] += 1
    if _passed[name] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)
