"""Events through the rules to the channels, each delivery claimed, tried, retried and recorded.

The idempotency key of a delivery is ``RULE/CHANNEL/EVENT-KEY``: finding the same event again (a
re-run, the next tick) claims nothing new, so nothing is sent twice. A failing channel is tried
``attempts`` times, waiting ``backoff_seconds`` before the second try and twice as long before
each next one; after the last failure the delivery is the dead letter (``status = dead``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import sqlite_utils

from qa.alert_config import SEVERITY_ORDER, AlertRule, AlertSettings, Channel, EventKind
from qa.alerts.channels import DeliveryError, post_webhook, send_email
from qa.alerts.events import AlertEvent
from qa.alerts.message import email_message, email_text, payload, subject
from qa.alerts.store import DeliveryStatus, claim, record_try

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """What became of one delivery this time."""

    key: str
    channel: str
    status: DeliveryStatus
    attempts: int
    error: str = ""


def _severity(level: str) -> int:
    return SEVERITY_ORDER.index(level) if level in SEVERITY_ORDER else 1


def matches(rule: AlertRule, event: AlertEvent, settings: AlertSettings) -> bool:
    """Whether the rule takes the event: its kind, severity at least ``min_severity``, and every
    filter the rule sets (``flags`` applies to ``flag`` events; an event without a queue, agent
    or rubric, such as a run's, passes no filter on it)."""
    if event.kind not in rule.events or _severity(event.severity) < _severity(rule.min_severity):
        return False
    if rule.flags and event.kind is EventKind.FLAG and event.flag not in rule.flags:
        return False
    if rule.queues and event.queue not in rule.queues:
        return False
    if rule.agents and not {event.agent, event.agent_name} & set(rule.agents):
        return False
    if rule.teams and event.agent not in settings.team_agents(rule.teams):
        return False
    return not (rule.rubrics and event.rubric not in rule.rubrics)


def delivery_key(rule: AlertRule, channel: str, event: AlertEvent) -> str:
    return f"{rule.id}/{channel}/{event.key}"


class Dispatcher:
    """Sends alerts for one site's settings into one store::

    sent = Dispatcher(db, config.alerts).dispatch(events)
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        settings: AlertSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db, self.settings, self.sleep = db, settings, sleep

    def dispatch(self, events: Iterable[AlertEvent]) -> list[Sent]:
        """Deliver every event to the channels of every rule that takes it (once per key)."""
        sent = []
        for event in events:
            for rule in self.settings.rules:
                if matches(rule, event, self.settings):
                    sent += self.deliver(rule, event)
        return sent

    def deliver(self, rule: AlertRule, event: AlertEvent) -> list[Sent]:
        """Deliver one event through each of the rule's channels, unless delivered already."""
        done = []
        for name in rule.channels:
            key = delivery_key(rule, name, event)
            body = payload(self.settings, rule, event, key)
            delivery_id = claim(self.db, key, body, name)
            if delivery_id is None:
                continue
            channel = self.settings.channels[name]
            try_once = partial(self._send_once, channel, key, body)
            done.append(self.send(delivery_id, key, name, channel, try_once))
        return done

    def send(
        self,
        delivery_id: int,
        key: str,
        name: str,
        channel: Channel,
        try_once: Callable[[], None],
    ) -> Sent:
        """Call ``try_once`` until the channel takes the message or the tries run out (it raises
        DeliveryError on a failed try); record each try."""
        error = ""
        for attempt in range(1, channel.attempts + 1):
            try:
                try_once()
            except DeliveryError as failure:
                error = str(failure)
                last = attempt == channel.attempts
                status = DeliveryStatus.DEAD if last else DeliveryStatus.SENDING
                record_try(self.db, delivery_id, attempt, error, status)
                if last:
                    log.error("alert %s: dead letter after %d tries: %s", key, attempt, error)
                    return Sent(key, name, status, attempt, error)
                log.warning("alert %s: try %d failed: %s", key, attempt, error)
                self.sleep(channel.backoff_seconds * 2 ** (attempt - 1))
                continue
            record_try(self.db, delivery_id, attempt, error, DeliveryStatus.SENT)
            log.info("alert %s sent (try %d)", key, attempt)
            return Sent(key, name, DeliveryStatus.SENT, attempt, error)
        raise AssertionError("unreachable: attempts is at least 1")

    def _send_once(self, channel: Channel, key: str, body: dict[str, object]) -> None:
        if channel.kind == "webhook":
            data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode()
            post_webhook(channel, data, key, str(body["event"]))
            return
        self.send_text(channel, key, subject(body), email_text(body))

    def send_text(self, channel: Channel, key: str, title: str, text: str) -> None:
        """One try at an email through the site's mail server."""
        smtp = self.settings.smtp
        if smtp is None:  # the settings' validator requires it; kept for the type checker
            raise DeliveryError("no [alerts.smtp] mail server is configured")
        send_email(smtp, email_message(smtp.sender, channel.to, title, text, message_id(key)))


def message_id(key: str) -> str:
    """A stable Message-ID for a delivery key (a resend after a crash can be recognised)."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@callqa.alerts>"
