"""Progress reporting for the pipeline: one hook protocol, a terminal bar, nothing by default.

The pipeline calls ``hook(step, call_id, completed=, total=)`` as each call moves through its
stages (``transcribe``, ``score``, ``save``, then ``done`` / ``failed`` / ``skipped``); the UI can
map the same steps. Library code never draws anything itself::

    with TerminalProgress() as hook:
        summary = run_pipeline(config, hook=hook)
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

__all__ = ["ProgressHook", "TerminalProgress", "no_progress"]


class ProgressHook(Protocol):
    """Told about each step: ``completed`` calls of ``total`` are finished when it is called."""

    def __call__(self, step: str, call_id: str | None, *, completed: int, total: int) -> None: ...


def no_progress(step: str, call_id: str | None, *, completed: int, total: int) -> None:
    """The default hook: report nothing."""


class TerminalProgress:
    """A rich progress bar on stderr (stdout stays free for ``--json``)."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, step: str, call_id: str | None, *, completed: int, total: int) -> None:
        description = f"{step:<10} {call_id or ''}".rstrip()
        if self._task is None:
            self._task = self._progress.add_task(description, total=total)
        self._progress.update(self._task, description=description, completed=completed, total=total)
