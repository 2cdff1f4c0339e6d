"""The review app's roles and its user record: a leaf, so that the permission table
(:mod:`qa.access.permissions`) and the user store (:mod:`qa.access.users`) both build on it
without importing each other.

What each role may do is the permission table's business::

    can(Role.AUDITOR, Action.SEE_PERSONAL_DATA)     # True (qa.access.permissions)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["Role", "User"]


class Role(StrEnum):
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    AGENT = "agent"  # an agent of the call center: their own calls and evaluations only


@dataclass(frozen=True)
class User:
    """A user of the review app (never carries the password hash)."""

    username: str
    role: Role
    created_at: datetime | None = None
