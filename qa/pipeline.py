"""``qa run``: ingest → transcribe → score → save, one call at a time, resumable.

Each call's results (transcript, scorecards, item results, flags, status ``done``) are saved in
one transaction, so a crash never leaves half a call; a re-run skips calls already done, scores
done calls against rubric versions they lack (no re-transcription), and leaves calls that failed
before alone unless asked (``retry_failed``). A call that fails is recorded with its stage and
reason and the run goes on::

    summary = run_pipeline(load_config("site.toml"), hook=TerminalProgress())
    summary.done, summary.failed, summary.real_time_factor
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from asr import AudioDecodeError, SpeechEngine, SpeechOptions
from asr.audio import AudioIncompleteError
from asr.models import default_models_dir, require_models
from calldata import Call, Direction, Role, Scorecard, Transcript
from qa.config import Config
from qa.db import open_db, utcnow
from qa.ingest import IngestResult, SkippedFile, ingest
from qa.progress import ProgressHook, no_progress
from qa.results import (
    insert_scorecards,
    load_call,
    load_transcript,
    save_call,
    save_results,
    scored_rubrics,
)
from scoring import Rubric, load_rubrics, score_call, select_rubrics

__all__ = ["CallOutcome", "CallTranscriber", "RunSummary", "run_pipeline", "speech_options"]

log = logging.getLogger(__name__)


class CallTranscriber(Protocol):
    """What the pipeline needs from the speech engine (``asr.SpeechEngine``)."""

    def transcribe_call(
        self,
        paths: Sequence[Path],
        *,
        channel_roles: tuple[Role, Role] = ...,
        language: str | None = ...,
        agent_name: str | None = ...,
        inbound: bool = ...,
        hotwords: Sequence[str] = ...,
        hook: Callable[[str, int, int], None] | None = ...,
    ) -> Transcript: ...


@dataclass(frozen=True)
class CallOutcome:
    """What happened to one call (or one file set aside) in this run."""

    call_id: str
    status: str  # done | skipped | deferred | failed
    stage: str  # ingest | transcribe | score | save
    reason: str = ""
    path: str | None = None  # the (first) recording, relative to the store
    audio_seconds: float = 0.0
    seconds: float = 0.0


@dataclass
class RunSummary:
    """The end-of-run report (``qa run`` prints it; ``--json`` gives :meth:`to_json`)."""

    run_id: int
    found: int = 0  # calls found in the store
    done: int = 0  # calls transcribed and scored now
    already_done: int = 0  # done by an earlier run, left alone
    rescored: int = 0  # done earlier, scored now against rubric versions they lacked
    not_retried: int = 0  # failed in an earlier run; retried only with retry_failed
    skipped: list[CallOutcome] = field(default_factory=list)  # skipped and deferred
    failed: list[CallOutcome] = field(default_factory=list)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float | None:
        """Wall time over audio time (0.2: five times faster than real time)."""
        return self.wall_seconds / self.audio_seconds if self.audio_seconds else None

    @property
    def needs_attention(self) -> bool:
        """Whether a person has to look at something (a call failed)."""
        return bool(self.failed)

    def to_json(self) -> dict[str, Any]:
        def outcome(item: CallOutcome) -> dict[str, Any]:
            return {
                "call_id": item.call_id,
                "path": item.path,
                "status": item.status,
                "stage": item.stage,
                "reason": item.reason,
            }

        return {
            "run_id": self.run_id,
            "found": self.found,
            "done": self.done,
            "already_done": self.already_done,
            "rescored": self.rescored,
            "not_retried": self.not_retried,
            "skipped": [outcome(item) for item in self.skipped],
            "failed": [outcome(item) for item in self.failed],
            "audio_minutes": round(self.audio_seconds / 60, 3),
            "wall_seconds": round(self.wall_seconds, 2),
            "real_time_factor": (
                None if self.real_time_factor is None else round(self.real_time_factor, 4)
            ),
        }


# --- set-up --------------------------------------------------------------------------------------


def speech_options(config: Config) -> SpeechOptions:
    """The speech engine's options from the config."""
    return SpeechOptions(
        models_dir=config.models_dir or default_models_dir(),
        whisper_dir=config.whisper_dir,
        device=config.device,
        compute_type=config.compute_type,
        cpu_threads=config.cpu_threads,
        languages=tuple(config.languages),
    )


def check_models(config: Config) -> None:
    """Raise ``asr.models.ModelMissingError`` (with the fix) if a model is missing."""
    require_models(config.models_dir or default_models_dir(), whisper_dir=config.whisper_dir)


# --- call status -----------------------------------------------------------------------------


def set_status(db: sqlite_utils.Database, call_id: str, status: str, reason: str) -> None:
    """Record why a call is not done (``failed`` or ``skipped``)."""
    with db.conn:
        db.conn.execute(
            "update calls set status = ?, error = ?, updated_at = ? where call_id = ?",
            [status, reason, utcnow(), call_id],
        )


# --- one call ------------------------------------------------------------------------------------


def score_transcript(
    rubrics: Sequence[Rubric], call: Call, transcript: Transcript
) -> list[Scorecard]:
    """Score the call against every rubric that applies to it."""
    chosen = select_rubrics(list(rubrics), call, transcript.language)
    if not chosen:
        log.info("%s: no rubric applies (language %s)", call.call_id, transcript.language)
    return [score_call(rubric, transcript, call) for rubric in chosen]


def process_call(
    db: sqlite_utils.Database,
    engine: CallTranscriber,
    rubrics: Sequence[Rubric],
    config: Config,
    call: Call,
    on_step: Callable[[str], None] | None = None,
) -> CallOutcome:
    """Transcribe, score and save one call; any failure becomes the call's recorded outcome.

    ``on_step`` hears each step (decode, language, transcribe, ..., score, save) as it starts.
    """
    step = on_step or (lambda name: None)
    store = config.require("store")
    started = time.perf_counter()
    stage = "transcribe"
    path = call.recordings[0]
    save_call(db, call, store, status="pending")
    try:
        transcript = engine.transcribe_call(
            [store / rel for rel in call.recordings],
            channel_roles=config.channel_roles.for_direction(call.direction),
            language=call.language,
            agent_name=call.agent_name,
            inbound=call.direction != Direction.OUTBOUND,
            hotwords=config.hotwords_for(call.language),
            hook=lambda name, completed, total: step(name),
        )
        stage = "score"
        step(stage)
        cards = score_transcript(rubrics, call, transcript)
        stage = "save"
        step(stage)
        save_results(db, call.call_id, transcript, cards)
    except AudioIncompleteError as error:
        reason = f"{error} (taken by a later run)"
        set_status(db, call.call_id, "skipped", reason)
        return CallOutcome(call.call_id, "deferred", stage, reason, path)
    except AudioDecodeError as error:
        return _failed(db, call, stage, str(error), started)
    except Exception as error:  # one bad call must not stop the night's run
        log.debug("%s failed at %s", call.call_id, stage, exc_info=True)
        return _failed(db, call, stage, f"{type(error).__name__}: {error}", started)
    seconds = time.perf_counter() - started
    log.info(
        "%s: %.1fs of audio in %.1fs, %d scorecard(s)",
        call.call_id,
        transcript.duration,
        seconds,
        len(cards),
    )
    return CallOutcome(call.call_id, "done", "save", "", path, transcript.duration, seconds)


def _failed(
    db: sqlite_utils.Database, call: Call, stage: str, reason: str, started: float
) -> CallOutcome:
    log.warning("%s failed at %s: %s", call.call_id, stage, reason)
    try:
        set_status(db, call.call_id, "failed", f"{stage}: {reason}")
    except Exception:  # the store itself may be what failed; the run summary still says it
        log.exception("could not record the failure of %s", call.call_id)
    return CallOutcome(
        call.call_id,
        "failed",
        stage,
        reason,
        call.recordings[0],
        seconds=time.perf_counter() - started,
    )


def rescore_call(db: sqlite_utils.Database, rubrics: Sequence[Rubric], call_id: str) -> int:
    """Score a done call against rubric versions it has no scorecard for, from its stored
    transcript. Returns how many scorecards were added."""
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None:
        return 0
    call = load_call(db, call_id)
    have = scored_rubrics(db, call_id)
    missing = [
        rubric
        for rubric in select_rubrics(list(rubrics), call, transcript.language)
        if (rubric.id, rubric.version) not in have
    ]
    if not missing:
        return 0
    cards = [score_call(rubric, transcript, call) for rubric in missing]
    with db.conn:
        insert_scorecards(db, cards)
    return len(cards)


# --- run bookkeeping ---------------------------------------------------------------------------


def start_run(db: sqlite_utils.Database, config: Config) -> int:
    options = config.model_dump(mode="json", exclude={"agents"})
    with db.conn:
        cursor = db.conn.execute(
            "insert into runs (started_at, status, options_json) values (?, 'running', ?)",
            [utcnow(), json.dumps(options)],
        )
    return int(cursor.lastrowid)


def record_outcome(db: sqlite_utils.Database, run_id: int, outcome: CallOutcome) -> None:
    with db.conn:
        db.conn.execute(
            "insert or replace into run_calls (run_id, call_id, status, stage, reason, "
            "audio_seconds, seconds) values (?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                outcome.call_id,
                outcome.status,
                outcome.stage,
                outcome.reason,
                outcome.audio_seconds,
                outcome.seconds,
            ],
        )


def finish_run(db: sqlite_utils.Database, summary: RunSummary, status: str) -> None:
    with db.conn:
        db.conn.execute(
            "update runs set finished_at = ?, status = ?, found = ?, done = ?, skipped = ?, "
            "failed = ?, audio_seconds = ?, wall_seconds = ? where run_id = ?",
            [
                utcnow(),
                status,
                summary.found,
                summary.done,
                len(summary.skipped),
                len(summary.failed),
                summary.audio_seconds,
                summary.wall_seconds,
                summary.run_id,
            ],
        )


def _set_aside(skipped: Sequence[SkippedFile], taken: set[str]) -> list[CallOutcome]:
    """Outcomes for the files ingest set aside, keyed by uniqueid where that names no other call
    of this run (a duplicate of a taken call is keyed by its path)."""
    outcomes, used = [], set(taken)
    for item in skipped:
        key = item.uniqueid if item.uniqueid and item.uniqueid not in used else item.path
        used.add(key)
        outcomes.append(CallOutcome(key, item.status.value, "ingest", item.reason, item.path))
    return outcomes


def _call_states(db: sqlite_utils.Database, call_ids: Sequence[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    ids = list(call_ids)
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"select call_id, status from calls where call_id in ({marks})", chunk)
        states.update(dict(rows.fetchall()))
    return states


# --- the run -------------------------------------------------------------------------------------


def run_pipeline(
    config: Config,
    *,
    hook: ProgressHook = no_progress,
    retry_failed: bool = False,
    engine_factory: Callable[[SpeechOptions], CallTranscriber] = SpeechEngine,
    now: float | None = None,
) -> RunSummary:
    """Run the whole pipeline over the configured store; return the summary.

    Checks first, before any work: the store and db are set (ConfigError), the rubrics are valid
    (scoring.RubricError), the models are installed (asr.models.ModelMissingError), the store,
    CDR and queue_log can be read. The speech engine is loaded only when a call needs it.
    """
    wall_start = time.perf_counter()
    config.require("store")
    db_path = config.require("db")
    rubrics = load_rubrics(config.rubrics)
    check_models(config)
    found = ingest(config, now=now)
    db = open_db(db_path)
    try:
        run = _PipelineRun(db, config, rubrics, hook)
        status = "crashed"
        try:
            run.execute(found, retry_failed, engine_factory)
            status = "finished"
        finally:
            run.summary.wall_seconds = time.perf_counter() - wall_start
            finish_run(db, run.summary, status)
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
    ) -> None:
        self.db, self.config, self.rubrics, self.hook = db, config, rubrics, hook
        self.summary = RunSummary(run_id=start_run(db, config))

    def execute(
        self,
        found: IngestResult,
        retry_failed: bool,
        engine_factory: Callable[[SpeechOptions], CallTranscriber],
    ) -> None:
        self.summary.found = len(found.calls)
        for outcome in _set_aside(found.skipped, {call.call_id for call in found.calls}):
            self.record(outcome)
        todo, done_before = self.plan(found.calls, retry_failed)
        for call_id in done_before:
            self.rescore(call_id)
        if todo:
            self.transcribe(todo, engine_factory(speech_options(self.config)))
        if self.summary.not_retried:
            log.info("%d call(s) failed earlier: use --retry-failed", self.summary.not_retried)

    def plan(self, calls: Sequence[Call], retry_failed: bool) -> tuple[list[Call], list[str]]:
        """Split the calls into those to transcribe now and those done by an earlier run."""
        states = _call_states(self.db, [call.call_id for call in calls])
        todo, done_before = [], []
        for call in calls:
            state = states.get(call.call_id)
            if state == "done":
                done_before.append(call.call_id)
            elif state == "failed" and not retry_failed:
                self.summary.not_retried += 1
            else:
                todo.append(call)
        self.summary.already_done = len(done_before)
        return todo, done_before

    def record(self, outcome: CallOutcome) -> None:
        record_outcome(self.db, self.summary.run_id, outcome)
        if outcome.status == "done":
            self.summary.done += 1
            self.summary.audio_seconds += outcome.audio_seconds
        elif outcome.status == "failed":
            self.summary.failed.append(outcome)
        else:
            self.summary.skipped.append(outcome)

    def rescore(self, call_id: str) -> None:
        """Score a done call against new rubric versions; a failure is recorded, not raised."""
        try:
            if rescore_call(self.db, self.rubrics, call_id):
                self.summary.rescored += 1
        except Exception as error:
            log.warning("re-scoring %s failed: %s", call_id, error)
            reason = f"re-scoring: {type(error).__name__}: {error}"
            self.record(CallOutcome(call_id, "failed", "score", reason))

    def transcribe(self, calls: Sequence[Call], engine: CallTranscriber) -> None:
        total = len(calls)
        for index, call in enumerate(calls):

            def on_step(name: str, call_id: str = call.call_id, done: int = index) -> None:
                self.hook(name, call_id, completed=done, total=total)

            on_step("transcribe")
            outcome = process_call(self.db, engine, self.rubrics, self.config, call, on_step)
            self.record(outcome)
            self.hook(outcome.status, call.call_id, completed=index + 1, total=total)
