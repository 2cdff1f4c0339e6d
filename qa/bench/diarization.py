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

from asr import load_audio
from asr.models import default_models_dir
from qa.bench.corpora import pyannote_sample_dir
from qa.bench.speech import RATE, telephone

COLLARS = (0.0, 0.25)  # seconds either side of a reference boundary


@dataclass(frozen=True)
class DiarizationBenchOptions:
    """What ``qa bench diarization`` runs; every field has a default."""

    models_dir: Path = field(default_factory=default_models_dir)
    telephone: bool = True


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


@dataclass
class DiarizationReport:
    """Everything ``qa bench diarization`` measured."""

    options: DiarizationBenchOptions
    rows: list[DiarizationRow] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-ready dict (``--json``)."""
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        return {"options": options, "rows": [asdict(row) for row in self.rows]}

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
    return report
