"""The daily digest: one email per supervisor with the day's alerts about their agents and the
complaint cases of theirs that are overdue now. Sent once per supervisor and day
(key ``digest/NAME/DAY``), by ``qa alerts digest`` from cron after the nightly run."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import sqlite_utils

from qa.alert_config import AlertSettings, Channel, DigestSettings
from qa.alerts.dispatch import Dispatcher, Sent
from qa.alerts.store import Delivery, claim, deliveries
from qa.records.complaints import overdue_cases

DIGEST_EVENT = "digest"


def _agents(settings: AlertSettings, digest: DigestSettings) -> set[str] | None:
    """The digest's agent ids (None: every agent)."""
    wanted = set(digest.agents) | settings.team_agents(digest.teams)
    return wanted or None


def digest_text(
    settings: AlertSettings,
    digest: DigestSettings,
    day: date,
    alerts: list[Delivery],
    overdue: list[str],
) -> str:
    """The digest's plain text: counts by event, one line per alert, the overdue cases."""
    seen: dict[str, Delivery] = {}
    for delivery in alerts:  # one line per event, whatever the number of channels
        seen.setdefault(delivery.event_key, delivery)
    counts = Counter(d.event for d in seen.values())
    lines = [f"Call QA digest for {digest.name}, {day.isoformat()}", ""]
    if not seen:
        lines.append("No alerts about your agents today.")
    else:
        lines.append(", ".join(f"{count} {event}" for event, count in sorted(counts.items())))
        lines.append("")
        for delivery in seen.values():
            body = delivery.payload
            who = body.get("agent_name") or body.get("agent") or ""
            lines.append(
                f"- {body.get('at', '')} {body.get('title', '')}"
                + (f" — call {body['call_id']}" if body.get("call_id") else "")
                + (f", {who}" if who else "")
                + f" {body.get('link', '')}"
            )
    if overdue:
        lines += ["", "Complaint cases overdue now:"] + [f"- {line}" for line in overdue]
    lines += ["", f"Review app: {settings.review_url}"]
    return "\n".join(lines) + "\n"


def send_digests(
    db: sqlite_utils.Database,
    settings: AlertSettings,
    day: date,
    *,
    zone: ZoneInfo | None = None,
    dispatcher: Dispatcher | None = None,
) -> list[Sent]:
    """Send each supervisor's digest for ``day`` (a local day in ``zone``), once."""
    zone = zone or ZoneInfo("UTC")
    dispatcher = dispatcher or Dispatcher(db, settings)
    start = datetime.combine(day, datetime.min.time(), zone)
    end = start + timedelta(days=1)
    sent = []
    for digest in settings.digests:
        agents = _agents(settings, digest)
        alerts = [
            d for d in deliveries(db, since=start, until=end, agents=agents)
            if d.event != DIGEST_EVENT and not d.event_key.startswith("test:")
        ]  # fmt: skip
        overdue = [
            f"case {late.case.case_id} (call {late.case.call_id}, {late.case.agent_label}): "
            f"{late.escalation.description}"
            for late in overdue_cases(db, end.astimezone(UTC))
            if agents is None or late.case.agent in agents
        ]
        key = f"digest/{digest.name}/{day.isoformat()}"
        body = {
            "rule": f"digest:{digest.name}",
            "event": DIGEST_EVENT,
            "event_key": f"digest:{digest.name}:{day.isoformat()}",
            "alerts": len({d.event_key for d in alerts}),
            "overdue_cases": len(overdue),
        }
        delivery_id = claim(db, key, body, f"digest:{digest.name}")
        if delivery_id is None:
            continue
        channel = Channel(kind="email", to=digest.to)
        text = digest_text(settings, digest, day, alerts, overdue)
        title = f"[callqa] Daily digest {day.isoformat()}: {body['alerts']} alert(s)"
        try_once = partial(dispatcher.send_text, channel, key, title, text)
        sent.append(dispatcher.send(delivery_id, key, f"digest:{digest.name}", channel, try_once))
    return sent
