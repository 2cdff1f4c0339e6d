"""Migration ``012_agents_and_appeals``: agents as users (qa.access.agent_links): a user of role
agent is linked to the agent identity calls carry (agent id / extension, or queue member name);
their acknowledgements of submitted evaluations, and appeals of one item each with the lead's
decision (qa.review.appeals).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "agent_users").create(
        {"username": str, "agent": str, "linked_by": str, "linked_at": str},
        pk="username",
        foreign_keys=[("username", "users", "username")],
    )
    table(db, "agent_users").create_index(["agent"])
    table(db, "evaluation_acks").create(
        {
            "call_id": str,
            "revision": int,  # the review's revision acknowledged (a resubmission asks again)
            "username": str,
            "acknowledged_at": str,
        },
        pk=("call_id", "revision"),
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "appeals").create(
        {
            "appeal_id": int,
            "call_id": str,
            "review_id": int,
            "scorecard_id": int,
            "rubric_id": str,
            "item_id": str,
            "agent": str,  # the agent identity the call carries
            "opened_by": str,  # the agent's username
            "round": int,  # 1, or 2 where the site allows a second round
            "status": str,  # open | upheld | overturned
            "verdict_before": str,  # the verdict that counted when the appeal was opened
            "verdict_sought": str,  # the verdict the agent asks for
            "comment": str,
            "opened_at": str,
            "decided_by": str,
            "decided_at": str,
            "decision_comment": str,
        },
        pk="appeal_id",
        not_null={"call_id", "scorecard_id", "item_id", "status", "opened_at"},
        foreign_keys=[("call_id", "calls", "call_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "appeals").create_index(["status"])
    table(db, "appeals").create_index(["call_id"])
    table(db, "appeals").create_index(["agent"])
