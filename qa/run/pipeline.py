"""``qa run``: ingest → transcribe → score → save, on one process, N worker processes, or Ray.

The run process ingests, plans, hands calls to an executor (:mod:`qa.run.local`: in-process or
worker processes; :mod:`qa.run.ray`: a Ray cluster) with at most ``max_in_flight`` handed out
at once, and is the database's only writer: each call's results (transcript, scorecards, item
results, flags, status ``done``, and this run's record of it) are saved in ONE transaction as
they arrive. So a run killed at any moment leaves whole calls or none, and the next run does
exactly the calls not saved. A re-run skips calls already done, scores done calls against rubric
versions they lack (no re-transcription), and leaves calls that failed before alone unless asked
(``retry_failed``). A call that fails is recorded with its stage and reason and the run goes on;
a failure of a worker or machine (not of the call) is retried once on another worker. One run at
a time holds the database (:mod:`qa.run.lock`); each run stores a JSON report
(:mod:`qa.run.report`)::

    summary = run_pipeline(load_config("site.toml"), hook=TerminalProgress())
    summary.done, summary.failed, summary.real_time_factor, summary.to_json()
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import sqlite_utils

from asr import SpeechEngine, SpeechOptions
from asr.models import default_models_dir, require_models
from calldata import Call, Scorecard, Transcript
from qa import runtime
from qa.config import Config
from qa.db import open_db, require_writable
from qa.ingest import IngestResult, SkippedFile, ingest
from qa.progress import ProgressHook, no_progress
from qa.records.complaints import open_cases_from_flags
from qa.results.sentiment import update_sentiment
from qa.results.store import save_results
from qa.run.audio_check import mark_truncated
from qa.run.bookkeeping import (
    call_states,
    finish_run,
    rescore_call,
    save_pending,
    set_status,
    stage_outcome,
    start_run,
)
from qa.run.devices import DeviceChoice, choose_device
from qa.run.local import Executor, InlineExecutor, ProcessExecutor, plan_workers
from qa.run.lock import RunLock
from qa.run.report import (
    CallOutcome,
    CallStatus,
    RunStatus,
    RunSummary,
    Stage,
    write_report,
)
from qa.run.task import CallResult, CallTask, CallWorker, WorkerSetup, gather_audio
from qa.sql import utcnow
from scoring import NormalizedTexts, Rubric, load_rubrics
from sentences import SentenceVectors, load_encoder

__all__ = ["CallOutcome", "RunSummary", "check_models", "rescore_call", "run_pipeline"]

log = logging.getLogger(__name__)

#: How long the run waits for a result before looking again (it has nothing else to do).
WAIT_SECONDS = 30.0


def check_models(config: Config) -> None:
    """Raise ``asr.models.ModelMissingError`` (with the fix) if a speech model is missing, or
    ``sentences.EncoderError`` if the sentence encoder is missing or not the pinned one."""
    require_models(config.models_dir or default_models_dir(), whisper_dir=config.whisper_dir)
    load_encoder()


def _unreadable(task: CallTask, error: OSError) -> CallResult:
    reason = f"cannot read the recording to send it: {error}"
    return CallResult(
        task.call.call_id, CallStatus.FAILED, Stage.TRANSCRIBE, reason, attempt=task.attempt
    )


def _set_aside(skipped: Sequence[SkippedFile], taken: set[str]) -> list[CallOutcome]:
    """Outcomes for the files ingest set aside, keyed by uniqueid where that names no other call
    of this run (a duplicate of a taken call is keyed by its path)."""
    outcomes, used = [], set(taken)
    for item in skipped:
        key = item.uniqueid if item.uniqueid and item.uniqueid not in used else item.path
        used.add(key)
        status = CallStatus(item.status.value)  # ingest's SkipStatus: skipped | deferred | failed
        outcomes.append(CallOutcome(key, status, Stage.INGEST, item.reason, item.path))
    return outcomes


# --- the run -------------------------------------------------------------------------------------


def run_pipeline(
    config: Config,
    *,
    hook: ProgressHook = no_progress,
    retry_failed: bool = False,
    engine_factory: Callable[[SpeechOptions], SpeechEngine] = SpeechEngine,
    now: float | None = None,
) -> RunSummary:
    """Run the whole pipeline over the configured store; return the summary.

    Checks first, before any work: the store and db are set (ConfigError), the rubrics are valid
    (scoring.RubricError), the models are installed (asr.models.ModelMissingError), the device
    can be used (ConfigError), the store, CDR and queue_log can be read. Then it takes the run
    lock (``qa.run.lock.RunLockedError`` when another live run holds it). The models are loaded
    only when a call needs them. ``engine_factory`` builds the engine of an in-process run.
    The process environment is :mod:`qa.runtime`'s (applied here, and in every worker).
    """
    runtime.apply()
    wall_start = time.perf_counter()
    config.require("store")
    db_path = config.require("db")
    rubrics = load_rubrics(config.rubrics)
    check_models(config)
    device = choose_device(config)
    db = open_db(db_path)
    try:
        require_writable(db, db_path)
        lock = RunLock(db, timeout_minutes=config.lock_timeout_minutes)
        with lock.hold():
            # under the lock: ingest writes its ledger, and two runs must not both take a call
            started = time.perf_counter()
            found = ingest(config, now=now)
            ingest_seconds = time.perf_counter() - started
            run = _PipelineRun(db, config, rubrics, hook, lock, device)
            run.summary.timings["ingest"] = ingest_seconds
            try:
                run.execute(found, retry_failed, engine_factory)
                run.summary.status = RunStatus.FINISHED
            finally:
                summary = run.summary
                summary.wall_seconds = time.perf_counter() - wall_start
                summary.finished_at = utcnow()
                if summary.status is RunStatus.RUNNING:
                    summary.status = RunStatus.CRASHED
                finish_run(db, summary)
                runtime.checkpoint("finish")
                if config.report_path is not None:
                    written = write_report(config.report_path, summary.to_json())
                    log.info("run report written to %s", written)
    finally:
        db.conn.close()
    return run.summary


class _PipelineRun:
    """One run's state: the store, the rubrics, the summary being built."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        config: Config,
        rubrics: Sequence[Rubric],
        hook: ProgressHook,
        lock: RunLock,
        device: DeviceChoice,
    ) -> None:
        self.db, self.config, self.rubrics, self.hook = db, config, rubrics, hook
        self.lock, self.device = lock, device
        self.store: Path = config.require("store")
        run_id = start_run(db, config)
        lock.attach(run_id)
        self.summary = RunSummary(
            run_id=run_id, started_at=utcnow(), host=socket.gethostname(), device=device.to_json()
        )
        self.completed = 0
        self.total = 0

    def execute(
        self,
        found: IngestResult,
        retry_failed: bool,
        engine_factory: Callable[[SpeechOptions], SpeechEngine],
    ) -> None:
        self.summary.found = len(found.calls)
        for outcome in _set_aside(found.skipped, {call.call_id for call in found.calls}):
            self.record(outcome)
        todo, done_before = self.plan(found.calls, retry_failed)
        started = time.perf_counter()
        for call_id in done_before:
            self.rescore(call_id)
        self.summary.timings["rescore"] = time.perf_counter() - started
        if todo:
            started = time.perf_counter()
            executor = self.executor(len(todo), engine_factory)
            try:
                self.summary.timings["start_workers"] = time.perf_counter() - started
                self.dispatch(todo, executor)
            finally:
                executor.close()
            self.summary.timings["process"] = time.perf_counter() - started
        if self.summary.not_retried:
            log.info("%d call(s) failed earlier: use --retry-failed", self.summary.not_retried)

    def plan(self, calls: Sequence[Call], retry_failed: bool) -> tuple[list[Call], list[str]]:
        """Split the calls into those to transcribe now and those done by an earlier run."""
        states = call_states(self.db, [call.call_id for call in calls])
        todo, done_before = [], []
        for call in calls:
            state = states.get(call.call_id)
            if state == CallStatus.DONE:
                done_before.append(call.call_id)
            elif state == CallStatus.FAILED and not retry_failed:
                self.summary.not_retried += 1
            else:
                todo.append(call)
        self.summary.already_done = len(done_before)
        return todo, done_before

    def executor(
        self, todo: int, engine_factory: Callable[[SpeechOptions], SpeechEngine]
    ) -> Executor:
        """The executor this run's config asks for (in-process, worker processes, or Ray)."""
        config = self.config
        if config.ray_address:
            from qa.run.ray import RayExecutor

            ray = RayExecutor(config, self.device, todo=todo)
            self.summary.executor = ray.describe()  # Ray's own account (not in the protocol)
            return ray
        plan = plan_workers(
            config.workers,
            device=self.device.device,
            cpu_threads=config.cpu_threads,
            todo=todo,
            worker_memory_mb=config.worker_memory_mb,
        )
        log.info("%d worker(s), %d thread(s) each (%s)", plan.workers, plan.threads, plan.reason)
        setup = WorkerSetup.from_config(config, self.device, plan.threads)
        if plan.workers == 1:
            executor: Executor = InlineExecutor(CallWorker(setup, engine_factory), self.step)
        else:
            executor = ProcessExecutor(setup, plan)
        self.summary.executor = {"kind": executor.kind, **plan.to_json()}
        return executor

    def step(self, name: str, call_id: str) -> None:
        runtime.checkpoint("speech")
        self.hook(name, call_id, completed=self.completed, total=self.total)

    def dispatch(self, calls: Sequence[Call], executor: Executor) -> None:
        """Hand the calls out with at most ``max_in_flight`` outstanding; save each result."""
        by_id = {call.call_id: call for call in calls}
        pending = deque(CallTask(call, str(self.store)) for call in calls)
        limit = 1 if executor.kind == "inline" else self.config.max_in_flight
        limit = limit or 2 * executor.workers
        self.total = len(calls)
        while pending or executor.in_flight:
            while pending and executor.in_flight < limit:
                task = pending.popleft()
                if task.attempt == 0:
                    save_pending(self.db, task.call, self.store)
                if self.config.ray_ship_audio and executor.kind == "ray":
                    # Read only now: the bytes of at most `limit` calls are held at once.
                    try:
                        task = replace(task, audio=gather_audio(self.store, task.call))
                    except OSError as error:  # gone or unreadable since ingest
                        self.finish(task.call, _unreadable(task, error))
                        continue
                self.step(Stage.TRANSCRIBE, task.call.call_id)
                executor.submit(task)
            for result in executor.wait(timeout=WAIT_SECONDS):
                call = by_id[result.call_id]
                if result.status is CallStatus.FAILED and result.retryable and result.attempt == 0:
                    log.warning(
                        "%s: %s on %s; retrying once on another worker",
                        result.call_id,
                        result.reason,
                        result.worker or "a worker",
                    )
                    self.summary.retried += 1
                    retry = CallTask(call, str(self.store), attempt=1, avoid_worker=result.worker)
                    pending.appendleft(retry)
                    continue
                self.finish(call, result)

    def finish(self, call: Call, result: CallResult) -> None:
        """Save a call's final result and tell the progress hook."""
        outcome = self.save(call, result)
        runtime.checkpoint("saved")  # between two calls' transactions
        if outcome.status is CallStatus.DONE:
            self.open_complaint_case(call.call_id)
            self.measure_sentiment(call.call_id)
        self.completed += 1
        self.hook(outcome.status, call.call_id, completed=self.completed, total=self.total)

    def save(self, call: Call, result: CallResult) -> CallOutcome:
        """Save one result (see :func:`qa.run.bookkeeping.stage_outcome`: one transaction)."""
        outcome = CallOutcome(
            call.call_id,
            result.status,
            result.stage,
            result.reason or result.truncated,
            call.recordings[0],
            result.audio_seconds,
            result.seconds,
            worker=result.worker,
            attempts=result.attempt + 1,
        )
        run_id = self.summary.run_id
        try:
            if result.status is CallStatus.DONE:
                transcript = Transcript.model_validate_json(result.transcript_json or "")
                cards = [Scorecard.model_validate_json(card) for card in result.scorecards_json]
                vectors = SentenceVectors.from_bytes(result.vectors) if result.vectors else None
                normalized = (
                    NormalizedTexts.from_json(result.normalized) if result.normalized else None
                )
                stage_outcome(self.db, run_id, outcome)
                runtime.checkpoint("save")  # inside the call's transaction
                mark_truncated(self.db, call.call_id, result.truncated or None)
                save_results(self.db, call.call_id, transcript, cards, vectors, normalized)
            elif result.status is CallStatus.DEFERRED:
                stage_outcome(self.db, run_id, outcome)
                set_status(self.db, call.call_id, CallStatus.SKIPPED, result.reason)
            else:
                stage_outcome(self.db, run_id, outcome)
                reason = f"{result.stage.value}: {result.reason}"
                set_status(self.db, call.call_id, CallStatus.FAILED, reason)
        except Exception as error:  # e.g. a full disk: the call is failed, the run goes on
            self.db.conn.rollback()
            log.exception("could not save %s", call.call_id)
            reason = f"{type(error).__name__}: {error}"
            outcome = replace(outcome, status=CallStatus.FAILED, stage=Stage.SAVE, reason=reason)
            try:
                stage_outcome(self.db, run_id, outcome)
                set_status(self.db, call.call_id, CallStatus.FAILED, f"save: {reason}")
            except Exception:
                self.db.conn.rollback()
                log.exception("could not record the failure of %s", call.call_id)
        if result.worker:
            peaks = self.summary.worker_peak_rss_mb
            peaks[result.worker] = max(peaks.get(result.worker, 0.0), result.peak_rss_mb)
        self.count(outcome)
        return outcome

    def record(self, outcome: CallOutcome) -> None:
        """Record an outcome that has no call results to save (files set aside, re-scoring)."""
        with self.db.conn:
            stage_outcome(self.db, self.summary.run_id, outcome)
        self.count(outcome)

    def count(self, outcome: CallOutcome) -> None:
        if outcome.status is CallStatus.DONE:
            self.summary.done += 1
            self.summary.audio_seconds += outcome.audio_seconds
            self.summary.call_seconds += outcome.seconds
            if outcome.reason:  # a done call carries a reason only when it was cut short
                self.summary.truncated.append(outcome)
        elif outcome.status is CallStatus.FAILED:
            self.summary.failed.append(outcome)
        else:
            self.summary.skipped.append(outcome)

    def rescore(self, call_id: str) -> None:
        """Score a done call against new rubric versions; a failure is recorded, not raised."""
        try:
            if rescore_call(self.db, self.rubrics, call_id):
                self.summary.rescored += 1
                self.open_complaint_case(call_id)
            self.measure_sentiment(call_id, only_missing=True)
        except Exception as error:
            log.warning("re-scoring %s failed: %s", call_id, error)
            reason = f"re-scoring: {type(error).__name__}: {error}"
            self.record(CallOutcome(call_id, CallStatus.FAILED, Stage.SCORE, reason))

    def open_complaint_case(self, call_id: str) -> None:
        """Open a complaint case when the call's scorecards flag a complaint (after its results
        are committed); a failure here is logged and the case is opened by the next backfill."""
        try:
            opened = open_cases_from_flags(self.db, call_id)
        except Exception:
            self.db.conn.rollback()
            log.exception("could not open a complaint case for %s", call_id)
            return
        if opened:
            log.info("complaint case opened for %s", call_id)

    def measure_sentiment(self, call_id: str, *, only_missing: bool = False) -> None:
        """Store how the call felt (:mod:`qa.results.sentiment`) once its results are saved; a
        failure is logged, and the next run computes what is missing."""
        try:
            update_sentiment(self.db, call_id, only_missing=only_missing)
        except Exception:
            self.db.conn.rollback()
            log.exception("could not measure the sentiment of %s", call_id)
