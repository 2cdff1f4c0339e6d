"""``qa sampling report``: what the site's sampling plan (``[sampling]`` in the config) draws per
agent and day, per tier and reviewer, and what is left to review; as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import click
from rich.table import Table

from qa.cli.appeals import output_format
from qa.cli.export import DB, check_range
from qa.cli.results import console
from qa.config import ConfigError, load_config
from qa.db import open_db
from qa.review.sampling import TIERS, draw_plan, plan_summary

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def sampling() -> None:
    """The site's sampling plan: which scored calls it draws for review.

    Example: qa sampling report --config samples/demo.toml --db var/demo.db
    """


@sampling.command()
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--config", "config_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The site's TOML config: its [sampling] plan and time zone.")  # fmt: skip
@click.option("--since", type=_DATE, help="First local day to include (YYYY-MM-DD).")
@click.option("--until", type=_DATE, help="Last local day to include (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per drawn call.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per drawn call.")
def report(
    db: Path,
    config_file: Path,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Per agent and local day: the scored calls, what the plan drew (daily share, the minimum
    per agent and day, extra checks after a failed one, the weekly second tier), how many of
    those were reviewed and how many are left; and each reviewer's share of the draw by quota.
    The draw is reproducible: the same plan and seed over the same calls draw the same.

    Example: qa sampling report --config samples/demo.toml --db var/demo.db --since 2026-11-20
    """
    fmt = output_format(as_json, as_csv)
    first: date | None = since.date() if since else None
    last: date | None = until.date() if until else None
    check_range(first, last)
    try:
        config = load_config(config_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_db(db)
    draws = draw_plan(store, config.sampling, since=first, until=last, tz=config.zone)
    if fmt == "json":
        for d in draws:
            click.echo(json.dumps(d.to_json(), ensure_ascii=False))
        return
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, ["day", "agent", "call_id", "tier", "reviewer",
                                             "reviewed"], lineterminator="\n")  # fmt: skip
        writer.writeheader()
        for d in draws:
            writer.writerow(d.to_json())
        return
    rows = plan_summary(store, draws, since=first, until=last, tz=config.zone)
    if not rows:
        click.echo("no scored calls in this range: run qa run first", err=True)
        return
    table = Table("day", "agent", "calls", *TIERS, "drawn", "reviewed", "left")
    for r in rows:
        table.add_row(r.day.isoformat(), r.agent, str(r.calls), *(str(r.drawn[t]) for t in TIERS),
                      str(sum(r.drawn.values())), str(r.reviewed), str(r.left))  # fmt: skip
    console().print(table)
    takers = Counter(d.reviewer or "(nobody: beyond the quotas)" for d in draws)
    click.echo("taken: " + ", ".join(f"{name} {n}" for name, n in sorted(takers.items())))
