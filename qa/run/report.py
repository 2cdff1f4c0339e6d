"""What a run did: the summary ``qa run`` prints, the JSON report it stores and writes, ``qa runs``.

Every run stores its report in ``runs.report_json`` and, when ``report_path`` is set, writes it
to that file too (``{run_id}`` in the name expands). The report is one JSON object; its keys are
documented in docs/operations.md ("The run report")::

    summary.to_json()["failed"]          # [{"call_id", "path", "status", "stage", "reason"}]
    for run in list_runs(db, last=5): run.run_id, run.status, run.report
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from qa.ingest.paths import safe_text, shown

__all__ = [
    "EXIT_CALLS_FAILED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "CallOutcome",
    "CallStatus",
    "RunRecord",
    "RunStatus",
    "RunSummary",
    "Stage",
    "list_runs",
    "write_report",
]

EXIT_OK = 0
#: A call failed in this run, or the run could not start (set-up error): a person should look.
EXIT_CALLS_FAILED = 1
#: Another live run holds the database: nothing is wrong, that run is doing the work (EX_TEMPFAIL).
EXIT_LOCKED = 75

REPORT_VERSION = 1


class CallStatus(StrEnum):
    """What became of a call: in a run (``CallResult``, ``CallOutcome``, ``run_calls.status``)
    and in the store (``calls.status``). The values are what the store and the report hold."""

    PENDING = "pending"  # the store only: ingested, not yet taken by a run
    DONE = "done"  # transcribed, scored and saved
    SKIPPED = "skipped"  # nothing to transcribe, or (in the store) deferred to a later run
    DEFERRED = "deferred"  # not finished recording yet: a later run takes it
    FAILED = "failed"  # needs a person, or one more try (``retryable``)


class RunStatus(StrEnum):
    """A run's status (``runs.status``, the report's ``status``)."""

    RUNNING = "running"
    FINISHED = "finished"
    CRASHED = "crashed"  # it stopped on an error, or (found by the next run) it was killed


class Stage(StrEnum):
    """Where a call's processing was when it ended (``done`` calls: ``save``)."""

    INGEST = "ingest"
    TRANSCRIBE = "transcribe"
    SCORE = "score"
    SAVE = "save"


@dataclass(frozen=True)
class CallOutcome:
    """What happened to one call (or one file set aside) in this run."""

    call_id: str
    status: CallStatus  # done | skipped | deferred | failed
    stage: Stage
    reason: str = ""
    path: str | None = None  # the (first) recording, relative to the store
    audio_seconds: float = 0.0
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 1

    def __post_init__(self) -> None:
        # Shown, never raw: a file name need not be UTF-8, and this goes to the database,
        # the JSON report and the terminal (qa.ingest.paths).
        object.__setattr__(self, "call_id", shown(self.call_id))  # a path when no call id
        object.__setattr__(self, "reason", safe_text(self.reason))
        if self.path is not None:
            object.__setattr__(self, "path", shown(self.path))


@dataclass
class RunSummary:
    """The end-of-run report (``qa run`` prints it; ``--json`` gives :meth:`to_json`)."""

    run_id: int
    found: int = 0  # calls found in the store
    done: int = 0  # calls transcribed and scored now
    already_done: int = 0  # done by an earlier run, left alone
    rescored: int = 0  # done earlier, scored now against rubric versions they lacked
    not_retried: int = 0  # failed in an earlier run; retried only with retry_failed
    retried: int = 0  # calls given a second try after a worker or machine failure
    skipped: list[CallOutcome] = field(default_factory=list)  # skipped and deferred
    failed: list[CallOutcome] = field(default_factory=list)
    # done, but the recording is shorter than the call: out of agent records until reviewed
    truncated: list[CallOutcome] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    call_seconds: float = 0.0  # worker time spent on calls done now
    started_at: str = ""
    finished_at: str = ""
    status: RunStatus = RunStatus.RUNNING
    host: str = ""
    executor: dict[str, Any] = field(default_factory=dict)  # kind, workers, threads, reason
    device: dict[str, Any] = field(default_factory=dict)  # device, compute_type, batch_size
    worker_peak_rss_mb: dict[str, float] = field(default_factory=dict)  # per worker
    timings: dict[str, float] = field(default_factory=dict)  # ingest, start, process, ...

    @property
    def real_time_factor(self) -> float | None:
        """Wall time over audio time (0.2: five times faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else None

    @property
    def needs_attention(self) -> bool:
        """Whether a person has to look at something (a call failed in this run)."""
        return bool(self.failed)

    @property
    def exit_code(self) -> int:
        return EXIT_CALLS_FAILED if self.needs_attention else EXIT_OK

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report (docs/operations.md, "The run report")."""

        def outcome(item: CallOutcome) -> dict[str, Any]:
            return {
                "call_id": item.call_id,
                "path": item.path,
                "status": item.status.value,
                "stage": item.stage.value,
                "reason": item.reason,
                "worker": item.worker,
                "attempts": item.attempts,
            }

        rtf = self.real_time_factor
        return {
            "report_version": REPORT_VERSION,
            "run_id": self.run_id,
            "status": self.status.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "host": self.host,
            "found": self.found,
            "done": self.done,
            "already_done": self.already_done,
            "rescored": self.rescored,
            "not_retried": self.not_retried,
            "retried": self.retried,
            "skipped": [outcome(item) for item in self.skipped],
            "failed": [outcome(item) for item in self.failed],
            "truncated": [outcome(item) for item in self.truncated],
            "audio_minutes": round(self.audio_seconds / 60, 3),
            "wall_seconds": round(self.wall_seconds, 2),
            "call_seconds": round(self.call_seconds, 2),
            "real_time_factor": None if rtf is None else round(rtf, 4),
            "audio_hours_per_wall_hour": None if not rtf else round(1 / rtf, 2),
            "timings": {key: round(value, 2) for key, value in self.timings.items()},
            "executor": self.executor,
            "device": self.device,
            "worker_peak_rss_mb": self.worker_peak_rss_mb,
            "needs_attention": self.needs_attention,
            "exit_code": self.exit_code,
        }


def write_report(path: Path, report: dict[str, Any]) -> Path:
    """Write the report atomically (a reader never sees half a file); return the path written.
    ``{run_id}`` in the path is replaced by the run's id."""
    target = Path(str(path).replace("{run_id}", str(report["run_id"])))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target)
    return target


@dataclass(frozen=True)
class RunRecord:
    """One past run as ``qa runs`` shows it."""

    run_id: int
    started_at: str
    finished_at: str | None
    status: str
    found: int
    done: int
    skipped: int
    failed: int
    audio_seconds: float
    wall_seconds: float
    host: str | None
    report: dict[str, Any] | None  # None for runs from before reports were stored

    def to_json(self) -> dict[str, Any]:
        """The stored report, or for an older run the figures its row has."""
        if self.report is not None:
            return {**self.report, "status": self.status}
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "found": self.found,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "audio_minutes": round((self.audio_seconds or 0) / 60, 3),
            "wall_seconds": round(self.wall_seconds or 0, 2),
        }


_T = TypeVar("_T")


def list_runs(db: sqlite_utils.Database, *, last: int | None = None) -> list[RunRecord]:
    """Past runs, newest first (``last``: only that many)."""
    sql = (
        "select run_id, started_at, finished_at, status, found, done, skipped, failed, "
        "audio_seconds, wall_seconds, host, report_json from runs order by run_id desc"
    )
    params: list[Any] = []
    if last is not None:
        sql += " limit ?"
        params.append(last)
    records = []
    for row in db.execute(sql, params).fetchall():
        (run_id, started_at, finished_at, status, found, done, skipped, failed, audio_seconds,
         wall_seconds, host, report_json) = row  # fmt: skip
        records.append(
            RunRecord(
                run_id=_given(run_id, 0),
                started_at=_given(started_at, ""),
                finished_at=finished_at,  # stays None while a run has not finished
                status=_given(status, ""),
                found=_given(found, 0),
                done=_given(done, 0),
                skipped=_given(skipped, 0),
                failed=_given(failed, 0),
                audio_seconds=_given(audio_seconds, 0.0),
                wall_seconds=_given(wall_seconds, 0.0),
                host=host,
                report=json.loads(report_json) if report_json else None,
            )
        )
    return records


def _given(value: _T | None, default: _T) -> _T:
    """A column's value, or ``default`` where the row has none (runs from older versions)."""
    return value if value is not None else default
