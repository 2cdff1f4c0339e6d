"""Migration ``006_reviews``: human review next to the machine's results, never over them: one
review per call (its status and who has it), the item decisions and human scorecards of its
latest submission, the calls each review queue picked, an audit log of every change, and failed
logins.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "reviews").create(
        {
            "review_id": int,
            "call_id": str,
            "status": str,  # new | in_review | done | disputed
            "assignee": str,  # username; null while unassigned
            "assigned_by": str,
            "assigned_at": str,
            "submitted_by": str,  # who submitted the latest human result
            "submitted_at": str,
            "comment": str,  # the reviewer's free comment on the call
            "revision": int,  # submissions so far
            "created_at": str,
            "updated_at": str,
        },
        pk="review_id",
        not_null={"call_id", "status"},
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "reviews").create_index(["call_id"], unique=True)
    table(db, "reviews").create_index(["assignee", "status"])
    table(db, "queue_entries").create(
        {
            "queue": str,  # complaints | critical | low_score | low_confidence | sample
            "call_id": str,
            "reason": str,  # why the call is in the queue, for the reviewer
            "day": str,  # the call's local day (YYYY-MM-DD)
            "added_at": str,
        },
        pk=("queue", "call_id"),
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "queue_entries").create_index(["call_id"])
    table(db, "review_items").create(
        {
            "review_id": int,
            "scorecard_id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "item_id": str,
            "decision": str,  # confirmed | rejected | overridden
            "machine_verdict": str,  # pass | fail | na
            "verdict": str,  # the human verdict
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("review_id", "scorecard_id", "item_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_items").create_index(["scorecard_id"])
    table(db, "review_scorecards").create(
        {
            "review_id": int,
            "scorecard_id": int,  # the machine scorecard the human result is for
            "call_id": str,
            "pass_mark": float,  # the mark the human score was judged against (null: not needed)
            "score": float,
            "max_score": float,
            "passed": int,
            "reviewer": str,
            "submitted_at": str,
            "scorecard_json": str,  # calldata.Scorecard with the human verdicts
        },
        pk=("review_id", "scorecard_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_scorecards").create_index(["scorecard_id"], unique=True)
    table(db, "audit_log").create(
        {
            "entry_id": int,
            "at": str,  # ISO 8601 UTC
            "actor": str,  # username
            "action": str,  # e.g. review.submit, item.override, review.assign, user.add
            "call_id": str,
            "review_id": int,
            "target": str,  # what changed, e.g. 'inbound-service/greeting'
            "before": str,
            "after": str,
            "reason": str,  # why: the comment given
        },
        pk="entry_id",
    )
    table(db, "audit_log").create_index(["call_id"])
    table(db, "audit_log").create_index(["at"])
    table(db, "login_failures").create(
        {"failure_id": int, "username": str, "client": str, "at": str}, pk="failure_id"
    )
    table(db, "login_failures").create_index(["username", "client", "at"])
