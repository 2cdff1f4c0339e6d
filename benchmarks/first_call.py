"""The fixed costs a worker pays inside its first mono call, each in a fresh process, in CPU
seconds (less inflated by a loaded machine than wall time) and wall seconds: for comparing two
versions of the toolkit in the same minutes.

    .venv/bin/python benchmarks/first_call.py new
    # another version's tree (git archive COMMIT | tar -x -C /tmp/old) first on the path:
    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/first_call.py old

Steps, each after ``import torch, numpy`` (which every worker pays anyway):

* ``diarizer``: import ``asr.diarize`` and load the diarizer's models;
* ``encoder``: load the sentence encoder and encode one turn;
* ``arousal``: measure loudness and pitch of one 5 s turn (``asr.arousal.turn_arousal``).

Prints one line per step: the label, the step, CPU seconds, wall seconds.
"""

from __future__ import annotations

import subprocess
import sys

STEPS = {
    "diarizer": (
        "from asr.diarize import Diarizer\n"
        "from asr.models import default_models_dir\n"
        "Diarizer(default_models_dir())"
    ),
    "encoder": "from sentences import load_encoder\nload_encoder().encode(['How can I help?'])",
    "arousal": (
        "from asr.arousal import turn_arousal\n"
        "from asr.audio import Audio\n"
        "from calldata import Role, Turn\n"
        "wave = (0.1 * numpy.sin(numpy.arange(40000) / 8000 * 2 * numpy.pi * 150))"
        ".astype(numpy.float32)\n"
        "turn = Turn(index=0, speaker='ch0', role=Role.AGENT, start=0.0, end=5.0, text='x',"
        " confidence=1.0)\n"
        "turn_arousal(Audio(channels=(wave,), sample_rate=8000, source=()), [turn])"
    ),
}

TIMED = (
    "import time, torch, numpy\n"
    "cpu, wall = time.process_time(), time.perf_counter()\n"
    "{step}\n"
    "print(round(time.process_time() - cpu, 2), round(time.perf_counter() - wall, 2))\n"
)


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else "this"
    for name, step in STEPS.items():
        result = subprocess.run(
            [sys.executable, "-c", TIMED.format(step=step)],
            capture_output=True,
            text=True,
            check=True,
        )
        cpu, wall = result.stdout.split()[-2:]
        print(f"{label} {name} cpu_s={cpu} wall_s={wall}", flush=True)


if __name__ == "__main__":
    main()
