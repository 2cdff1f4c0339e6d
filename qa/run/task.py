"""One call's work, the same wherever it runs: in ``qa run`` itself, a worker process, a Ray actor.

A :class:`CallWorker` holds the speech engine, the sentence encoder and the rubrics (loaded once)
and turns a :class:`CallTask` into a :class:`CallResult`: the transcript, its sentence vectors
(encoded once, here, so re-scoring never encodes again) and the scorecards, or the stage and
reason it failed. It never touches the database: the process that runs the batch is the
only writer, and saves each result in one transaction as it arrives::

    worker = CallWorker(WorkerSetup.from_config(config, threads=1))
    result = worker.process(CallTask(call=call, store=str(config.store)))
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from asr import AudioDecodeError, SpeechEngine, SpeechOptions
from asr.audio import AudioIncompleteError
from asr.models import default_models_dir
from calldata import Call, Direction, Scorecard, Transcript
from qa import runtime
from qa.config import Config
from qa.run.audio_check import check_header, check_length, claimed_seconds_of
from qa.run.devices import DeviceChoice
from qa.run.report import CallStatus, Stage
from scoring import (
    NormalizedTexts,
    Rubric,
    load_rubrics,
    normalize_texts,
    score_call,
    select_rubrics,
)
from sentences import SentenceEncoder, SentenceVectors, encode_turns, load_encoder

__all__ = ["CallResult", "CallTask", "CallWorker", "WorkerSetup", "peak_rss_mb", "score_for"]

log = logging.getLogger(__name__)

#: ``step(name)``: the engine's steps (decode, language, transcribe, ...), then score.
StepHook = Callable[[str], None]


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to build its engine and rubrics: small, picklable, sent once."""

    config: Config
    speech: SpeechOptions
    device: DeviceChoice

    @classmethod
    def from_config(cls, config: Config, device: DeviceChoice, threads: int = 0) -> WorkerSetup:
        """The setup for workers of ``threads`` CPU threads each (0: the configured value)."""
        return cls(config, speech_options(config, device, threads or config.cpu_threads), device)


def speech_options(config: Config, device: DeviceChoice, threads: int) -> SpeechOptions:
    """The speech engine's options from the config and the resolved device."""
    return SpeechOptions(
        models_dir=config.models_dir or default_models_dir(),
        whisper_dir=config.whisper_dir,
        device=device.device,
        compute_type=device.compute_type,
        cpu_threads=threads,
        languages=tuple(config.languages),
        batch_size=device.batch_size,
        diarization_step=config.diarization_step,
    )


@dataclass(frozen=True)
class CallTask:
    """One call to do. ``audio`` carries the recordings' bytes (keyed by their path relative to
    the store) when the worker cannot read the store itself (``ray_ship_audio``)."""

    call: Call
    store: str
    audio: Mapping[str, bytes] | None = None
    attempt: int = 0
    avoid_worker: str | None = None  # a retry goes to another worker where there is one


@dataclass(frozen=True)
class CallResult:
    """What became of one task. ``status``: done | deferred | failed. ``retryable`` failures are
    the worker's or the machine's (a process died, a file system error), not the call's."""

    call_id: str
    status: CallStatus
    stage: Stage
    reason: str = ""
    transcript_json: str | None = None
    vectors: bytes | None = None  # the transcript's sentence vectors (SentenceVectors.to_bytes)
    normalized: str | None = None  # its turn texts as scoring normalised them (NormalizedTexts)
    scorecards_json: tuple[str, ...] = ()
    audio_seconds: float = 0.0
    seconds: float = 0.0
    worker: str = ""
    peak_rss_mb: float = 0.0
    retryable: bool = False
    attempt: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    truncated: str = ""  # why the recording is shorter than the call (qa.run.audio_check)

    @classmethod
    def lost(cls, task: CallTask, reason: str, worker: str = "") -> CallResult:
        """The task's worker died or could not be reached: a failure worth one retry."""
        return cls(
            task.call.call_id,
            CallStatus.FAILED,
            Stage.TRANSCRIBE,
            reason=reason,
            worker=worker,
            retryable=True,
            attempt=task.attempt,
        )


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_name() -> str:
    """``host:pid``: which worker did a call."""
    return f"{socket.gethostname()}:{os.getpid()}"


def score_for(
    rubrics: list[Rubric],
    call: Call,
    transcript: Transcript,
    vectors: SentenceVectors | None = None,
    normalized: NormalizedTexts | None = None,
) -> list[Scorecard]:
    """Score the call against every rubric that applies to it."""
    chosen = select_rubrics(rubrics, call, transcript.language)
    if not chosen:
        log.info("%s: no rubric applies (language %s)", call.call_id, transcript.language)
    return [
        score_call(rubric, transcript, call, vectors=vectors, normalized=normalized)
        for rubric in chosen
    ]


def encode_transcript(encoder: SentenceEncoder, transcript: Transcript) -> SentenceVectors:
    """The transcript's sentence vectors, for intent conditions (:mod:`sentences`)."""
    return encode_turns(encoder, [(turn.index, turn.text) for turn in transcript.turns])


class CallWorker:
    """The speech engine and rubrics of one worker; :meth:`process` does one call."""

    def __init__(
        self,
        setup: WorkerSetup,
        engine_factory: Callable[[SpeechOptions], SpeechEngine] = SpeechEngine,
    ) -> None:
        runtime.apply()  # this process may be a worker: telemetry off, passive OpenMP threads
        started = time.perf_counter()
        self.setup = setup
        self.config = setup.config
        self.rubrics = load_rubrics(self.config.rubrics)
        self.encoder = load_encoder()
        self.encoder.warm_up()  # loads while the speech models load and the first call is heard
        self.engine = engine_factory(setup.speech)
        self.name = worker_name()
        self.load_seconds = time.perf_counter() - started
        log.info(
            "worker %s ready in %.1f s (%s, %s, %d thread(s))",
            self.name,
            self.load_seconds,
            setup.device.device,
            setup.device.compute_type,
            setup.speech.cpu_threads,
        )

    def process(self, task: CallTask, on_step: StepHook | None = None) -> CallResult:
        """Transcribe and score one call; any failure becomes the result, never an exception."""
        if task.audio is None:
            return self._process(task, Path(task.store), on_step)
        with tempfile.TemporaryDirectory(prefix="callqa-") as folder:
            for relative, data in task.audio.items():
                target = Path(folder) / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            return self._process(task, Path(folder), on_step)

    def _process(self, task: CallTask, store: Path, on_step: StepHook | None) -> CallResult:
        step = on_step or (lambda name: None)
        call, config = task.call, self.config
        started = time.perf_counter()
        base = CallResult(call.call_id, CallStatus.FAILED, Stage.TRANSCRIBE, worker=self.name)
        base = replace(base, attempt=task.attempt)
        stage = Stage.TRANSCRIBE
        missing = [rel for rel in call.recordings if not (store / rel).is_file()]
        if missing:  # not the call's fault: this worker does not see the store (or not yet)
            reason = f"{store / missing[0]} is not readable on {self.name}"
            return self._finish(base, started, stage=stage, reason=reason, retryable=True)
        claimed = claimed_seconds_of(store, call)
        header = check_header(call, claimed)
        if header.verdict == "failed":
            return self._finish(base, started, stage=stage, reason=header.reason)
        try:
            transcript = self.engine.transcribe_call(
                [store / rel for rel in call.recordings],
                channel_roles=config.channel_roles.for_direction(call.direction),
                language=call.language,
                agent_name=call.agent_name,
                inbound=call.direction != Direction.OUTBOUND,
                hotwords=config.hotwords_for(call.language),
                hook=lambda name, completed, total: step(name),
            )
            transcribed = time.perf_counter()
            stage = Stage.SCORE
            step(stage)
            vectors = encode_transcript(self.encoder, transcript)
            encoded = time.perf_counter()
            normalized = normalize_texts(turn.text for turn in transcript.turns)
            cards = score_for(list(self.rubrics), call, transcript, vectors, normalized)
        except AudioIncompleteError as error:
            reason = f"{error} (taken by a later run)"
            deferred = CallStatus.DEFERRED
            return self._finish(base, started, status=deferred, stage=stage, reason=reason)
        except AudioDecodeError as error:
            return self._finish(base, started, stage=stage, reason=str(error))
        except Exception as error:  # one bad call must not stop the night's run
            log.debug("%s failed at %s", call.call_id, stage, exc_info=True)
            reason = f"{type(error).__name__}: {error}"
            # The call's audio was readable and decoded; what failed is this worker or machine
            # (memory, a file system, a bug met by chance): worth one more try elsewhere.
            return self._finish(base, started, stage=stage, reason=reason, retryable=True)
        finished = time.perf_counter()
        length = check_length(call, transcript.duration, claimed)
        if length.verdict == "failed":
            return self._finish(base, started, stage=Stage.TRANSCRIBE, reason=length.reason)
        return self._finish(
            base,
            started,
            status=CallStatus.DONE,
            truncated=length.reason if length.verdict == "truncated" else "",
            stage=Stage.SAVE,
            transcript_json=transcript.model_dump_json(),
            vectors=vectors.to_bytes(),
            normalized=normalized.to_json(),
            scorecards_json=tuple(card.model_dump_json() for card in cards),
            audio_seconds=transcript.duration,
            timings={
                "transcribe": round(transcribed - started, 3),
                "encode": round(encoded - transcribed, 3),
                "score": round(finished - encoded, 3),
            },
        )

    def _finish(self, base: CallResult, started: float, **changes: object) -> CallResult:
        result = replace(
            base,
            seconds=time.perf_counter() - started,
            peak_rss_mb=round(peak_rss_mb(), 1),
            **changes,  # type: ignore[arg-type]
        )
        if result.status is CallStatus.FAILED:
            log.warning("%s failed at %s: %s", result.call_id, result.stage, result.reason)
        return result


def gather_audio(store: Path, call: Call) -> dict[str, bytes]:
    """A call's recordings as bytes, keyed by their path relative to the store (to ship them)."""
    return {relative: (store / relative).read_bytes() for relative in call.recordings}
