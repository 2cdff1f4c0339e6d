"""Alerts: events that matter pushed out by email and signed webhooks, each sent once.

Rules in the site config (``[alerts]``, :mod:`qa.alert_config`) pick events (a critical item
failed, a flag at or above a severity, a regulator threat, a do-not-disturb request, a complaint
case due or overdue at an escalation step, a nightly run that failed or finished with failures),
filter them (queue, agent, team, rubric) and send them to channels. Every delivery is recorded in
``alert_deliveries`` under an idempotency key, so a re-run never sends twice::

    sent = after_run(db, config.alerts, summary.run_id)   # qa run does this
    sent = tick(db, config.alerts)                          # qa alerts tick, from cron
    for delivery in deliveries(db, since=yesterday): ...    # qa alerts log

Modules: ``events`` (what happened, from the store), ``message`` (the JSON body and the email
text: no transcript text or personal numbers unless the site turns them on), ``channels`` (one
try over SMTP or HTTP), ``dispatch`` (rules, retries with backoff, the dead letter), ``store``
(the delivery record), ``checks`` (when to look), ``digest`` (the daily email per supervisor).

The area sits above ``records`` (it reads complaint cases, scores and runs) and below ``cli``.
"""

from __future__ import annotations

from qa.alerts.channels import SIGNATURE_HEADER, DeliveryError, sign
from qa.alerts.checks import after_run, check_calls, run_not_started, send_test_alert, tick
from qa.alerts.digest import send_digests
from qa.alerts.dispatch import Dispatcher, Sent, matches
from qa.alerts.events import AlertEvent
from qa.alerts.store import Delivery, DeliveryStatus, deliveries

__all__ = [
    "SIGNATURE_HEADER",
    "AlertEvent",
    "Delivery",
    "DeliveryError",
    "DeliveryStatus",
    "Dispatcher",
    "Sent",
    "after_run",
    "check_calls",
    "deliveries",
    "matches",
    "run_not_started",
    "send_digests",
    "send_test_alert",
    "sign",
    "tick",
]
