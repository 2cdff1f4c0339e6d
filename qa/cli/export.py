"""``qa export``: scorecards, reviews, complaints and the do-not-disturb list as CSV or JSON.

The options every records command shares (``--since``, ``--until``, ``--timezone``; ``-o`` and
``--unmasked``) live here too, so ``qa agents`` and ``qa audit`` read them the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from qa.db import open_db
from qa.records.complaints import sync_complaint_cases
from qa.records.export import ExportKind, ExportTable, export_table

DB = click.Path(exists=True, dir_okay=False, path_type=Path)
_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _zone(ctx: click.Context, param: click.Parameter, value: str) -> tzinfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"unknown time zone {value!r}: use an IANA name like 'America/New_York'"
        ) from None


def _day(ctx: click.Context, param: click.Parameter, value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def date_range_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--since``, ``--until`` (local days, inclusive) and ``--timezone`` (the site's zone)."""
    command = click.option(
        "--timezone", "tz", default="UTC", show_default=True, callback=_zone,
        help="The site's time zone: days, weeks and months are local ones.",
    )(command)  # fmt: skip
    command = click.option(
        "--until", type=_DATE, callback=_day, help="Last day to include (YYYY-MM-DD)."
    )(command)
    return click.option(
        "--since", type=_DATE, callback=_day, help="First day to include (YYYY-MM-DD)."
    )(command)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output`` (a file instead of stdout) and ``--unmasked`` (personal numbers as
    transcribed), for every command that writes records out."""
    command = click.option(
        "--unmasked", is_flag=True,
        help="Keep ID-card, bank-card and phone numbers as transcribed. For auditors only: the "
        "output then holds personal data.",
    )(command)  # fmt: skip
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
        help="Write CSV or JSON to this file instead of stdout.",
    )(command)  # fmt: skip


def check_range(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise click.BadParameter(f"--since {since} is after --until {until}", param_hint="--since")


def write_table(table: ExportTable, fmt: str, output: Path | None) -> None:
    """The table as CSV or JSON, to ``output`` or stdout."""
    if output is None:
        (table.write_csv if fmt == "csv" else table.write_json)(sys.stdout)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as stream:
        (table.write_csv if fmt == "csv" else table.write_json)(stream)
    click.echo(f"wrote {len(table.records)} {table.kind.value} row(s) to {output}", err=True)


@click.command("export")
@click.argument("kind", type=click.Choice([kind.value for kind in ExportKind]))
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@date_range_options
@click.option("--agent", help="Only this agent's calls (id or name).")
@output_options
def export(
    kind: str,
    db: Path,
    fmt: str,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
    output: Path | None,
    unmasked: bool,
) -> None:
    """Export scorecards, reviews, complaints, dnd (do-not-disturb list) or identity (the
    identity-verification audit) as CSV or JSON. Personal numbers are masked unless --unmasked.

    scorecards: one row per call, rubric and item, the reviewer's verdict winning; reviews: one
    row per item decision; complaints: cases with owner, status and escalation; dnd: customers
    who asked not to be called, with the kind of call refused.

    Example: qa export scorecards --db var/demo.db --since 2026-11-01 --format csv -o nov.csv
    """
    check_range(since, until)
    store = open_db(db)
    if kind == ExportKind.COMPLAINTS:
        sync_complaint_cases(store)  # complaints flagged before cases existed get one now
    table = export_table(
        store, kind, since=since, until=until, agent=agent, masked=not unmasked, tz=tz
    )
    write_table(table, fmt, output)
