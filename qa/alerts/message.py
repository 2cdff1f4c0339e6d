"""An alert as it leaves the building: the JSON body of a webhook and the text of an email.

Messages carry ids, times, the agent, the item or flag and a link to the review app. Transcript
text (the evidence quotes) goes out only with ``include_text``, and then with personal numbers
masked unless ``include_personal`` is on too; the caller's number only with ``include_personal``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

from qa.access.masking import mask_personal_data
from qa.alert_config import AlertRule, AlertSettings
from qa.alerts.events import AlertEvent

SCHEMA = "callqa.alert/1"


def review_link(settings: AlertSettings, event: AlertEvent) -> str:
    """Where to look: the review app, with the call (or the case's call) to open."""
    base = settings.review_url.rstrip("/")
    return f"{base}/?call={quote(event.call_id)}" if event.call_id else f"{base}/"


def payload(
    settings: AlertSettings, rule: AlertRule, event: AlertEvent, key: str
) -> dict[str, Any]:
    """The alert as a JSON object (the webhook body; stored with the delivery)."""
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "id": key,
        "rule": rule.id,
        "event": event.kind.value,
        "event_key": event.key,
        "title": event.title,
        "severity": event.severity,
        "at": event.at.astimezone(UTC).isoformat(timespec="seconds"),
        "call_id": event.call_id,
        "case_id": event.case_id,
        "run_id": event.run_id,
        "agent": event.agent,
        "agent_name": event.agent_name,
        "queue": event.queue,
        "rubric": event.rubric,
        "item": event.item,
        "flag": event.flag,
        "details": dict(event.details),
        "link": review_link(settings, event),
    }
    if settings.include_text:
        show = (lambda text: text) if settings.include_personal else mask_personal_data
        body["quotes"] = [show(text) for text in event.quotes]
    if settings.include_personal:
        body["caller"] = event.caller
    return body


def _line(label: str, value: object) -> str | None:
    return f"{label}: {value}" if value not in (None, "", {}) else None


def email_text(body: dict[str, Any]) -> str:
    """The plain-text email for an alert body."""
    agent = body.get("agent_name") or body.get("agent")
    if agent and body.get("agent_name") and body.get("agent"):
        agent = f"{body['agent_name']} ({body['agent']})"
    lines = [
        body["title"],
        "",
        _line("Event", body["event"]),
        _line("Severity", body["severity"]),
        _line("When (UTC)", body["at"]),
        _line("Call", body.get("call_id")),
        _line("Complaint case", body.get("case_id")),
        _line("Run", body.get("run_id")),
        _line("Agent", agent),
        _line("Queue", body.get("queue")),
        _line("Rubric", body.get("rubric")),
        _line("Item", body.get("item")),
        _line("Flag", body.get("flag")),
        _line("Caller", body.get("caller")),
    ]
    lines += [f"{key.replace('_', ' ').capitalize()}: {value}" for key, value in
              body.get("details", {}).items()]  # fmt: skip
    if body.get("quotes"):
        lines += ["", "Evidence:"] + [f"  “{text}”" for text in body["quotes"]]
    lines += ["", f"Review: {body['link']}", "", f"Rule {body['rule']} · alert {body['id']}"]
    return "\n".join(line for line in lines if line is not None) + "\n"


def email_message(
    sender: str, to: tuple[str, ...], subject: str, text: str, message_id: str
) -> EmailMessage:
    """A plain-text email with a stable Message-ID (a resend after a crash is recognisable)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(text)
    return message


def subject(body: dict[str, Any]) -> str:
    """``[callqa high] Flag: Customer complaint — call 123, Alice Smith``"""
    who = body.get("agent_name") or body.get("agent")
    about = ", ".join(
        str(part)
        for part in (
            f"call {body['call_id']}" if body.get("call_id") else None,
            f"case {body['case_id']}" if body.get("case_id") else None,
            who,
        )
        if part
    )
    return f"[callqa {body['severity']}] {body['title']}" + (f" — {about}" if about else "")
