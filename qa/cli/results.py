"""``qa scores`` and ``qa agents``: machine results out of the store, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from calldata import Verdict
from qa.db import open_db
from qa.results import AgentSummary, CallScore, agent_summaries, call_scores

_DB = click.Path(exists=True, dir_okay=False, path_type=Path)


def _console() -> Console:
    """The terminal's width on a terminal; piped, wide enough that no cell wraps."""
    return Console() if sys.stdout.isatty() else Console(width=1000)


def _scores_table(rows: list[CallScore]) -> Table:
    table = Table(
        "call", "start (UTC)", "agent", "lang", "rubric", "score", "pass", "failed", "flags"
    )
    for row in rows:
        failed = [item.id for item in row.items if item.result == Verdict.FAIL]
        table.add_row(
            row.call_id,
            row.start.strftime("%Y-%m-%d %H:%M"),
            row.agent_name or row.agent or "?",
            row.language or "?",
            f"{row.rubric} v{row.rubric_version}",
            f"{row.score:g}/{row.max_score:g}",
            "yes" if row.passed else "NO",
            ", ".join(failed),
            ", ".join(f"{flag.id} ({flag.severity})" for flag in row.flags),
        )
    return table


@click.command()
@click.option("--db", type=_DB, required=True, help="The results store.")
@click.option("--call", "call_id", help="Only this call.")
@click.option("--agent", help="Only this agent (agent id).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per call/rubric.")
def scores(db: Path, call_id: str | None, agent: str | None, as_json: bool) -> None:
    """Show each scored call: score, verdict per item with evidence, flags.

    Example: qa scores --db var/demo.db --json | jq '.items[] | select(.result == "fail")'
    """
    rows = call_scores(open_db(db), call_id=call_id, agent=agent)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.to_json(), ensure_ascii=False))
        return
    if not rows:
        click.echo("no scored calls yet: run qa run first", err=True)
        return
    _console().print(_scores_table(rows))


def _item_ids(summaries: list[AgentSummary]) -> list[str]:
    return sorted({item for summary in summaries for item in summary.item_pass_rates})


def _agent_record(summary: AgentSummary) -> dict[str, object]:
    return {
        "agent": summary.agent,
        "name": summary.name,
        "calls_scored": summary.calls_scored,
        "average_score": round(summary.average_score, 2),
        "pass_rate": round(summary.pass_rate, 4),
        "item_pass_rates": {k: round(v, 4) for k, v in summary.item_pass_rates.items()},
        "critical_failures": summary.critical_failures,
        "complaints": summary.complaints,
    }


def _write_csv(summaries: list[AgentSummary]) -> None:
    items = _item_ids(summaries)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["agent", "name", "calls_scored", "average_score", "pass_rate", "critical_failures",
         "complaints", *(f"pass_rate:{item}" for item in items)]
    )  # fmt: skip
    for s in summaries:
        rates = [
            "" if item not in s.item_pass_rates else f"{s.item_pass_rates[item]:.4f}"
            for item in items
        ]
        writer.writerow(
            [s.agent or "", s.name or "", s.calls_scored, f"{s.average_score:.2f}",
             f"{s.pass_rate:.4f}", s.critical_failures, s.complaints, *rates]
        )  # fmt: skip


def _agents_table(summaries: list[AgentSummary]) -> Table:
    items = _item_ids(summaries)
    table = Table(
        "agent", "calls", "avg score", "pass rate", *items, "critical fails", "complaints"
    )
    for s in summaries:
        rates = [
            f"{s.item_pass_rates[item]:.0%}" if item in s.item_pass_rates else "-" for item in items
        ]
        table.add_row(
            s.label if s.agent is None else f"{s.label} ({s.agent})",
            str(s.calls_scored),
            f"{s.average_score:.1f}",
            f"{s.pass_rate:.0%}",
            *rates,
            str(s.critical_failures),
            str(s.complaints),
        )
    return table


@click.command()
@click.option("--db", type=_DB, required=True, help="The results store.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per agent.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def agents(db: Path, as_json: bool, as_csv: bool) -> None:
    """Per agent: calls scored, average score, pass rate per item, critical failures, complaints.

    Machine results only; reviewer decisions are shown in the review UI.

    Example: qa agents --db var/demo.db --csv > agents.csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    summaries = agent_summaries(open_db(db))
    if as_json:
        for summary in summaries:
            click.echo(json.dumps(_agent_record(summary), ensure_ascii=False))
    elif as_csv:
        _write_csv(summaries)
    elif not summaries:
        click.echo("no scored calls yet: run qa run first", err=True)
    else:
        _console().print(_agents_table(summaries))
