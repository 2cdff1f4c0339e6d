"""``qa alerts``: send a test alert, check complaint deadlines (cron), send digests, read the log
(see :mod:`qa.alerts`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from qa.alerts import Sent, deliveries, send_digests, send_test_alert, tick
from qa.alerts.store import DeliveryStatus
from qa.cli.export import DB, check_range, date_range_options
from qa.config import Config, ConfigError, load_config
from qa.db import open_db

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def alerts() -> None:
    """Alerts by email and webhook: test a rule, check complaint deadlines, digests, the log.

    Example: qa alerts tick --config site.toml
    """


def _site(config_file: Path | None, db: Path | None) -> Config:
    try:
        config = load_config(config_file).with_overrides({"db": db})
        config.require("db")
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    return config


@contextmanager
def _store(config: Config) -> Iterator[sqlite_utils.Database]:
    store = open_db(config.require("db"))
    try:
        yield store
    finally:
        store.conn.close()


def _report(sent: list[Sent]) -> None:
    for item in sent:
        tries = f"{item.attempts} tr{'y' if item.attempts == 1 else 'ies'}"
        line = f"{item.status.value:<5} {item.channel}: {item.key} ({tries})"
        click.echo(line + (f": {item.error}" if item.status != DeliveryStatus.SENT else ""))
    if not sent:
        click.echo("nothing new to send")


def _config_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--config`` (required: the rules are there) and ``--db`` (default: the config's)."""
    command = click.option("--db", type=_FILE, help="The store (default: db in the config).")(
        command
    )
    return click.option(
        "--config", "config_file", type=_FILE, required=True, help="The site config ([alerts])."
    )(command)


@alerts.command("test")
@click.argument("rule")
@_config_options
def test_command(rule: str, config_file: Path, db: Path | None) -> None:
    """Send one sample alert through each channel of RULE (marked TEST), and record it.

    Example: qa alerts test complaints --config site.toml
    """
    config = _site(config_file, db)
    with _store(config) as store:
        try:
            sent = send_test_alert(store, config.alerts, rule)
        except KeyError as error:
            raise click.ClickException(str(error.args[0])) from None
    _report(sent)
    if any(item.status != DeliveryStatus.SENT for item in sent):
        raise click.exceptions.Exit(1)


@alerts.command("tick")
@_config_options
def tick_command(config_file: Path, db: Path | None) -> None:
    """Check the complaint cases' escalation deadlines and alert on those due or overdue (each
    once). Run it from cron every 15 minutes; the nightly run checks them too.

    Example: */15 * * * *  qa alerts tick --config /etc/callqa/site.toml
    """
    config = _site(config_file, db)
    with _store(config) as store:
        _report(tick(store, config.alerts))


@alerts.command("digest")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Default: yesterday.")
@_config_options
def digest_command(day: datetime | None, config_file: Path, db: Path | None) -> None:
    """Email each supervisor's daily digest ([[alerts.digests]]) for a local day, once.

    Example: qa alerts digest --config site.toml --day 2026-11-20
    """
    config = _site(config_file, db)
    zone = config.zone
    which = day.date() if day else datetime.now(zone).date() - timedelta(days=1)
    with _store(config) as store:
        _report(send_digests(store, config.alerts, which, zone=zone))


def _bound(day: date | None, zone: tzinfo, days: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), time.min, zone).astimezone(UTC)


@alerts.command("log")
@click.option("--db", type=DB, required=True, help="The store qa run writes.")
@date_range_options
@click.option(
    "--status", type=click.Choice([s.value for s in DeliveryStatus]), help="Only these (dead: "
    "the dead letters)."
)  # fmt: skip
@click.option("--rule", help="Only this rule's deliveries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per delivery.")
def log_command(
    db: Path,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    status: str | None,
    rule: str | None,
    as_json: bool,
) -> None:
    """The deliveries made (local days --since/--until, inclusive): rule, channel, event, call,
    status, tries, the last error.

    Example: qa alerts log --db var/demo.db --since 2026-11-20 --json
    """
    check_range(since, until)
    store = open_db(db)
    try:
        found = deliveries(
            store, since=_bound(since, tz), until=_bound(until, tz, 1), status=status, rule=rule
        )
    finally:
        store.conn.close()
    if as_json:
        for item in found:
            click.echo(json.dumps(item.to_json(), ensure_ascii=False))
        return
    if not found:
        click.echo("no deliveries")
        return
    for item in found:
        about = (
            item.call_id
            or (f"case {item.case_id}" if item.case_id else "")
            or (f"run {item.run_id}" if item.run_id else "")
        )
        line = (
            f"{item.created_at[:19]}  {item.status.value:<7}  {item.attempts}  {item.rule:<16}  "
            f"{item.channel:<12}  {item.event:<18}  {about}"
        )
        click.echo(line.rstrip() + (f"  ({item.last_error})" if item.last_error else ""))
