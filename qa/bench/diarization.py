"""``qa bench diarization``: diarization error rate and speed of ``asr.diarize.Diarizer`` on
pyannote.audio's real two-speaker phone call, against its reference ``sample.rttm``.

    report = run_diarization_bench(DiarizationBenchOptions())
    [(row.set, row.collar, row.der) for row in report.rows]

DER is ``pyannote.metrics``' ``DiarizationErrorRate`` with overlapping speech scored. The collar
is the forgiveness either side of each reference boundary: pyannote.metrics' ``collar`` argument
is the total width, so ±0.25 s is ``collar=0.5``. The call is scored as recorded (16 kHz) and
after a round trip through 8 kHz (telephone bandwidth).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from asr import load_audio
from asr.engine import Diarize
from asr.models import default_models_dir
from qa.bench.corpora import pyannote_sample_dir
from qa.bench.dialogue import ScriptLine, score_dialogue
from qa.bench.speech import RATE, telephone

COLLARS = (0.0, 0.25)  # seconds either side of a reference boundary


@dataclass(frozen=True)
class DiarizationBenchOptions:
    """What ``qa bench diarization`` runs; every field has a default."""

    models_dir: Path = field(default_factory=default_models_dir)
    telephone: bool = True
    attribution: bool = True  # also run the speech engine and score who said each stm line
    threads: int = 2


@dataclass(frozen=True)
class DiarizationRow:
    """DER of one copy of the call at one collar."""

    set: str
    collar: float  # seconds either side
    der: float
    speakers_found: int
    reference_speakers: int
    audio_s: float
    rtf: float


@dataclass(frozen=True)
class AttributionRow:
    """Who said what: the speech engine's turns (Whisper words on diarized speakers) against the
    speakers of ``sample.stm``'s lines, each turn speaker mapped to the stm speaker it shares
    most words with."""

    set: str
    lines: int
    lines_heard: int
    lines_right: int
    words_matched: int
    words_right: int
    wrong_lines: tuple[str, ...] = ()


@dataclass
class DiarizationReport:
    """Everything ``qa bench diarization`` measured."""

    options: DiarizationBenchOptions
    rows: list[DiarizationRow] = field(default_factory=list)
    attribution: list[AttributionRow] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict (``--json``)."""
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        return {
            "options": options,
            "rows": [asdict(row) for row in self.rows],
            "attribution": [asdict(row) for row in self.attribution],
        }

    def dumps(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_json(), indent=2)


def run_diarization_bench(options: DiarizationBenchOptions | None = None) -> DiarizationReport:
    """Diarize pyannote's sample call (16 kHz, and through 8 kHz) and score it."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    from asr.diarize import Diarizer

    opts = options or DiarizationBenchOptions()
    sample = pyannote_sample_dir()
    reference = next(iter(load_rttm(sample / "sample.rttm").values()))
    audio = load_audio(sample / "sample.wav", sample_rate=RATE).channels[0]
    diarizer = Diarizer(opts.models_dir)
    diarizer(audio[: 5 * RATE], RATE)  # one-off set-up stays out of the RTF
    copies = {"pyannote call 16 kHz": audio}
    if opts.telephone:
        copies["pyannote call through 8 kHz"] = telephone(audio)
    report = DiarizationReport(opts)
    for name, signal in copies.items():
        started = time.perf_counter()
        segments = diarizer(signal, RATE)
        seconds = time.perf_counter() - started
        hypothesis = Annotation()
        for segment in segments:
            hypothesis[Segment(segment.start, segment.end)] = segment.speaker
        duration = len(signal) / RATE
        for collar in COLLARS:
            metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=False)
            report.rows.append(
                DiarizationRow(
                    set=name,
                    collar=collar,
                    der=round(float(metric(reference, hypothesis)), 4),
                    speakers_found=len(hypothesis.labels()),
                    reference_speakers=len(reference.labels()),
                    audio_s=round(duration, 2),
                    rtf=round(seconds / duration, 4),
                )
            )
    if opts.attribution:
        report.attribution = _attribution(opts, copies, diarizer)
    return report


def _attribution(
    opts: DiarizationBenchOptions, copies: dict[str, np.ndarray], diarizer: Diarize
) -> list[AttributionRow]:
    """Run the speech engine (mono: Whisper + this diarizer) on each copy; score its turns'
    speakers against ``sample.stm``."""
    from asr import Audio, SpeechEngine, SpeechOptions

    stm = (pyannote_sample_dir() / "sample.stm").read_text(encoding="utf-8").splitlines()
    lines = [ScriptLine(fields[2], fields[5]) for fields in (line.split(None, 5) for line in stm)]
    engine = SpeechEngine(
        SpeechOptions(models_dir=opts.models_dir, cpu_threads=opts.threads), diarizer=diarizer
    )
    rows = []
    for name, signal in copies.items():
        audio = Audio((signal,), RATE, (pyannote_sample_dir() / "sample.wav",))
        transcript = engine.transcribe_audio(audio, language="en")
        score = score_dialogue(lines, transcript, "en", by_speaker=True)
        rows.append(
            AttributionRow(
                set=name,
                lines=score.lines,
                lines_heard=score.lines_heard,
                lines_right=score.lines_right,
                words_matched=score.words_matched,
                words_right=score.words_role_right,
                wrong_lines=score.wrong_lines,
            )
        )
    return rows
