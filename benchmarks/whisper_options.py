"""CPU-seconds and errors of Whisper base on the sample store's mono calls (162 s), 1 thread:
the sequential decoder (the CPU default) against faster-whisper's BatchedInferencePipeline over
VAD chunks (``batch_size`` > 0), for the per-core batch target (docs/benchmarks.md, "Mono calls").

    .venv/bin/python benchmarks/whisper_options.py 0 8      # batch sizes to compare

Each line: the batch size, CPU and wall seconds for the three calls, and the errors against each
call's script (word edit distance for English, character for Mandarin; language given, no
hotwords).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from asr import load_call_audio
from asr.models import default_models_dir
from asr.transcribe import TranscribeOptions, Transcriber
from qa.bench.dialogue import load_scripts
from qa.bench.text import edit_distance, tokens

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def main() -> None:
    expected = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
    calls = [c for c in expected["calls"] if c["layout"] == "mono"]
    scripts = load_scripts(SAMPLES / "calls.yaml")
    monitor = SAMPLES / "store" / "monitor"
    audio = {
        c["key"]: load_call_audio(
            [monitor / r for r in c["recordings"]], sample_rate=16000
        ).mixdown()
        for c in calls
    }
    for batch in [int(arg) for arg in sys.argv[1:]] or [0]:
        options = TranscribeOptions(batch_size=batch)
        model = Transcriber(default_models_dir() / "whisper-base", cpu_threads=1, options=options)
        model.transcribe(audio[calls[0]["key"]][: 5 * 16000], language="en")  # warm-up
        cpu, wall, errors = time.process_time(), time.perf_counter(), []
        for call in calls:
            found = model.transcribe(audio[call["key"]], language=call["language"])
            heard = tokens(" ".join(s.text for s in found.segments), call["language"])
            said = tokens(" ".join(line.text for line in scripts[call["key"]]), call["language"])
            errors.append(edit_distance(said, heard))
        print(
            f"batch_size={batch} cpu_s={time.process_time() - cpu:.1f} "
            f"wall_s={time.perf_counter() - wall:.1f} errors={errors}",
            flush=True,
        )


if __name__ == "__main__":
    main()
