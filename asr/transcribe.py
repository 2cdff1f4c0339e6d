"""The faster-whisper adapter: 16 kHz audio in, segments with word timestamps out.

The model is loaded once from a local CTranslate2 directory (never a hub name: no machine here
reaches a hub). Each call detects the language among an allowed list (or takes a forced one),
keeps word timestamps, converts Mandarin to Simplified characters with OpenCC, and drops what
Whisper invents on silence::

    transcriber = Transcriber(Path("~/.cache/callqa/models/whisper-base").expanduser())
    result = transcriber.transcribe(samples_16k, languages=("en", "zh"))
    result.language, [segment.text for segment in result.segments]

The VAD filter is on for both languages, by measurement (``qa bench asr --vad off``, ``qa bench
pipeline --vad off``; figures in docs/benchmarks.md): on real English and Mandarin clips it
changes little (one AISHELL clip better with it), on the sample store's calls it lowers the
error rate in every layout and both languages and makes two-channel calls several times faster,
since each channel is half silence, on which Whisper drifts. Language detection (on the first
30 s of speech after VAD, among the allowed languages) was right on all 56 real clips and sample
calls. The Simplified initial prompt (``以下是普通话的句子。``) was echoed back as the transcript of
short clips and did not lower the error rate, so by default it is off and OpenCC alone makes the
output Simplified; it stays available as ``TranscribeOptions.zh_prompt``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from calldata import Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
SIMPLIFIED_PROMPT = "以下是普通话的句子。"

# Text Whisper learned from subtitled video and writes over silence or noise. Matched on
# normalised text (lower case, no spaces or punctuation); none of it is said on a service call.
PHANTOM_PHRASES: tuple[str, ...] = (
    "thankyouforwatching",
    "thanksforwatching",
    "pleasesubscribe",
    "likeandsubscribe",
    "subscribetomychannel",
    "subtitlesby",
    "captionsby",
    "transcribedby",
    "amaraorg",
    "字幕由",
    "字幕提供",
    "中文字幕",
    "请不吝点赞",
    "点赞订阅",
    "订阅转发",
    "打赏支持",
    "明镜与点点栏目",
    "感谢观看",
    "谢谢观看",
    "欢迎订阅",
)


class TranscriberError(Exception):
    """The Whisper model could not be loaded; the message says what is missing."""


@dataclass(frozen=True)
class TranscribeOptions:
    """Decoding and hallucination-guard settings; every field has a default."""

    beam_size: int = 5
    # When a window's decode fails the checks below (a loop of repeated text, or low
    # confidence), faster-whisper decodes it again at each higher temperature; here each such
    # decode is one greedy pass with a growing repetition penalty (DeterministicFallback), and at
    # most 224 new tokens a window (the reference Whisper decoder's limit; faster-whisper allows
    # 448), which bounds what a runaway window costs (docs/benchmarks.md, "Mono calls"). The
    # sequential decoder resumes a window cut short by the limit at its last complete segment,
    # so nothing is lost; the batched one (no fallback) keeps faster-whisper's limit.
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    max_new_tokens: int | None = 224
    patience: float = 1.0
    vad_filter: bool = True
    # The shortest silence the VAD filter cuts out of what Whisper decodes; None: faster-whisper's
    # default (2000 ms, 160 ms for batched decoding). Shorter cut little off mono calls and
    # lost Mandarin characters (docs/benchmarks.md, "Mono calls").
    vad_min_silence_ms: int | None = None
    condition_on_previous_text: bool = False
    zh_prompt: str | None = None
    # A segment is dropped when Whisper itself thinks there was no speech and is unsure of
    # the text (the rule Whisper uses), or when the text is runaway repetition.
    no_speech_threshold: float = 0.6
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    # Audio whose loudest 30 ms frame is quieter than this is silence: no Whisper at all.
    silence_dbfs: float = -45.0
    language_detection_segments: int = 2
    # > 0: faster-whisper's BatchedInferencePipeline decodes this many VAD chunks of a recording
    # at once (what a GPU wants); 0: the sequential decoder, which is the measured CPU default.
    batch_size: int = 0

    @classmethod
    def coerce(cls, value: TranscribeOptions | dict[str, Any] | None) -> TranscribeOptions:
        """Accept options as a dataclass, a dict of its fields, or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, TranscribeOptions):
            return value
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown transcribe option(s) {unknown}; known: {sorted(known)}")
        return cls(**value)


@dataclass(frozen=True)
class SpeechSegment:
    """One Whisper segment. ``words`` keep Whisper's spelling, including the leading space that
    separates English words, so that joining their texts rebuilds the segment text."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 1.0


@dataclass(frozen=True)
class Transcription:
    """What one ``Transcriber.transcribe`` call found."""

    language: str
    language_probability: float
    segments: tuple[SpeechSegment, ...] = field(default_factory=tuple)


class DeterministicFallback:
    """CTranslate2's Whisper model, with faster-whisper's temperature fallback made deterministic.

    When a window's decode loops or is unsure, faster-whisper decodes it again at each higher
    temperature by sampling. CTranslate2 seeds its sampler once per worker thread, the first time
    that thread samples (``ctranslate2.set_random_seed`` changes nothing after that), so in a
    worker that has transcribed other calls a recording's fallback windows, and so its transcript
    and verdicts, depended on the calls before it. Here a fallback decode is greedy with a
    repetition penalty that grows with the temperature (1 + t): what the sampling was there for —
    leaving a loop or a wrong turn of the beam — without chance. Everything else passes through.
    """

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("sampling_topk") == 0:  # faster-whisper's fallback: sample at a temperature
            temperature = kwargs.pop("sampling_temperature")
            penalty = max(kwargs.get("repetition_penalty", 1.0), 1.0 + temperature)
            kwargs.update(sampling_topk=1, beam_size=1, num_hypotheses=1)
            kwargs["repetition_penalty"] = penalty
        return self._model.generate(*args, **kwargs)


class Transcriber:
    """faster-whisper, loaded once from ``model_dir`` (a CTranslate2 model directory)."""

    def __init__(
        self,
        model_dir: Path,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        options: TranscribeOptions | dict[str, Any] | None = None,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        model_dir = Path(model_dir).expanduser()
        if not (model_dir / "model.bin").is_file():
            raise TranscriberError(
                f"{model_dir} is not a faster-whisper model directory (no model.bin); "
                "run `qa models fetch`, or point whisper_dir at a CTranslate2 model"
            )
        self.model_dir = model_dir
        self.options = TranscribeOptions.coerce(options)
        log.info("loading Whisper from %s (%s, %s)", model_dir, device, compute_type)
        try:
            self._model = WhisperModel(
                str(model_dir),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as error:
            raise TranscriberError(
                f"could not load Whisper from {model_dir} on {device}/{compute_type}: {error}; "
                "check the directory (qa models check) and that the compute type suits the device"
            ) from error
        # faster-whisper reaches the CTranslate2 model through this attribute for every decode.
        self._model.model = DeterministicFallback(self._model.model)
        self._batched = BatchedInferencePipeline(self._model) if self.options.batch_size else None
        from opencc import OpenCC

        self._to_simplified = OpenCC("t2s")

    @property
    def name(self) -> str:
        """The model's name for provenance, e.g. ``faster-whisper:whisper-base``."""
        return f"faster-whisper:{self.model_dir.name}"

    def detect_language(
        self, audio: np.ndarray, allowed: Sequence[str] = ("en", "zh")
    ) -> tuple[str, float]:
        """The most probable language among ``allowed`` and its probability (renormalised
        over the allowed ones). Silence gives the first allowed language with probability 0."""
        if not allowed:
            raise ValueError("detect_language needs at least one allowed language")
        if is_silent(audio, self.options.silence_dbfs):
            return allowed[0], 0.0
        _, _, probabilities = self._model.detect_language(
            audio,
            vad_filter=self.options.vad_filter,
            vad_parameters=self._vad(),
            language_detection_segments=self.options.language_detection_segments,
        )
        scores = dict(probabilities)
        best = max(allowed, key=lambda code: scores.get(code, 0.0))
        total = sum(scores.get(code, 0.0) for code in allowed)
        confidence = scores.get(best, 0.0) / total if total > 0 else 0.0
        log.debug("language %s (%.2f) among %s", best, confidence, allowed)
        return best, confidence

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        languages: Sequence[str] = ("en", "zh"),
        hotwords: Sequence[str] = (),
    ) -> Transcription:
        """Transcribe 16 kHz mono float32 ``audio``.

        ``language`` forces the language; otherwise it is detected among ``languages``.
        ``hotwords`` (company, product and agent names) bias decoding towards those spellings.
        Silence returns no segments; hallucinated segments are dropped (see the module doc).
        """
        opts = self.options
        if language is None:
            language, probability = self.detect_language(audio, languages)
        else:
            probability = 1.0
        if is_silent(audio, opts.silence_dbfs):
            log.debug("audio is silent (< %.0f dBFS): nothing to transcribe", opts.silence_dbfs)
            return Transcription(language, probability, ())
        prompt = opts.zh_prompt if language == "zh" else None
        hotword_text = ", ".join(hotwords) or None
        settings: dict[str, Any] = {
            "language": language,
            "beam_size": opts.beam_size,
            "temperature": list(opts.temperatures),
            "patience": opts.patience,
            "word_timestamps": True,
            "vad_filter": opts.vad_filter,
            "condition_on_previous_text": opts.condition_on_previous_text,
            "initial_prompt": prompt,
            "hotwords": hotword_text,
            "no_speech_threshold": opts.no_speech_threshold,
            "log_prob_threshold": opts.log_prob_threshold,
            "compression_ratio_threshold": opts.compression_ratio_threshold,
        }
        if opts.vad_min_silence_ms is not None:
            settings["vad_parameters"] = {"min_silence_duration_ms": opts.vad_min_silence_ms}
        if self._batched is not None:
            # With timestamps, so a 30 s batch chunk still comes back as sentence-sized segments
            # (turns are built from segments; without them one segment spans both parties' turns).
            raw_segments, _ = self._batched.transcribe(
                audio, batch_size=opts.batch_size, without_timestamps=False, **settings
            )
        else:
            # Only here: a batched chunk is decoded once, so a token limit would cut its text.
            limit = opts.max_new_tokens
            raw_segments, _ = self._model.transcribe(audio, max_new_tokens=limit, **settings)
        segments = []
        for raw in raw_segments:
            segment = self._convert(raw, simplify=language == "zh")
            reason = hallucination_reason(
                segment, audio, opts, prompt=prompt, hotwords=hotword_text
            )
            if reason:
                log.debug("dropped segment %.1f-%.1f %r: %s", raw.start, raw.end, raw.text, reason)
                continue
            segments.append(segment)
        return Transcription(language, probability, tuple(segments))

    def _vad(self) -> Any:
        """The VAD filter's options for language detection (None: faster-whisper's)."""
        if self.options.vad_min_silence_ms is None:
            return None
        from faster_whisper.vad import VadOptions

        return VadOptions(min_silence_duration_ms=self.options.vad_min_silence_ms)

    def _convert(self, raw: Any, *, simplify: bool) -> SpeechSegment:
        def fix(text: str) -> str:
            return self._to_simplified.convert(text) if simplify else text

        words = tuple(
            Word(
                start=float(w.start),
                end=float(max(w.end, w.start)),
                text=fix(w.word),
                probability=float(min(max(w.probability, 0.0), 1.0)),
            )
            for w in (raw.words or ())
            if w.word.strip()
        )
        return SpeechSegment(
            start=float(raw.start),
            end=float(raw.end),
            text=fix(raw.text).strip(),
            words=words,
            avg_logprob=float(raw.avg_logprob),
            no_speech_prob=float(raw.no_speech_prob),
            compression_ratio=float(raw.compression_ratio),
        )


def hallucination_reason(
    segment: SpeechSegment,
    audio: np.ndarray,
    options: TranscribeOptions,
    *,
    prompt: str | None = None,
    hotwords: str | None = None,
) -> str:
    """Why ``segment`` (of 16 kHz ``audio``) is text Whisper invented, or ``""`` to keep it:
    no speech by Whisper's own rule, runaway repetition, a subtitle phrase from its training
    data, an echo of the prompt or hotwords, or text over audio that is silent."""
    text = _normalise(segment.text)
    if not text:
        return "no text"
    if (
        segment.no_speech_prob > options.no_speech_threshold
        and segment.avg_logprob < options.log_prob_threshold
    ):
        return "no speech"
    if segment.compression_ratio > options.compression_ratio_threshold:
        return "runaway repetition"
    if any(phrase in text for phrase in PHANTOM_PHRASES):
        return "phantom subtitle phrase"
    if _Echoes(_normalise(prompt or ""), _normalise(hotwords or "")).match(text):
        return "echo of the prompt or hotwords"
    start = int(segment.start * SAMPLE_RATE)
    end = int(segment.end * SAMPLE_RATE)
    if is_silent(audio[start:end], options.silence_dbfs):
        return "text over silence"
    return ""


def is_silent(audio: np.ndarray, threshold_dbfs: float = -45.0) -> bool:
    """True when no 30 ms frame of 16 kHz ``audio`` is louder than ``threshold_dbfs`` (RMS)."""
    frame = int(0.03 * SAMPLE_RATE)
    if len(audio) == 0:
        return True
    usable = len(audio) - len(audio) % frame
    frames = audio[:usable].reshape(-1, frame) if usable else audio.reshape(1, -1)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    loudest = float(rms.max())
    return loudest <= 0.0 or 20.0 * np.log10(loudest) < threshold_dbfs


@dataclass(frozen=True)
class _Echoes:
    """Whisper sometimes writes its prompt back as the transcript of quiet audio."""

    prompt: str
    hotwords: str

    def match(self, text: str) -> bool:
        # Part of the prompt counts (it is never said on a call); hotwords only as a whole,
        # since a single hotword ("Springfield.") is a legitimate utterance.
        if self.prompt and (text == self.prompt or (len(text) >= 4 and text in self.prompt)):
            return True
        return bool(self.hotwords) and text == self.hotwords


_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def _normalise(text: str) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())
