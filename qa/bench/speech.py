"""``qa bench asr``: word/character error rates and speed of the speech layer on real speech,
next to the plain ``faster_whisper.WhisperModel.transcribe`` call with the same model (the
baseline it has to beat), and language identification accuracy.

    report = run_asr_bench(AsrBenchOptions(sets=("aishell",)))
    for row in report.rows: print(row.set, row.system, row.rate)

Sets (see :mod:`qa.bench.corpora`): ``pyannote`` (a real English phone call), ``asterisk`` (real
8 kHz telephone prompts), ``silence`` (Asterisk's recorded line silence: counts phantom words),
``aishell`` and ``f5`` (real Mandarin, plus one English clip), ``store`` (the sample store's
calls: language identification only; their transcripts are scored by ``qa bench pipeline``).
The 16 kHz clips are also scored after a round trip through 8 kHz (telephone bandwidth).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from asr import load_audio, load_call_audio
from asr.models import default_models_dir
from asr.transcribe import TranscribeOptions, Transcriber
from qa.bench.corpora import (
    DEFAULT_CACHE,
    Clip,
    asterisk_clips,
    asterisk_silences,
    pyannote_clip,
    wheel_clips,
)
from qa.bench.text import ErrorCount, tokens

log = logging.getLogger(__name__)

RATE = 16000
ALL_SETS = ("pyannote", "asterisk", "silence", "aishell", "f5", "store")
LAYER = "speech layer"
PLAIN = "plain faster-whisper"
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"

#: ``transcribe(audio_16k, language) -> text``
Transcribe = Callable[[np.ndarray, str], str]


@dataclass(frozen=True)
class AsrBenchOptions:
    """What ``qa bench asr`` runs; every field has a default."""

    models_dir: Path = field(default_factory=default_models_dir)
    cache: Path = DEFAULT_CACHE
    sets: tuple[str, ...] = ALL_SETS
    asterisk_count: int = 40
    threads: int = 2
    vad: bool | None = None  # None: the speech layer's default
    telephone: bool = True  # also score 16 kHz clips through 8 kHz
    baseline: bool = True
    language_id: bool = True
    samples_dir: Path = SAMPLES_DIR


@dataclass(frozen=True)
class AsrRow:
    """One set scored for one system: WER/CER (``rate``) or phantom words on silence."""

    set: str
    system: str
    measure: str  # WER | CER | phantom words
    rate: float | None
    errors: int
    tokens: int
    clips: int
    audio_s: float
    rtf: float | None
    examples: tuple[str, ...] = ()  # "reference → hypothesis" of clips with errors


@dataclass(frozen=True)
class LanguageRow:
    """Language identification (English or Mandarin) on one set's clips."""

    set: str
    clips: int
    correct: int
    lowest_probability: float  # of the right language, renormalised over en + zh
    wrong: tuple[str, ...] = ()


@dataclass
class AsrReport:
    """Everything ``qa bench asr`` measured."""

    options: AsrBenchOptions
    rows: list[AsrRow] = field(default_factory=list)
    language: list[LanguageRow] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict (``--json``)."""
        options = asdict(self.options)
        options = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
        return {
            "options": options,
            "rows": [asdict(row) for row in self.rows],
            "language_id": [asdict(row) for row in self.language],
        }

    def dumps(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class _Item:
    label: str  # the set's name in the report
    language: str
    audio: np.ndarray
    reference: str
    name: str


def run_asr_bench(
    options: AsrBenchOptions | None = None,
    *,
    on_row: Callable[[AsrRow | LanguageRow], None] | None = None,
) -> AsrReport:
    """Measure every requested set; ``on_row`` hears each row as soon as it is measured."""
    opts = options or AsrBenchOptions()
    unknown = sorted(set(opts.sets) - set(ALL_SETS))
    if unknown:
        raise ValueError(f"unknown set(s) {unknown}; choose from {list(ALL_SETS)}")
    report = AsrReport(opts)
    tell = on_row or (lambda row: None)
    layer = _layer(opts)
    systems: dict[str, Transcribe] = {LAYER: _run_layer(layer)}
    if opts.baseline:
        systems[PLAIN] = _plain(opts)
    groups = _items(opts)
    warm = next((g[0].audio[: 5 * RATE] for g in groups.values() if g), None)
    if warm is not None:
        for transcribe in systems.values():  # one-off set-up stays out of the RTF
            transcribe(warm, "en")
    for label, items in groups.items():
        if label.startswith("store"):
            continue
        for system, transcribe in systems.items():
            row = _score(label, system, items, transcribe)
            report.rows.append(row)
            tell(row)
    if opts.language_id:
        for label, items in _language_sets(groups).items():
            language_row = _language_row(label, items, layer)
            report.language.append(language_row)
            tell(language_row)
    return report


def _layer(opts: AsrBenchOptions) -> Transcriber:
    settings = TranscribeOptions() if opts.vad is None else TranscribeOptions(vad_filter=opts.vad)
    return Transcriber(opts.models_dir / "whisper-base", cpu_threads=opts.threads, options=settings)


def _run_layer(layer: Transcriber) -> Transcribe:
    def transcribe(audio: np.ndarray, language: str) -> str:
        result = layer.transcribe(audio, language=language)
        joiner = "" if language == "zh" else " "
        return joiner.join(segment.text for segment in result.segments)

    return transcribe


def _plain(opts: AsrBenchOptions) -> Transcribe:
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(opts.models_dir / "whisper-base"), compute_type="int8", cpu_threads=opts.threads
    )

    def transcribe(audio: np.ndarray, language: str) -> str:
        segments, _ = model.transcribe(audio, language=language, beam_size=5)
        joiner = "" if language == "zh" else " "
        return joiner.join(segment.text for segment in segments)

    return transcribe


def telephone(audio: np.ndarray) -> np.ndarray:
    """16 kHz audio limited to telephone bandwidth: down to 8 kHz and back."""
    import soxr

    return soxr.resample(soxr.resample(audio, RATE, 8000), 8000, RATE).astype(np.float32)


def _items(opts: AsrBenchOptions) -> dict[str, list[_Item]]:
    """The clips of each requested set, decoded to 16 kHz, under their report labels."""
    groups: dict[str, list[_Item]] = {}

    def add(label: str, clips: Sequence[Clip], wideband: bool) -> None:
        decoded = [(clip, load_audio(clip.path, sample_rate=RATE).channels[0]) for clip in clips]
        languages = [lang for lang in ("en", "zh") if any(c.language == lang for c, _ in decoded)]
        for language in languages:
            name = label
            if len(languages) > 1:
                name += " (Mandarin)" if language == "zh" else " (English)"
            if wideband:
                name += " 16 kHz"
            chosen = [(c, a) for c, a in decoded if c.language == language]
            groups[name] = [_Item(name, language, a, c.reference, c.name) for c, a in chosen]
            if wideband and opts.telephone:
                narrow = name.replace(" 16 kHz", " through 8 kHz")
                groups[narrow] = [
                    _Item(narrow, language, telephone(a), c.reference, c.name) for c, a in chosen
                ]

    if "pyannote" in opts.sets:
        add("pyannote call", [pyannote_clip()], True)
    if "asterisk" in opts.sets and opts.asterisk_count:
        add(
            f"Asterisk prompts, {opts.asterisk_count}, 8 kHz",
            asterisk_clips(opts.cache, opts.asterisk_count),
            False,
        )
    if "silence" in opts.sets:
        add("Asterisk silence/1..10", asterisk_silences(opts.cache), False)
    if "aishell" in opts.sets:
        add("AISHELL-1 Mandarin", wheel_clips(opts.cache, ("aishell",)), True)
    if "f5" in opts.sets:
        add("F5-TTS reference voices", wheel_clips(opts.cache, ("f5",)), True)
    if "store" in opts.sets:
        groups["store"] = _store_items(opts.samples_dir)
    return groups


def _store_items(samples_dir: Path) -> list[_Item]:
    """The sample store's calls, channels mixed as the engine mixes them to detect language."""
    expected = json.loads((samples_dir / "expected.json").read_text(encoding="utf-8"))
    monitor = samples_dir / expected["store"]
    items = []
    for call in expected["calls"]:
        audio = load_call_audio([monitor / r for r in call["recordings"]], sample_rate=RATE)
        mixed = np.mean(np.stack(audio.channels), axis=0).astype(np.float32)
        items.append(_Item("store", call["language"], mixed, "", call["key"]))
    return items


def _score(label: str, system: str, items: Sequence[_Item], transcribe: Transcribe) -> AsrRow:
    count = ErrorCount()
    examples = []
    silence = all(not item.reference for item in items)
    for item in items:
        started = time.perf_counter()
        text = transcribe(item.audio, item.language)
        seconds = time.perf_counter() - started
        ref, hyp = tokens(item.reference, item.language), tokens(text, item.language)
        if count.add(ref, hyp, len(item.audio) / RATE, seconds):
            joiner = "" if item.language == "zh" else " "
            examples.append(f"{item.name}: {joiner.join(ref)} → {joiner.join(hyp)}")
        log.debug("%s / %s / %s: %r", label, system, item.name, text)
    language = items[0].language if items else "en"
    measure = "phantom words" if silence else ("CER" if language == "zh" else "WER")
    return AsrRow(
        set=label,
        system=system,
        measure=measure,
        rate=None if silence else count.rate,
        errors=count.errors,
        tokens=count.tokens,
        clips=count.clips,
        audio_s=round(count.audio_s, 2),
        rtf=None if count.rtf is None else round(count.rtf, 4),
        examples=tuple(examples),
    )


def _language_sets(groups: dict[str, list[_Item]]) -> dict[str, list[_Item]]:
    """Language identification runs on the speech (not the silence) and on the store calls."""
    return {
        label: items
        for label, items in groups.items()
        if items and (label == "store" or any(item.reference for item in items))
    }


def _language_row(label: str, items: Sequence[_Item], layer: Transcriber) -> LanguageRow:
    correct = 0
    lowest = 1.0
    wrong = []
    for item in items:
        language, probability = layer.detect_language(item.audio, ("en", "zh"))
        if language == item.language:
            correct += 1
            lowest = min(lowest, probability)
        else:
            wrong.append(f"{item.name}: {language} ({probability:.2f})")
    name = "sample store calls" if label == "store" else label
    return LanguageRow(name, len(items), correct, round(lowest, 3), tuple(wrong))
