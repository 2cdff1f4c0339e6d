"""The ``qa`` command line: a thin click layer over library calls, one module per command group."""

from __future__ import annotations

import logging

from qa import runtime

# Before the command modules import torch and numpy: see qa/runtime.py for what and why.
runtime.apply()

import click

from qa.cli.alerts import alerts
from qa.cli.appeals import appeals, link_agent_command
from qa.cli.audit import audit
from qa.cli.bench import bench
from qa.cli.calibration import calibration
from qa.cli.coaching import coaching
from qa.cli.export import export
from qa.cli.ingest import ingest_command
from qa.cli.models import models
from qa.cli.rescore import rescore
from qa.cli.results import agents, scores
from qa.cli.rubric_stats import stats as rubric_stats
from qa.cli.rubrics import rubrics
from qa.cli.run import run
from qa.cli.runs import runs
from qa.cli.sampling import sampling
from qa.cli.score import score
from qa.cli.search import search_command
from qa.cli.serve import serve
from qa.cli.transcribe import transcribe
from qa.cli.users import users
from qa.db import StoreError


class _Main(click.Group):
    """The ``qa`` group: a store that cannot be used is one line naming the file and the fix,
    whatever the command (never a traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except StoreError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
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
    score,
    search_command,
    agents,
    export,
    audit,
    models,
    rubrics,
    serve,
    users,
    appeals,
    calibration,
    coaching,
    sampling,
    transcribe,
    bench,
    alerts,
):
    main.add_command(command)
users.add_command(link_agent_command)  # in qa.cli.appeals: agents as users came with appeals
rubrics.add_command(rubric_stats)  # in qa.cli.rubric_stats: the stats read the store
