"""``qa bench pipeline``: the whole pipeline (ingest, speech layer, scoring, store) on the sample
store, per channel layout — speed, peak memory, the overhead over the plain faster-whisper call
on the same audio, and what the transcripts got right (words, who said them, company names).

    report = run_pipeline_bench(PipelineBenchOptions(calls=("no-id-en",)))
    [(layout.layout, layout.rtf, layout.overhead) for layout in report.layouts]

Each layout (``mono``, ``stereo``, ``legs``) runs in a fresh process so that its peak memory is
its own (mono calls load the diarization models too): its recordings, with the store's
Master.csv and queue_log, are copied to a temporary store, and ``qa.run.pipeline.run_pipeline``
runs on it with the site's config (``samples/demo.toml``) into a temporary database. Then the
plain ``WhisperModel.transcribe(audio, language=..., beam_size=5)`` call with the same model and
threads runs on the same audio: each channel with sound for two-channel calls, the recording for
mono ones. Overhead = pipeline seconds per call / plain seconds - 1.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import resource
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.bench.dialogue import count_names, load_scripts, score_dialogue

if TYPE_CHECKING:
    from qa.config import Config

log = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"
LAYOUTS = ("mono", "stereo", "legs")


@dataclass(frozen=True)
class PipelineBenchOptions:
    """What ``qa bench pipeline`` runs; every field has a default."""

    samples_dir: Path = SAMPLES_DIR  # holds demo.toml, expected.json, calls.yaml, store/
    config: Path | None = None  # the site config; None: samples_dir / "demo.toml"
    layouts: tuple[str, ...] = LAYOUTS
    calls: tuple[str, ...] = ()  # call keys from expected.json; empty: all
    threads: int = 2
    vad: bool | None = None  # None: the speech layer's default
    hotwords: bool = True  # False: leave the config's hotwords out
    baseline: bool = True


@dataclass(frozen=True)
class CallRow:
    """One sample call through the pipeline."""

    key: str
    layout: str
    language: str
    audio_s: float
    seconds: float  # pipeline, from the call's first step to its saved result
    plain_seconds: float | None  # plain faster-whisper on the same audio
    measure: str  # WER | CER
    errors: int
    tokens: int
    lines: int
    lines_heard: int
    lines_role_right: int
    role_confidence: float
    names_said: int  # company names in the script
    names_heard: int  # ... in the transcript
    wrong_roles: tuple[str, ...] = ()
    steps: dict[str, float] = field(default_factory=dict)  # seconds per pipeline step


@dataclass(frozen=True)
class LayoutRow:
    """One layout's calls together."""

    layout: str
    calls: int
    audio_s: float
    run_seconds: float  # the whole run: ingest, model loading, calls, bookkeeping
    call_seconds: float  # the calls only
    plain_seconds: float | None
    peak_rss_mb: float
    rtf: float  # run_seconds / audio_s
    call_rtf: float  # call_seconds / audio_s
    overhead: float | None  # call_seconds / plain_seconds - 1
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, all calls


@dataclass
class PipelineReport:
    """Everything ``qa bench pipeline`` measured."""

    options: PipelineBenchOptions
    layouts: list[LayoutRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict (``--json``)."""
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        return {
            "options": options,
            "layouts": [asdict(row) for row in self.layouts],
            "calls": [asdict(row) for row in self.calls],
        }

    def dumps(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


def run_pipeline_bench(options: PipelineBenchOptions | None = None) -> PipelineReport:
    """Run the sample store's calls layout by layout, each layout in a fresh process."""
    opts = options or PipelineBenchOptions()
    unknown = sorted(set(opts.layouts) - set(LAYOUTS))
    if unknown:
        raise ValueError(f"unknown layout(s) {unknown}; choose from {list(LAYOUTS)}")
    expected = _expected(opts.samples_dir)
    keys = {call["key"] for call in expected["calls"]}
    missing = sorted(set(opts.calls) - keys)
    if missing:
        raise ValueError(f"no sample call {missing}; the calls are {sorted(keys)}")
    report = PipelineReport(opts)
    context = multiprocessing.get_context("spawn")
    for layout in opts.layouts:
        chosen = [
            c
            for c in expected["calls"]
            if c["layout"] == layout and (c["key"] in opts.calls or not opts.calls)
        ]
        if not chosen:
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            row, calls = pool.submit(_run_layout, opts, layout, [c["key"] for c in chosen]).result()
        report.layouts.append(row)
        report.calls.extend(calls)
    return report


def _expected(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "expected.json").read_text(encoding="utf-8"))


def _run_layout(
    opts: PipelineBenchOptions, layout: str, keys: list[str]
) -> tuple[LayoutRow, list[CallRow]]:
    """In a fresh process: the pipeline on ``keys``' calls, then the plain baseline."""
    from qa import runtime

    runtime.apply()  # before this fresh process loads torch and numpy
    from asr import SpeechEngine, SpeechOptions
    from qa.config import load_config
    from qa.db import open_db
    from qa.results.store import load_transcript
    from qa.run.pipeline import run_pipeline

    expected = _expected(opts.samples_dir)
    calls = [c for c in expected["calls"] if c["key"] in keys]
    config = load_config(opts.config or opts.samples_dir / "demo.toml")
    with tempfile.TemporaryDirectory(prefix="callqa-bench-") as tmp:
        store = _copy_store(config, calls, Path(tmp))
        db_path = Path(tmp) / "bench.db"
        config = config.with_overrides(
            {
                "store": store / "monitor",
                "cdr_csv": store / "Master.csv",
                "queue_log": store / "queue_log",
                "db": db_path,
                "cpu_threads": opts.threads,
                "min_age_minutes": 0,
            }
        )
        if not opts.hotwords:
            config = config.model_copy(update={"hotwords": {}})
        seen: dict[str, list[tuple[float, str]]] = {}

        def hook(step: str, call_id: str | None, *, completed: int, total: int) -> None:
            if call_id is not None:
                seen.setdefault(call_id, []).append((time.perf_counter(), step))

        def engine(options: SpeechOptions) -> SpeechEngine:  # VAD as asked
            if opts.vad is not None:
                options = replace(options, vad_filter=opts.vad)
            return SpeechEngine(options)

        summary = run_pipeline(config, hook=hook, engine_factory=engine)
        if summary.failed:
            raise RuntimeError(f"sample calls failed: {[f.reason for f in summary.failed]}")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        db = open_db(db_path)
        transcripts = {c["key"]: load_transcript(db, c["call_id"], words=False) for c in calls}
        db.conn.close()
        plain = _plain_seconds(opts, config, calls, store / "monitor") if opts.baseline else {}
    scripts = load_scripts(opts.samples_dir / "calls.yaml")
    names = _company_names(opts.samples_dir / "calls.yaml")
    rows = []
    for call in calls:
        transcript = transcripts[call["key"]]
        if transcript is None:
            raise RuntimeError(f"{call['key']}: the pipeline stored no transcript")
        language = call["language"]
        score = score_dialogue(scripts[call["key"]], transcript, language)
        events = seen.get(call["call_id"], [(0.0, "")])
        said = " ".join(line.text for line in scripts[call["key"]])
        heard = " ".join(turn.text for turn in transcript.turns)
        rows.append(
            CallRow(
                key=call["key"],
                layout=layout,
                language=language,
                audio_s=round(transcript.duration, 2),
                seconds=round(events[-1][0] - events[0][0], 3),
                plain_seconds=plain.get(call["key"]),
                measure="CER" if language == "zh" else "WER",
                errors=score.errors,
                tokens=score.tokens,
                lines=score.lines,
                lines_heard=score.lines_heard,
                lines_role_right=score.lines_right,
                role_confidence=transcript.role_confidence,
                names_said=count_names(names.get(language, ()), said),
                names_heard=count_names(names.get(language, ()), heard),
                wrong_roles=score.wrong_lines,
                steps=_step_seconds(events),
            )
        )
    audio = sum(r.audio_s for r in rows)
    call_seconds = sum(r.seconds for r in rows)
    plain_total = sum(plain.values()) if plain else None
    layout_row = LayoutRow(
        layout=layout,
        calls=len(rows),
        audio_s=round(audio, 2),
        run_seconds=round(summary.wall_seconds, 2),
        call_seconds=round(call_seconds, 2),
        plain_seconds=None if plain_total is None else round(plain_total, 2),
        peak_rss_mb=round(peak_mb, 1),
        rtf=round(summary.wall_seconds / audio, 4),
        call_rtf=round(call_seconds / audio, 4),
        overhead=None if not plain_total else round(call_seconds / plain_total - 1, 4),
        steps={
            step: round(sum(r.steps.get(step, 0.0) for r in rows), 2)
            for step in dict.fromkeys(step for r in rows for step in r.steps)
        },
    )
    return layout_row, rows


def _step_seconds(events: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per step name: each progress event starts (or ends) a step, which lasts until
    the next event."""
    seconds: dict[str, float] = {}
    for (started, step), (ended, _) in pairwise(events):
        seconds[step] = seconds.get(step, 0.0) + ended - started
    return {step: round(value, 3) for step, value in seconds.items()}


def _copy_store(config: Config, calls: list[dict], dest: Path) -> Path:
    """A store with only ``calls``' recordings (and the whole CDR and queue_log)."""
    if config.cdr_csv is None or config.queue_log is None:
        raise ValueError("the pipeline benchmark's config names no cdr_csv or queue_log")
    store = dest / "store"
    for call in calls:
        for relative in call["recordings"]:
            target = store / "monitor" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(config.store / relative, target)
    shutil.copy2(config.cdr_csv, store / "Master.csv")
    shutil.copy2(config.queue_log, store / "queue_log")
    return store


def _plain_seconds(
    opts: PipelineBenchOptions, config: Config, calls: list[dict], monitor: Path
) -> dict[str, float]:
    """Seconds the plain faster-whisper call takes on each call's audio (channels with sound)."""
    from faster_whisper import WhisperModel

    from asr import load_call_audio
    from asr.engine import channel_layout

    models_dir = config.models_dir or _default_models_dir()
    whisper_dir = config.whisper_dir or models_dir / "whisper-base"
    model = WhisperModel(str(whisper_dir), compute_type="int8", cpu_threads=opts.threads)
    seconds = {}
    for call in calls:
        paths = [monitor / r for r in call["recordings"]]
        audio = load_call_audio(paths, sample_rate=16000)
        mode, active = channel_layout(audio, legs=len(paths) == 2)
        speech = [audio.channels[i] for i in active] or [audio.mixdown()]
        # as the engine does: one mixed signal for mono, each channel with sound otherwise
        signals = [np.mean(np.stack(speech), axis=0)] if mode == "mono" else speech
        started = time.perf_counter()
        for signal in signals:
            segments, _ = model.transcribe(signal, language=call["language"], beam_size=5)
            list(segments)  # the generator does the work
        seconds[call["key"]] = round(time.perf_counter() - started, 3)
    return seconds


def _default_models_dir() -> Path:
    from asr.models import default_models_dir

    return default_models_dir()


def _company_names(calls_yaml: Path) -> dict[str, tuple[str, ...]]:
    import yaml

    site = yaml.safe_load(calls_yaml.read_text(encoding="utf-8")).get("site", {})
    return {language: (name,) for language, name in site.get("company", {}).items()}
