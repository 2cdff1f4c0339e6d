"""Complaints as cases: opened from a complaint flag or by a reviewer, owned, worked, escalated.

A case's clock starts when the customer complained (the call's start). The source documents set
the escalation deadlines for an open complaint (:data:`ESCALATIONS`)::

    owner not confirmed to the customer within 4 hours -> the supervisor
    no reply to the customer within  3 days  -> the direct manager
    not being handled within         7 days  -> the branch head
    not resolved within             15 days  -> the company president
    not resolved within             20 days  -> the chairman

"Days" are whole 24-hour periods from the complaint (a call at 14:30 on the 20th is overdue for a
reply from 14:30 on the 23rd). The four hours run from when the case reached the store (a
nightly run learns of a complaint hours after the call), or from the call if that is later.
Milestones: *ownership* is recorded with :func:`confirm_ownership` (the customer was told who
owns the case; it needs an owner); *reply* with :func:`record_reply`; *handling* starts when the
case moves to ``in_progress``; *resolution* when it is ``resolved`` or ``closed`` (resolving
implies the earlier milestones).

Usage::

    sync_complaint_cases(db)                       # a case for every complaint flag (idempotent)
    case = set_owner(db, case.case_id, "lin", by=supervisor)
    for late in overdue_cases(db):                 # most escalated first
        late.case.call_id, late.escalation.escalate_to, late.due

Changes go to ``complaint_events`` (who, when, before, after, note). Who may do what is
:mod:`qa.access.permissions`' answer (``open_complaints``: reviewers, supervisors, admins;
``manage_complaints``: supervisors and admins); the rest get ``PermissionDeniedError``.
"""

from __future__ import annotations

from qa.records.complaints.actions import (
    confirm_ownership,
    is_complaint_flag,
    open_case,
    open_cases_from_flags,
    record_reply,
    set_owner,
    set_status,
    sync_complaint_cases,
)
from qa.records.complaints.cases import (
    AUTOMATIC,
    ESCALATIONS,
    SEVERITIES,
    CaseError,
    CaseEvent,
    CaseNotFoundError,
    CaseStatus,
    Clock,
    ComplaintCase,
    Deadline,
    Escalation,
    Milestone,
    OverdueCase,
)
from qa.records.complaints.store import case_events, get_case, list_cases, overdue_cases

__all__ = [
    "AUTOMATIC",
    "ESCALATIONS",
    "SEVERITIES",
    "CaseError",
    "CaseEvent",
    "CaseNotFoundError",
    "CaseStatus",
    "Clock",
    "ComplaintCase",
    "Deadline",
    "Escalation",
    "Milestone",
    "OverdueCase",
    "case_events",
    "confirm_ownership",
    "get_case",
    "is_complaint_flag",
    "list_cases",
    "open_case",
    "open_cases_from_flags",
    "overdue_cases",
    "record_reply",
    "set_owner",
    "set_status",
    "sync_complaint_cases",
]
