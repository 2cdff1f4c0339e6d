"""``qa audit identity``: was identity verified before each transaction? With the evidence."""

from __future__ import annotations

import sys
from datetime import UTC, date, tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qa.cli.export import DB, check_range, date_range_options, output_options, write_table
from qa.db import open_db
from qa.records.export import ExportKind, export_table
from qa.records.identity_audit import IdentityCheck, identity_audit


@click.group()
def audit() -> None:
    """Compliance audits over the scored calls.

    Example: qa audit identity --db var/demo.db --since 2026-11-01
    """


def _quote(check: IdentityCheck, which: str) -> str:
    evidence = check.transaction if which == "transaction" else check.verification
    if not evidence:
        return "-"
    first = evidence[0]
    minutes, seconds = divmod(int(first.start), 60)
    more = f" (+{len(evidence) - 1} more)" if len(evidence) > 1 else ""
    return f"{minutes}:{seconds:02d} {first.speaker.value}: “{first.text.strip()}”{more}"


def _table(checks: list[IdentityCheck]) -> Table:
    table = Table("call", "start (UTC)", "agent", "finding", "transaction", "verification",
                  "machine", "reviewer")  # fmt: skip
    for check in checks:
        decision = check.decision
        table.add_row(
            check.call_id,
            check.start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            check.agent_name or check.agent or "?",
            ("OK: " if check.verified_before else "NO: ") + check.finding,
            _quote(check, "transaction"),
            _quote(check, "verification"),
            check.machine_result.value,
            f"{decision.decision.value} by {decision.reviewer}" if decision else "not reviewed",
        )
    return table


@audit.command()
@click.option("--db", type=DB, required=True, help="The results store.")
@date_range_options
@click.option("--agent", help="Only this agent (id or name).")
@click.option(
    "--rubrics", "rubrics_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The rubrics folder the calls were scored with (default: the shipped rubrics/).",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
    show_default=True,
)  # fmt: skip
@output_options
def identity(
    db: Path,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
    rubrics_dir: Path | None,
    fmt: str,
    output: Path | None,
    unmasked: bool,
) -> None:
    """For every call with a transaction: whether identity was verified before it, with the
    quotes and times of the transaction and of the verification, and the reviewer's decision.
    Exit status 0; calls not verified before their transaction are marked NO.

    Example: qa audit identity --db var/demo.db --since 2026-11-01 --format csv -o id.csv
    """
    check_range(since, until)
    store = open_db(db)
    if fmt != "table":
        table = export_table(
            store, ExportKind.IDENTITY, since=since, until=until, agent=agent,
            masked=not unmasked, tz=tz, rubrics_dir=rubrics_dir,
        )  # fmt: skip
        write_table(table, fmt, output)
        return
    if output is not None:
        raise click.UsageError("-o needs --format csv or json")
    checks = identity_audit(
        store, since=since, until=until, agent=agent, masked=not unmasked, tz=tz,
        rubrics_dir=rubrics_dir,
    )  # fmt: skip
    if not checks:
        click.echo("no scored call with a transaction in this range", err=True)
        return
    console = Console() if sys.stdout.isatty() else Console(width=1000)
    console.print(_table(checks))
    missed = sum(not check.verified_before for check in checks)
    click.echo(f"{len(checks)} call(s) with a transaction; {missed} not verified before it")
