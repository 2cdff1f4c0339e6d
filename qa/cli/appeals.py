"""``qa appeals``: agents' appeals of their evaluations and how they were settled, as a table,
JSON or CSV; and ``qa users link-agent``, which links a user of role agent to an agent."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, tzinfo
from pathlib import Path

import click
from rich.table import Table

from qa.access.agent_links import link_agent
from qa.access.users import UserError
from qa.cli.export import DB, check_range, date_range_options
from qa.cli.results import console
from qa.db import open_db
from qa.review.appeals import Appeal, AppealStatus, list_appeals

_CSV_COLUMNS = ("appeal_id", "call_id", "agent", "opened_by", "rubric_id", "item_id", "round",
                "status", "verdict_before", "verdict_sought", "comment", "opened_at",
                "decided_by", "decided_at", "decision_comment")  # fmt: skip


def output_format(as_json: bool, as_csv: bool) -> str:
    """``json``, ``csv`` or ``table`` from the ``--json``/``--csv`` flags (one at most)."""
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    return "json" if as_json else "csv" if as_csv else "table"


def _table(appeals: list[Appeal]) -> Table:
    table = Table("#", "opened (UTC)", "call", "agent", "item", "round", "asked", "status",
                  "decided by", "comment", "decision")  # fmt: skip
    for a in appeals:
        table.add_row(
            str(a.appeal_id), a.opened_at.strftime("%Y-%m-%d %H:%M"), a.call_id, a.agent,
            a.target, str(a.round), f"{a.verdict_before.value} → {a.verdict_sought.value}",
            a.status.value, a.decided_by or "-", a.comment, a.decision_comment,
        )  # fmt: skip
    return table


@click.command("appeals")
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--status", type=click.Choice([s.value for s in AppealStatus]), help="Only these.")
@click.option("--agent", help="Only this agent's calls (id or name).")
@date_range_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per appeal.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def appeals(
    db: Path,
    status: str | None,
    agent: str | None,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Agents' appeals of evaluation items (opened on local days --since..--until): who asked for
    which verdict and why, and who upheld or overturned it. Agents appeal in the review app
    (My evaluations tab); supervisors settle them in the Appeals tab.

    Example: qa appeals --db var/demo.db --status open --csv > open-appeals.csv
    """
    fmt = output_format(as_json, as_csv)
    check_range(since, until)
    found = list_appeals(open_db(db), status=status, agent=agent, since=since, until=until, tz=tz)
    if fmt == "json":
        for appeal in found:
            click.echo(json.dumps(appeal.to_json(), ensure_ascii=False))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, _CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for appeal in found:
            writer.writerow(appeal.to_json())
    elif not found:
        click.echo("no appeals match", err=True)
    else:
        console().print(_table(found))


@click.command("link-agent")
@click.argument("username")
@click.argument("agent")
@click.option("--db", type=DB, required=True, help="The results store.")
def link_agent_command(username: str, agent: str, db: Path) -> None:
    """Link USERNAME (role agent) to AGENT, the identity calls carry: the agent id of the
    directory (the extension) or the queue member name. They then see their own calls and
    evaluations in the review app, and nothing else.

    Example: qa users link-agent alice 1001 --db var/demo.db
    """
    try:
        link_agent(open_db(db), username, agent)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"linked {username} to agent {agent}")
