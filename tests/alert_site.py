"""The alert configuration the alert tests use, pointed at the real receivers of
tests/alert_receivers.py: complaint flags by email and webhook, overdue complaint cases and
do-not-disturb requests by webhook, a regulator threat by email, three channels with scripted
failures, and one supervisor's digest for the 'care' team (Alice and Wang)."""

from __future__ import annotations

from pathlib import Path

from alert_receivers import SMTP_PASSWORD, SMTP_USER, WEBHOOK_SECRET, SmtpServer, WebhookReceiver

REVIEW_URL = "https://qa.example.test"


def alert_toml(smtp: SmtpServer, hooks: WebhookReceiver, *, extra: str = "") -> str:
    """The ``[alerts]`` part of a site config (``extra``: more TOML inside ``[alerts]``)."""
    return f"""
[alerts]
review_url = "{REVIEW_URL}"
due_within_hours = 1
{extra}

[alerts.smtp]
host = "127.0.0.1"
port = {smtp.port}
ca_file = "{smtp.cert}"
username = "{SMTP_USER}"
password = "{SMTP_PASSWORD}"
sender = "callqa@example.test"

[alerts.channels.leads]
kind = "email"
to = ["leads@example.test"]
backoff_seconds = 0.01

[alerts.channels.crm]
kind = "webhook"
url = "{hooks.url}/crm"
secret = "{WEBHOOK_SECRET}"
backoff_seconds = 0.01

[alerts.channels.flaky]
kind = "webhook"
url = "{hooks.url}/flaky"
secret = "{WEBHOOK_SECRET}"
attempts = 3
backoff_seconds = 0.01

[alerts.channels.dead]
kind = "webhook"
url = "{hooks.url}/dead"
secret = "{WEBHOOK_SECRET}"
attempts = 3
backoff_seconds = 0.01

[alerts.teams]
care = ["1001", "1003"]

[[alerts.rules]]
id = "complaints"
events = ["flag"]
flags = ["complaint"]
min_severity = "medium"
channels = ["leads", "crm"]

[[alerts.rules]]
id = "regulator"
events = ["regulator_threat"]
channels = ["leads"]

[[alerts.rules]]
id = "escalations"
events = ["case_overdue"]
channels = ["crm"]

[[alerts.rules]]
id = "dnd"
events = ["do_not_disturb"]
channels = ["crm"]

[[alerts.rules]]
id = "mood"
events = ["sentiment_drop", "raised_voice"]
channels = ["crm"]

[[alerts.rules]]
id = "critical-flaky"
events = ["critical_failed"]
queues = ["600"]
channels = ["flaky"]

[[alerts.rules]]
id = "dnd-dead"
events = ["do_not_disturb"]
agents = ["Alice Smith"]
channels = ["dead"]

[[alerts.digests]]
name = "sam"
to = ["sam@example.test"]
teams = ["care"]
"""


def write_site(path: Path, db: Path, body: str, **top: str) -> Path:
    """A site config at ``path`` with ``db`` and the alert part (and other top-level keys)."""
    lines = [f'db = "{db}"', 'timezone = "America/New_York"']
    lines += [f"{key} = {value}" for key, value in top.items()]
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
    return path
