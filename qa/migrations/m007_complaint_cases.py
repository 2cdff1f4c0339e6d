"""Migration ``007_complaint_cases``: a complaint is a case people work on: opened from a complaint
flag or by a reviewer, with an owner, a status and the milestones the escalation deadlines are
measured against.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "complaint_cases").create(
        {
            "case_id": int,
            "call_id": str,
            "source": str,  # flag | reviewer
            "flag_id": str,  # the flag that opened it ('' when a reviewer did)
            "severity": str,
            "summary": str,
            "owner": str,  # username; '' while unassigned
            "status": str,  # open | in_progress | resolved | closed
            "opened_at": str,  # ISO 8601 UTC: when the customer complained (the call's start)
            "opened_by": str,
            "replied_at": str,  # first reply to the customer
            "handling_since": str,  # someone started handling it
            "resolved_at": str,
            "closed_at": str,
            "updated_at": str,
        },
        pk="case_id",
        not_null={"call_id", "source", "status", "opened_at"},
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "complaint_cases").create_index(["status"])
    table(db, "complaint_cases").create_index(["call_id"])
    # One flag-opened case per call, so opening cases from flags is safe to repeat.
    db.execute(
        "create unique index complaint_cases_one_per_flagged_call "
        "on complaint_cases (call_id) where source = 'flag'"
    )
    table(db, "complaint_events").create(
        {
            "event_id": int,
            "case_id": int,
            "at": str,
            "by_user": str,
            "action": str,  # opened | owner | status | reply | note
            "before": str,
            "after": str,
            "note": str,
        },
        pk="event_id",
        foreign_keys=[("case_id", "complaint_cases", "case_id")],
    )
    table(db, "complaint_events").create_index(["case_id"])
