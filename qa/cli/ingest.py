"""``qa ingest``: what a run would take from the PBX's store, or take it now (see
:mod:`qa.ingest`)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from qa.config import ConfigError, load_config
from qa.ingest import (
    Action,
    CdrReadError,
    IngestResult,
    QueueLogReadError,
    SpoolError,
    ingest,
)
from qa.ingest.paths import safe_text, shown
from qa.run.bookkeeping import record_pending

_FILE = click.Path(dir_okay=False, path_type=Path)
_DIR = click.Path(file_okay=False, path_type=Path)
_PATH_FLAGS = ("store", "cdr_csv", "queue_log", "db")


def format_decisions(result: IngestResult) -> str:
    """One line per examined file, then the counts."""
    lines = []
    for decision in result.decisions:
        if decision.action == Action.TAKE:
            who = ", ".join(
                part
                for part in (
                    f"agent {decision.agent}" if decision.agent else "",
                    f"queue {decision.queue}" if decision.queue else "",
                    decision.start.isoformat() if decision.start else "",
                )
                if part
            )
            suffix = f" ({who})" if who else ""
            lines.append(f"take   {shown(decision.path)}: call {decision.call_id}{suffix}")
        else:
            reason = safe_text(decision.reason)
            lines.append(f"{decision.action.value:<6} {shown(decision.path)}: {reason}")
    counts = Counter(decision.action for decision in result.decisions)
    lines.append(
        f"{len(result.decisions)} file(s) examined: {counts[Action.TAKE]} to take "
        f"({len(result.new_call_ids)} new call(s)), {counts[Action.DEFER]} deferred, "
        f"{counts[Action.SKIP]} skipped, {counts[Action.FAIL]} failed; "
        f"{result.known_files} file(s) settled by earlier runs, not examined again"
    )
    return "\n".join(lines)


@click.command(name="ingest")
@click.option("--config", "config_file", type=_FILE, help="TOML config; flags win over it.")
@click.option("--store", type=_DIR, help="The recording store (MixMonitor monitor dir).")
@click.option("--cdr-csv", type=_FILE, help="cdr_csv Master.csv.")
@click.option("--cdr-url", help="FreePBX CDR database, mysql://user:pw@host:3306/asteriskcdrdb.")
@click.option("--queue-log", type=_FILE, help="Asterisk queue_log; rotated copies are read too.")
@click.option("--db", type=_FILE, help="The results store holding the ingest ledger.")
@click.option("--timezone", help="The PBX's time zone, e.g. America/New_York (default UTC).")
@click.option("--min-age-minutes", type=float, help="Defer files modified more recently.")
@click.option("--rescan-days", type=int, help="Recent day folders walked on every run.")
@click.option("--dry-run", is_flag=True, help="Show the decisions; write nothing, create nothing.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per examined file.")
def ingest_command(config_file: Path | None, dry_run: bool, as_json: bool, **flags: Any) -> None:
    """Take the new recordings from the PBX's store, or (--dry-run) show what a run would take,
    defer, skip and fail, with the reasons.

    Without --dry-run the decisions go into the ingest ledger of --db and the new calls are
    recorded there as pending, for qa run to transcribe. Exit status 1 when a file failed (a
    person should look: unreadable, broken, or missing), 0 otherwise.

    Example: qa ingest --config site.toml --db /var/lib/callqa/qa.db --dry-run --json

    Example: qa ingest --store /var/spool/asterisk/monitor --timezone America/New_York --dry-run
    """
    for key in _PATH_FLAGS:
        if flags[key] is not None:
            flags[key] = flags[key].expanduser().resolve()
    try:
        config = load_config(config_file).with_overrides(flags)
        if not dry_run and config.db is None:
            raise ConfigError(
                "db is not set: qa ingest records what it takes in the results store; pass --db "
                "(or set db = ... in the config), or --dry-run to only look"
            )
        result = ingest(config, dry_run=dry_run)
        added = 0 if dry_run else record_pending(config, result)
    except (ConfigError, SpoolError, CdrReadError, QueueLogReadError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        for decision in result.decisions:
            click.echo(json.dumps(decision.to_json(), ensure_ascii=False))
    else:
        click.echo(format_decisions(result))
        if dry_run:
            click.echo("dry run: nothing was written")
        else:
            click.echo(f"{added} call(s) recorded as pending in {config.db}: qa run takes them")
    if any(decision.action == Action.FAIL for decision in result.decisions):
        raise click.exceptions.Exit(1)
