"""``qa scores`` (machine results per call) and ``qa agents`` (agent performance records, with
reviewers' verdicts winning), as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, tzinfo
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from calldata import Verdict
from qa.cli.export import check_range, date_range_options
from qa.db import open_db
from qa.records.agents import AgentRecord, Period, agent_records
from qa.records.complaints import CaseStatus, sync_complaint_cases
from qa.results.store import CallScore, call_scores

_DB = click.Path(exists=True, dir_okay=False, path_type=Path)


def console() -> Console:
    """The terminal's width on a terminal; piped, wide enough that no cell wraps."""
    return Console() if sys.stdout.isatty() else Console(width=1000)


def scores_table(rows: list[CallScore]) -> Table:
    """The ``qa scores`` table (also ``qa score --table``)."""
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
    console().print(scores_table(rows))


def _item_ids(records: list[AgentRecord]) -> list[str]:
    return sorted({item for record in records for item in record.item_pass_rates})


def _agent_json(record: AgentRecord) -> dict[str, object]:
    return {
        "period": record.period_label,
        "period_start": record.period_start.isoformat() if record.period_start else None,
        "agent": record.agent,
        "name": record.name,
        "calls_scored": record.calls_scored,
        "calls_reviewed": record.calls_reviewed,
        "average_score": round(record.average_score, 2),
        "pass_rate": round(record.pass_rate, 4),
        "item_pass_rates": {k: round(v, 4) for k, v in record.item_pass_rates.items()},
        "critical_failures": record.critical_failures,
        "complaints": record.complaints,
        "complaint_cases": record.complaint_cases,
        "rank": record.rank,
        "team_size": record.team_size,
        "evaluations": record.evaluations,
        "acknowledgement_rate": _rate(record.acknowledgement_rate),
        "appeal_rate": _rate(record.appeal_rate),
        "overturn_rate": _rate(record.overturn_rate),
    }


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _rate_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _write_csv(records: list[AgentRecord]) -> None:
    items = _item_ids(records)
    statuses = [status.value for status in CaseStatus]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["period", "agent", "name", "calls_scored", "calls_reviewed", "average_score",
         "pass_rate", "critical_failures", "complaints",
         *(f"cases:{status}" for status in statuses), "rank", "team_size",
         *(f"pass_rate:{item}" for item in items), "evaluations", "acknowledgement_rate",
         "appeal_rate", "overturn_rate"]
    )  # fmt: skip
    for r in records:
        rates = [
            "" if item not in r.item_pass_rates else f"{r.item_pass_rates[item]:.4f}"
            for item in items
        ]
        writer.writerow(
            [r.period_label, r.agent or "", r.name or "", r.calls_scored, r.calls_reviewed,
             f"{r.average_score:.2f}", f"{r.pass_rate:.4f}", r.critical_failures, r.complaints,
             *(r.complaint_cases.get(status, 0) for status in statuses),
             "" if r.rank is None else r.rank, r.team_size, *rates, r.evaluations,
             _rate_cell(r.acknowledgement_rate), _rate_cell(r.appeal_rate),
             _rate_cell(r.overturn_rate)]
        )  # fmt: skip


def _complaints_cell(record: AgentRecord) -> str:
    if not record.complaints:
        return "0"
    cases = ", ".join(f"{n} {status}" for status, n in record.complaint_cases.items())
    return f"{record.complaints} ({cases})" if cases else str(record.complaints)


def _agents_table(records: list[AgentRecord], by_period: bool) -> Table:
    items = _item_ids(records)
    table = Table(
        *(["period"] if by_period else []), "agent", "calls", "reviewed", "avg score",
        "pass rate", "rank", *items, "critical fails", "complaints",
    )  # fmt: skip
    for r in records:
        rates = [
            f"{r.item_pass_rates[item]:.0%}" if item in r.item_pass_rates else "-" for item in items
        ]
        table.add_row(
            *([r.period_label] if by_period else []),
            r.label if r.agent is None else f"{r.label} ({r.agent})",
            str(r.calls_scored),
            str(r.calls_reviewed),
            f"{r.average_score:.1f}",
            f"{r.pass_rate:.0%}",
            f"{r.rank}/{r.team_size}" if r.rank else "-",
            *rates,
            str(r.critical_failures),
            _complaints_cell(r),
        )
    return table


@click.command()
@click.option("--db", type=_DB, required=True, help="The results store.")
@click.option(
    "--period", type=click.Choice([p.value for p in Period]),
    help="One row per agent and day, week (ISO, from Monday) or month: the trend.",
)  # fmt: skip
@date_range_options
@click.option("--agent", help="Only this agent (id or name); ranks stay team-wide.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]),
    help="table (the default), csv (a header row) or json (one object per line).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--csv", "as_csv", is_flag=True, help="Same as --format csv.")
def agents(
    db: Path,
    period: str | None,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
    fmt: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Per agent (and per period): calls scored and reviewed, average score, pass rate per item,
    critical failures, complaints with their cases' status, and rank within the team. Where a
    reviewer submitted a result for a call, it counts instead of the machine's.

    Example: qa agents --db var/demo.db --period week --since 2026-11-01 --format csv > weeks.csv
    """
    chosen = [f for f, on in (("json", as_json), ("csv", as_csv), (fmt, fmt is not None)) if on]
    if len(set(chosen)) > 1:
        raise click.UsageError("choose one of --json, --csv and --format")
    fmt = chosen[0] if chosen else "table"
    check_range(since, until)
    store = open_db(db)
    sync_complaint_cases(store)  # complaints flagged before cases existed get one now
    records = agent_records(store, period=period, since=since, until=until, agent=agent, tz=tz)
    if fmt == "json":
        for record in records:
            click.echo(json.dumps(_agent_json(record), ensure_ascii=False))
    elif fmt == "csv":
        _write_csv(records)
    elif not records:
        click.echo("no scored calls in this range yet: run qa run first", err=True)
    else:
        console().print(_agents_table(records, by_period=period is not None))
