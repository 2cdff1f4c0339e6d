"""The ``[alerts]`` part of the site configuration: channels, rules, teams and daily digests.

It is core (any area may read it) because :class:`qa.config.Config` carries it; the alerting
itself is :mod:`qa.alerts`. Example (the README has a complete one)::

    [alerts]
    review_url = "https://qa.example.com"

    [alerts.smtp]
    host = "mail.example.com"
    port = 587
    username = "callqa"
    password = "..."
    sender = "callqa@example.com"

    [alerts.channels.leads]
    kind = "email"
    to = ["leads@example.com"]

    [alerts.channels.crm]
    kind = "webhook"
    url = "https://crm.example.com/hooks/callqa"
    secret = "..."

    [[alerts.rules]]
    id = "complaints"
    events = ["flag", "regulator_threat", "case_overdue"]
    flags = ["complaint"]
    min_severity = "high"
    channels = ["leads", "crm"]
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "SEVERITY_ORDER",
    "AlertRule",
    "AlertSettings",
    "Channel",
    "DigestSettings",
    "EventKind",
    "SmtpSettings",
]

#: Flag severities, least to most severe (``min_severity`` compares along this order).
SEVERITY_ORDER = ("low", "medium", "high", "critical")


class EventKind(StrEnum):
    """What an alert rule can react to."""

    CRITICAL_FAILED = "critical_failed"  # a critical (auto-fail) rubric item failed
    FLAG = "flag"  # a rubric flag (complaint, escalation_risk, ...) at or above min_severity
    REGULATOR_THREAT = "regulator_threat"  # a complaint naming a regulator (12315, 工信部, FCC)
    DO_NOT_DISTURB = "do_not_disturb"  # the customer asked not to be called again
    CASE_DUE = "case_due"  # a complaint case's escalation deadline is near
    CASE_OVERDUE = "case_overdue"  # a complaint case missed an escalation deadline
    RUN_FAILED = "run_failed"  # the nightly run crashed or could not start
    RUN_WITH_FAILURES = "run_with_failures"  # the nightly run finished, some calls failed
    SENTIMENT_DROP = "sentiment_drop"  # the customer ended the call much worse than they began
    RAISED_VOICE = "raised_voice"  # a side raised their voice (louder, higher than their own)
    APPEAL_WAITING = "appeal_waiting"  # an agent's appeal has waited too long for a decision


#: Regulator and media names that make a complaint a regulator threat (matched in the customer's
#: turns, case-insensitively); a site may replace them with ``regulator_terms``.
DEFAULT_REGULATOR_TERMS = (
    "12315",
    "一二三一五",
    "幺二三幺五",
    "工信部",
    "工商局",
    "消协",
    "消费者协会",
    "银保监",
    "媒体",
    "记者",
    "regulator",
    "fcc",
    "federal communications commission",
    "better business bureau",
    "ombudsman",
    "attorney general",
    "consumer protection",
)


def _secret_from_env(value: SecretStr | None) -> SecretStr | None:
    """``"env:NAME"`` reads the secret from the environment variable NAME (kept out of the file)."""
    if value is None or not value.get_secret_value().startswith("env:"):
        return value
    name = value.get_secret_value().removeprefix("env:")
    found = os.environ.get(name)
    if not found:
        raise ValueError(f"the environment variable {name} is not set (the secret is read there)")
    return SecretStr(found)


class SmtpSettings(BaseModel):
    """The mail server email channels send through (``[alerts.smtp]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, gt=0, lt=65536)
    starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    ca_file: Path | None = Field(
        default=None, description="A CA bundle to trust for the server's certificate."
    )
    username: str = ""
    password: SecretStr | None = None
    sender: str = Field(min_length=3, description="The From: address.")
    timeout_seconds: float = Field(default=20.0, gt=0)

    _password_from_env = field_validator("password")(_secret_from_env)


class Channel(BaseModel):
    """Where alerts go: an email list or a webhook (``[alerts.channels.NAME]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["email", "webhook"]
    to: tuple[str, ...] = ()  # email
    url: str = ""  # webhook
    secret: SecretStr | None = None  # webhook: the HMAC-SHA256 key of the signature header
    attempts: int = Field(default=4, ge=1, le=20, description="Tries before the dead letter.")
    backoff_seconds: float = Field(
        default=2.0, ge=0, description="Wait before the second try; doubled for each next one."
    )
    timeout_seconds: float = Field(default=10.0, gt=0)

    _secret_from_env = field_validator("secret")(_secret_from_env)

    @model_validator(mode="after")
    def _complete(self) -> Channel:
        if self.kind == "email" and not self.to:
            raise ValueError('an email channel needs to = ["someone@example.com", ...]')
        if self.kind == "webhook":
            if not self.url.startswith(("http://", "https://")):
                raise ValueError('a webhook channel needs url = "https://..."')
            if self.secret is None or not self.secret.get_secret_value():
                raise ValueError('a webhook channel needs secret = "..." (it signs each call)')
        return self


class AlertRule(BaseModel):
    """An event (one or more kinds), its filters, and the channels it goes to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    events: tuple[EventKind, ...] = Field(min_length=1)
    channels: tuple[str, ...] = Field(min_length=1)
    min_severity: Literal["low", "medium", "high", "critical"] = "low"
    flags: tuple[str, ...] = Field(default=(), description="Flag ids (none: any flag).")
    queues: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()  # agent ids or names
    teams: tuple[str, ...] = ()  # names from [alerts.teams]
    rubrics: tuple[str, ...] = ()


class DigestSettings(BaseModel):
    """One supervisor's daily digest: the day's alerts about their agents, in one email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    to: tuple[str, ...] = Field(min_length=1)
    teams: tuple[str, ...] = ()
    agents: tuple[str, ...] = ()  # none (and no teams): every agent


class AlertSettings(BaseModel):
    """Everything under ``[alerts]``; no rules means no alerts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_url: str = Field(
        default="http://localhost:7860", description="The review app, for links in messages."
    )
    include_text: bool = Field(
        default=False, description="Put the evidence quotes (transcript text) in messages."
    )
    include_personal: bool = Field(
        default=False, description="Put the caller's number, unmasked text, in messages."
    )
    due_within_hours: float = Field(
        default=24.0, ge=0, description="A case deadline this near raises case_due."
    )
    appeal_waiting_hours: float = Field(
        default=48.0, ge=0, description="An open appeal this old raises appeal_waiting."
    )
    regulator_terms: tuple[str, ...] = DEFAULT_REGULATOR_TERMS
    sentiment_drop: float = Field(
        default=0.5, gt=0, le=2, description="A customer start→end fall this large (of -1..1)."
    )
    smtp: SmtpSettings | None = None
    channels: dict[str, Channel] = Field(default_factory=dict)
    rules: tuple[AlertRule, ...] = ()
    teams: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # team -> agent ids
    digests: tuple[DigestSettings, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> AlertSettings:
        ids: set[str] = set()
        for rule in self.rules:
            if rule.id in ids:
                raise ValueError(f"rules: rule id {rule.id!r} is listed twice")
            ids.add(rule.id)
            for name in rule.channels:
                if name not in self.channels:
                    raise ValueError(
                        f"rules: rule {rule.id!r} sends to channel {name!r}, which is not "
                        f"defined: add [alerts.channels.{name}]"
                    )
            self._known_teams(f"rule {rule.id!r}", rule.teams)
        for digest in self.digests:
            self._known_teams(f"digest {digest.name!r}", digest.teams)
        emails = [n for n, c in self.channels.items() if c.kind == "email"]
        if (emails or self.digests) and self.smtp is None:
            raise ValueError(
                "email channels and digests need the mail server: add [alerts.smtp] with host "
                "and sender"
            )
        return self

    def _known_teams(self, where: str, teams: tuple[str, ...]) -> None:
        for team in teams:
            if team not in self.teams:
                raise ValueError(f"{where} names team {team!r}: add it to [alerts.teams]")

    def rule(self, rule_id: str) -> AlertRule:
        """The rule with this id, or KeyError naming the ones there are."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        known = ", ".join(r.id for r in self.rules) or "none"
        raise KeyError(f"no alert rule {rule_id!r} (rules: {known})")

    def team_agents(self, teams: tuple[str, ...]) -> set[str]:
        """The agent ids of these teams."""
        return {agent for team in teams for agent in self.teams.get(team, ())}
