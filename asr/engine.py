"""The speech layer's entry point: a call's recording(s) in, a :class:`calldata.Transcript` out.

``SpeechEngine`` loads Whisper once (and the diarization models the first time a mono call
needs them), then for each call: decodes the audio, decides the channel layout, detects the
language among the allowed ones, transcribes (per channel, or once plus diarization for mono),
assigns roles and computes the conversation metrics::

    engine = SpeechEngine(SpeechOptions(languages=("en", "zh"), hotwords=("Acme Telecom",)))
    transcript = engine.transcribe_call([Path("q-600-...-1705347015.101.wav")], agent_name="Alice")

Layouts: one mono file → diarized ("mono"); one two-channel file → one party per channel
("stereo"), unless one channel is silent or both carry the same signal, which is a mono
recording in a stereo file (diarized as "mono"); two files → the call's legs ("legs"), first
file channel 0. Legs are always kept apart: the PBX wrote each party to its own file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from asr.audio import TARGET_RATE, Audio, load_call_audio
from asr.metrics import compute_metrics
from asr.models import default_models_dir, require_models
from asr.roles import SpeakerSpan, apply_roles, assign_roles, channel_turns, diarized_turns
from asr.transcribe import TranscribeOptions, Transcriber, is_silent
from calldata import Role, Transcript, Turn

log = logging.getLogger(__name__)

#: ``hook(step, completed, total)``; steps: decode, language, transcribe, diarize, roles, metrics.
ProgressHook = Callable[[str, int, int], None]

# Two channels this correlated are one signal written twice ("stereo" that is really mono).
_SAME_SIGNAL_CORRELATION = 0.95


class Diarize(Protocol):
    """What the engine needs from a diarizer (``asr.diarize.Diarizer`` is the real one)."""

    def __call__(
        self,
        waveform: np.ndarray,
        sample_rate: int,
        *,
        min_speakers: int = 1,
        max_speakers: int = 3,
        expected_speakers: int = 2,
    ) -> Sequence[SpeakerSpan]: ...


@dataclass(frozen=True)
class SpeechOptions:
    """Speech layer settings; every field has a default. Accepts a dict via :meth:`coerce`."""

    models_dir: Path = field(default_factory=default_models_dir)
    whisper_dir: Path | None = None  # None: models_dir / "whisper-base"
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: CTranslate2 picks
    languages: tuple[str, ...] = ("en", "zh")
    beam_size: int = 5
    vad_filter: bool = True  # measured: see asr.transcribe
    zh_prompt: str | None = None
    hotwords: tuple[str, ...] = ()  # company, product names: biases Whisper's spelling
    silence_threshold: float = 3.0  # seconds of no speech that count as a silence
    silence_dbfs: float = -45.0  # a channel quieter than this throughout is silent
    min_speakers: int = 1
    max_speakers: int = 3
    expected_speakers: int = 2
    agent_phrases: tuple[str, ...] = ()  # extra evidence for the agent role on mono calls
    merge_gap: float = 1.0  # one speaker's speech closer than this is one turn
    verify_models: bool = True  # check the pinned models' hashes before loading
    batch_size: int = 0  # > 0: batched Whisper decoding (GPU); see asr.transcribe
    diarization_step: float = 0.5  # mono: window step / 10 s window (docs/models.md)

    @classmethod
    def coerce(cls, value: SpeechOptions | dict[str, Any] | None) -> SpeechOptions:
        """Options from a dataclass, a dict (e.g. a config file section) or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, SpeechOptions):
            return value
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown speech option(s) {unknown}; known: {sorted(known)}")
        converted: dict[str, Any] = {}
        for name, item in value.items():
            if name in ("models_dir", "whisper_dir") and item is not None:
                item = Path(item).expanduser()
            elif isinstance(item, list):
                item = tuple(item)
            elif name in ("languages", "hotwords", "agent_phrases") and isinstance(item, str):
                item = (item,)
            converted[name] = item
        return cls(**converted)


class SpeechEngine:
    """Loads the models once; :meth:`transcribe_call` turns each call into a Transcript.

    ``diarizer`` is any callable shaped like :class:`Diarize`; by default the pyannote +
    CAM++ ``asr.diarize.Diarizer``, loaded the first time a mono call needs it.
    """

    def __init__(
        self,
        options: SpeechOptions | dict[str, Any] | None = None,
        diarizer: Diarize | None = None,
    ) -> None:
        self.options = SpeechOptions.coerce(options)
        opts = self.options
        whisper_dir = opts.whisper_dir or opts.models_dir / "whisper-base"
        if opts.verify_models:
            whisper_dir = require_models(opts.models_dir, whisper_dir=opts.whisper_dir).whisper_dir
        self.transcriber = Transcriber(
            whisper_dir,
            device=opts.device,
            compute_type=opts.compute_type,
            cpu_threads=opts.cpu_threads,
            options=TranscribeOptions(
                beam_size=opts.beam_size,
                vad_filter=opts.vad_filter,
                zh_prompt=opts.zh_prompt,
                silence_dbfs=opts.silence_dbfs,
                batch_size=opts.batch_size,
            ),
        )
        self._diarizer = diarizer

    @property
    def diarizer(self) -> Diarize:
        """The diarizer, loading the default one on first use."""
        if self._diarizer is None:
            from asr.diarize import Diarizer

            self._diarizer = Diarizer(
                self.options.models_dir,
                device=self.options.device,
                segmentation_step=self.options.diarization_step,
            )
        return self._diarizer

    def transcribe_call(
        self,
        paths: Sequence[Path | str],
        *,
        channel_roles: Sequence[Role] = (Role.CUSTOMER, Role.AGENT),
        language: str | None = None,
        agent_name: str | None = None,
        inbound: bool = True,
        hotwords: Sequence[str] = (),
        hook: ProgressHook | None = None,
    ) -> Transcript:
        """Transcribe one call: one path (mono or two-channel) or two leg paths (first = ch0).

        ``channel_roles`` maps channels to roles on two-channel audio (FreePBX queue
        recordings: ch0 the caller, ch1 the agent). ``language`` forces the language, else it
        is detected among ``options.languages``. ``agent_name`` (from queue_log) and
        ``inbound`` are evidence for the agent role on mono calls. ``hotwords`` add to
        ``options.hotwords`` for this call. Raises ``AudioDecodeError`` for unusable audio.
        """
        report = hook or _no_progress
        report("decode", 0, 1)
        audio = load_call_audio(list(paths), sample_rate=TARGET_RATE)
        report("decode", 1, 1)
        return self.transcribe_audio(
            audio,
            legs=len(paths) == 2,
            channel_roles=channel_roles,
            language=language,
            agent_name=agent_name,
            inbound=inbound,
            hotwords=hotwords,
            hook=hook,
        )

    def transcribe_audio(
        self,
        audio: Audio,
        *,
        legs: bool = False,
        channel_roles: Sequence[Role] = (Role.CUSTOMER, Role.AGENT),
        language: str | None = None,
        agent_name: str | None = None,
        inbound: bool = True,
        hotwords: Sequence[str] = (),
        hook: ProgressHook | None = None,
    ) -> Transcript:
        """Like :meth:`transcribe_call` for audio already decoded at 16 kHz."""
        if audio.sample_rate != TARGET_RATE:
            raise ValueError(f"audio must be {TARGET_RATE} Hz (load_call_audio does that)")
        opts = self.options
        report = hook or _no_progress
        started = time.perf_counter()
        mode, active = channel_layout(audio, legs=legs, silence_dbfs=opts.silence_dbfs)
        words = tuple(opts.hotwords) + tuple(hotwords)
        speech = [audio.channels[i] for i in active] or [audio.mixdown()]
        mixed = speech[0] if len(speech) == 1 else np.mean(np.stack(speech), axis=0)

        report("language", 0, 1)
        if language is not None:
            language = whisper_language(language)
        else:
            allowed = tuple(dict.fromkeys(whisper_language(code) for code in opts.languages))
            language, probability = self.transcriber.detect_language(mixed, allowed)
            log.info("detected language %s (%.2f among %s)", language, probability, allowed)
        report("language", 1, 1)

        role_confidence = 1.0
        if mode == "mono":
            turns, role_confidence = self._mono_turns(
                mixed, language, words, agent_name, inbound, report
            )
        else:
            per_channel = []
            for index in range(len(audio.channels)):
                report("transcribe", index, len(audio.channels))
                if index in active:
                    result = self.transcriber.transcribe(
                        audio.channels[index], language=language, hotwords=words
                    )
                    per_channel.append(result.segments)
                else:
                    per_channel.append(())
            report("transcribe", len(audio.channels), len(audio.channels))
            turns = channel_turns(per_channel, channel_roles, merge_gap=opts.merge_gap)

        report("metrics", 0, 1)
        metrics = compute_metrics(turns, audio.duration, silence_threshold=opts.silence_threshold)
        report("metrics", 1, 1)
        elapsed = time.perf_counter() - started
        log.info(
            "transcribed %s (%s, %s, %.1f s) in %.1f s: %d turns",
            ", ".join(p.name for p in audio.source) or "audio",
            mode,
            language,
            audio.duration,
            elapsed,
            len(turns),
        )
        return Transcript(
            language=language,
            turns=tuple(turns),
            metrics=metrics,
            duration=round(audio.duration, 3),
            channel_mode=mode,
            role_confidence=role_confidence,
            model=self.transcriber.name,
        )

    def _mono_turns(
        self,
        samples: np.ndarray,
        language: str,
        hotwords: tuple[str, ...],
        agent_name: str | None,
        inbound: bool,
        report: ProgressHook,
    ) -> tuple[list[Turn], float]:
        opts = self.options
        report("transcribe", 0, 1)
        result = self.transcriber.transcribe(samples, language=language, hotwords=hotwords)
        report("transcribe", 1, 1)
        if not result.segments:
            return [], 0.0
        report("diarize", 0, 1)
        speakers = self.diarizer(
            samples,
            TARGET_RATE,
            min_speakers=opts.min_speakers,
            max_speakers=opts.max_speakers,
            expected_speakers=opts.expected_speakers,
        )
        report("diarize", 1, 1)
        report("roles", 0, 1)
        turns = diarized_turns(result.segments, speakers, merge_gap=opts.merge_gap)
        assignment = assign_roles(
            turns, agent_name=agent_name, inbound=inbound, agent_phrases=opts.agent_phrases
        )
        log.debug(
            "roles %s (%.2f): %s", assignment.mapping, assignment.confidence, assignment.reasons
        )
        report("roles", 1, 1)
        return apply_roles(turns, assignment.mapping), assignment.confidence


def channel_layout(
    audio: Audio, *, legs: bool, silence_dbfs: float = -45.0
) -> tuple[str, list[int]]:
    """The channel mode ('mono', 'stereo', 'legs') and the indices of channels with sound.

    A two-channel file with one silent channel, or the same signal on both, is a mono
    recording in a stereo container and is diarized; leg files are always kept apart.
    """
    channels = audio.channels
    active = [i for i, ch in enumerate(channels) if not is_silent(ch, silence_dbfs)]
    if len(channels) == 1:
        return "mono", [0]
    if legs:
        return "legs", active
    if len(channels) > 2:
        log.warning("%s has %d channels: treated as mono", audio.source, len(channels))
        return "mono", active or [0]
    if len(active) < 2:
        log.info("%s: one channel is silent, so it is a mono recording", audio.source)
        return "mono", active or [0]
    if same_signal(channels[0], channels[1]):
        log.info("%s: both channels carry the same signal: mono", audio.source)
        return "mono", [0]
    return "stereo", active


def whisper_language(code: str) -> str:
    """Whisper's code for a configured language: ``zh-CN``, ``zh_TW``, ``cmn`` → ``zh``."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    return {"cmn": "zh", "yue": "yue", "eng": "en", "zho": "zh", "chi": "zh"}.get(base, base)


def same_signal(left: np.ndarray, right: np.ndarray) -> bool:
    """Whether two channels are one recording written twice (correlation above 0.95)."""
    if left.std() == 0 or right.std() == 0:
        return False
    correlation = float(np.corrcoef(left, right)[0, 1])
    return correlation > _SAME_SIGNAL_CORRELATION


def _no_progress(step: str, completed: int, total: int) -> None:
    """The default hook: progress is opt-in."""
