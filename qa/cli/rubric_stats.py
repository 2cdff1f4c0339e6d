"""``qa rubrics stats``: how often reviewers agreed with each rule of the machine, per rubric
version: decisions, fail and pass precision, the rules to trust or to fix, and the calls behind;
and per flag, reviewers' confirmations, rejections and additions, with its precision."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, tzinfo
from pathlib import Path

import click
from rich.table import Table

from qa.cli.appeals import output_format
from qa.cli.export import DB, check_range, date_range_options
from qa.cli.results import console
from qa.config import AgreementSettings, ConfigError, load_config
from qa.db import open_db
from qa.review.agreement import FlagAgreement, RuleAgreement, flag_agreement, rule_agreement

_CSV_COLUMNS = ("rubric_id", "rubric_version", "item_id", "decisions", "confirmed", "rejected",
                "overridden", "machine_fail", "fail_kept", "fail_precision", "machine_pass",
                "pass_kept", "pass_precision", "agreement", "status", "false_fail_calls",
                "false_pass_calls")  # fmt: skip


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _table(rules: list[RuleAgreement], flags: list[FlagAgreement]) -> Table:
    table = Table("rule", "version", "decisions", "confirmed", "rejected", "overridden",
                  "fail precision", "pass precision", "status", "false fails (calls)")  # fmt: skip
    for r in rules:
        table.add_row(
            r.rule, r.rubric_version, str(r.decisions), str(r.confirmed), str(r.rejected),
            str(r.overridden), f"{_percent(r.fail_precision)} of {r.machine_fail}",
            f"{_percent(r.pass_precision)} of {r.machine_pass}", r.status or "-",
            ", ".join(r.calls.get("false_fail", ())),
        )  # fmt: skip
    for f in flags:
        # a flag's "fail precision" is its precision: raises reviewers confirmed; the added
        # ones (the machine missed them) stand in the "overridden" column, as "+N added"
        table.add_row(
            f.flag, f.rubric_version, str(f.decided), str(f.confirmed), str(f.rejected),
            f"+{f.added} added", f"{_percent(f.precision)} of {f.decided}",
            f"raised on {f.raised}", f.status or "-", ", ".join(f.calls.get("rejected", ())),
        )  # fmt: skip
    return table


def _csv_row(rule: RuleAgreement) -> dict[str, object]:
    row = rule.to_json()
    calls = row.pop("calls")
    assert isinstance(calls, dict)
    row["false_fail_calls"] = " ".join(calls.get("false_fail", []))
    row["false_pass_calls"] = " ".join(calls.get("false_pass", []))
    return row


@click.command("stats")
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option(
    "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The site's TOML config: its [agreement] settings mark rules trusted or for attention.",
)  # fmt: skip
@click.option("--rubric", help="Only this rubric id.")
@click.option("--agent", help="Only this agent's calls (id or name).")
@date_range_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per rule, with "
              "the calls behind each number; then one per flag (precision, recall).")  # fmt: skip
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, one row per rule.")
def stats(
    db: Path,
    config_file: Path | None,
    rubric: str | None,
    agent: str | None,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Per rubric item and version, over every submitted review: how often reviewers confirmed,
    rejected or overrode the machine, the precision of its fails (the share reviewers kept) and
    passes, which rules are trusted or need attention ([agreement] settings), and the calls
    behind the false fails. Flags: how often each was raised on reviewed calls, confirmed,
    rejected (the calls listed) or added by reviewers where the machine missed it, and the
    precision of its raises, marked trusted or attention like rules.

    Example: qa rubrics stats --db var/demo.db --config samples/demo.toml --since 2026-11-01
    """
    fmt = output_format(as_json, as_csv)
    check_range(since, until)
    try:
        settings = load_config(config_file).agreement if config_file else AgreementSettings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_db(db)
    rules = rule_agreement(
        store, settings=settings, rubric=rubric, agent=agent, since=since, until=until, tz=tz
    )
    flags = flag_agreement(
        store, settings=settings, rubric=rubric, agent=agent, since=since, until=until, tz=tz
    )
    if fmt == "json":
        for rule in rules:
            click.echo(json.dumps({"kind": "item", **rule.to_json()}, ensure_ascii=False))
        for f in flags:
            click.echo(json.dumps({"kind": "flag", **f.to_json()}, ensure_ascii=False))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, _CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for rule in rules:
            writer.writerow(_csv_row(rule))
    elif not rules and not flags:
        click.echo("no submitted reviews match: review calls in qa serve first", err=True)
    else:
        console().print(_table(rules, flags))
