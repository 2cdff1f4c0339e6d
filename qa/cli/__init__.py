"""The ``qa`` command line: a thin click layer over library calls, one module per command group."""

from __future__ import annotations

import logging
import os

# Set before anything imports torch: call data never leaves the machine (no pyannote telemetry,
# no hub lookups), and torch's OpenMP threads wait passively instead of spinning, which otherwise
# slows diarization ~30x when the cores are shared (measured: 92 s instead of 2.6 s).
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# numpy's OpenBLAS sums in a thread-count-dependent order, and Whisper's features go through it:
# measured, a transcript differed between OPENBLAS_NUM_THREADS=1 and 2. One BLAS thread makes a
# call's result the same in every process layout (one process, workers, Ray actors).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from qa.cli.audit import audit
from qa.cli.bench import bench
from qa.cli.export import export
from qa.cli.ingest import ingest_command
from qa.cli.models import models
from qa.cli.rescore import rescore
from qa.cli.results import agents, scores
from qa.cli.rubrics import rubrics
from qa.cli.run import run
from qa.cli.runs import runs
from qa.cli.serve import serve
from qa.cli.transcribe import transcribe
from qa.cli.users import users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="callqa")
def main(verbose: int) -> None:
    """Speech analytics and QA for call centers: from an Asterisk/FreePBX recording store to
    scored calls and a review UI.

    Example: qa run --store /var/spool/asterisk/monitor --db qa.db
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


for command in (
    ingest_command,
    run,
    runs,
    rescore,
    scores,
    agents,
    export,
    audit,
    models,
    rubrics,
    serve,
    users,
    transcribe,
    bench,
):
    main.add_command(command)
