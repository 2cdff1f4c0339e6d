"""When alerts are looked for: after the nightly run, on each cron tick, and on request.

* :func:`check_calls` — the stored results of some calls.
* :func:`after_run` — the run's calls (flags, critical items, regulator threats, do-not-disturb),
  the run's own outcome, the complaint case deadlines and the appeals waiting for a decision;
  ``qa run`` calls it once the run is recorded.
* :func:`run_not_started` — a run that could not start.
* :func:`tick` — the complaint case deadlines and waiting appeals (``qa alerts tick``, every 15
  minutes from cron).
* :func:`send_test_alert` — one made-up event through a rule's channels (``qa alerts test RULE``).

Each returns what was sent now; everything found before is recognised by its key and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

from qa.alert_config import AlertSettings
from qa.alerts.dispatch import Dispatcher, Sent
from qa.alerts.events import (
    appeal_events,
    call_events,
    calls_of_run,
    case_events,
    run_events,
    run_not_started_event,
    sample_event,
)
from qa.config import Config
from qa.db import open_db

log = logging.getLogger(__name__)


def check_calls(
    db: sqlite_utils.Database,
    settings: AlertSettings,
    call_ids: Iterable[str],
    *,
    dispatcher: Dispatcher | None = None,
) -> list[Sent]:
    """Alerts for these calls' stored results (flags, critical items, regulator threats,
    do-not-disturb requests)."""
    if not settings.rules:
        return []
    events = call_events(db, call_ids, settings)
    return (dispatcher or Dispatcher(db, settings)).dispatch(events)


def after_run(
    db: sqlite_utils.Database,
    settings: AlertSettings,
    run_id: int,
    *,
    now: datetime | None = None,
    dispatcher: Dispatcher | None = None,
) -> list[Sent]:
    """Alerts for a finished (or crashed) run: its calls, its outcome, the case deadlines."""
    if not settings.rules:
        return []
    events = call_events(db, calls_of_run(db, run_id), settings)
    events += run_events(db, run_id)
    events += case_events(db, settings, now)
    events += appeal_events(db, settings, now)
    return (dispatcher or Dispatcher(db, settings)).dispatch(events)


def run_not_started(
    db: sqlite_utils.Database, settings: AlertSettings, reason: str, *, now: datetime | None = None
) -> list[Sent]:
    """``run_failed`` for a run that could not start (once a day per reason)."""
    if not settings.rules:
        return []
    return Dispatcher(db, settings).dispatch([run_not_started_event(reason, now)])


def tick(
    db: sqlite_utils.Database,
    settings: AlertSettings,
    *,
    now: datetime | None = None,
    dispatcher: Dispatcher | None = None,
) -> list[Sent]:
    """The complaint cases' escalation deadlines as of ``now`` (due soon, or overdue), and the
    appeals that have waited too long for a decision."""
    if not settings.rules:
        return []
    events = case_events(db, settings, now) + appeal_events(db, settings, now)
    return (dispatcher or Dispatcher(db, settings)).dispatch(events)


def send_test_alert(
    db: sqlite_utils.Database, settings: AlertSettings, rule_id: str, *, now: datetime | None = None
) -> list[Sent]:
    """Send one sample of the rule's first event through each of its channels (filters are not
    applied; the message says it is a test). Raises KeyError for an unknown rule."""
    rule = settings.rule(rule_id)
    return Dispatcher(db, settings).deliver(rule, sample_event(rule.events[0], now))


def alert_after_run(config: Config, run_id: int | None) -> None:
    """What ``qa run`` calls once the run is recorded (``None``: the run raised; its record, the
    latest, says crashed). A failure to alert is logged, never the run's failure."""
    if not config.alerts.rules or config.db is None:
        return
    try:
        db = open_db(config.db)
        try:
            if run_id is None:
                run_id = db.execute("select max(run_id) from runs").fetchone()[0]
            if run_id is not None:
                after_run(db, config.alerts, run_id)
        finally:
            db.conn.close()
    except Exception:
        log.exception("alerts after run %s could not be sent", run_id)


def alert_not_started(config: Config, reason: str) -> None:
    """What ``qa run`` calls when the run could not start; logged, never raised."""
    if not config.alerts.rules or config.db is None:
        return
    try:
        db = open_db(config.db)
        try:
            run_not_started(db, config.alerts, reason)
        finally:
            db.conn.close()
    except Exception:
        log.exception("the run-failed alert could not be sent")
