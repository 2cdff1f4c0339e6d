"""CPU-seconds of the mono diarizer on the sample store's mono calls, models loaded: a figure that
a loaded machine inflates less than wall-clock time, for comparing two versions of ``asr`` in the
same minutes.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/diarize_cpu.py new
    # another version's asr/ (git archive COMMIT asr | tar -x -C /tmp/old) first on the path:
    OMP_NUM_THREADS=1 PYTHONPATH=/tmp/old:. .venv/bin/python benchmarks/diarize_cpu.py old

One 5 s warm-up call stays out of the figure; then ``time.process_time()`` around diarizing each
mono recording of ``samples/expected.json`` (8 kHz, 162 s in all). Prints one line: the label,
the diarizer's window step, audio seconds, CPU seconds, wall seconds.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from asr import load_audio
from asr.diarize import Diarizer
from asr.models import default_models_dir

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
RATE = 8000


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "this"
    calls = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))["calls"]
    paths = [
        SAMPLES / "store" / "monitor" / call["recordings"][0]
        for call in calls
        if call["layout"] == "mono"
    ]
    audios = [load_audio(path, sample_rate=RATE).channels[0] for path in paths]
    diarizer = Diarizer(default_models_dir())
    diarizer(audios[0][: 5 * RATE], RATE)
    cpu, wall = time.process_time(), time.perf_counter()
    for audio in audios:
        diarizer(audio, RATE)
    print(
        label,
        "step",
        diarizer.segmentation_step,
        "audio_s",
        round(sum(len(a) for a in audios) / RATE, 1),
        "cpu_s",
        round(time.process_time() - cpu, 2),
        "wall_s",
        round(time.perf_counter() - wall, 2),
    )


if __name__ == "__main__":
    main()
