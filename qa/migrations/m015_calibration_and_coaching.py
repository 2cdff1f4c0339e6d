"""Migration ``015_calibration_and_coaching``: calibration sessions (qa.review.calibration): calls
scored blind by several reviewers, their verdicts, and the agreed answer the supervisor records.
Never read by agent records. And coaching tasks (qa.records.coaching): a goal for an agent with
the moments of calls to listen to, acknowledged by the agent and completed by the lead.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "coaching_tasks").create(
        {
            "task_id": int,
            "agent": str,  # the agent identity calls carry
            "goal": str,
            "due": str,  # YYYY-MM-DD
            "status": str,  # assigned | acknowledged | done
            "created_by": str,
            "created_at": str,
            "acknowledged_at": str,
            "completed_by": str,
            "completed_at": str,
            "note": str,  # the lead's note on completion
        },
        pk="task_id",
        not_null={"agent", "goal", "due", "status", "created_at"},
    )
    table(db, "coaching_tasks").create_index(["agent", "status"])
    # The library of exemplary calls (good and bad, tagged by topic) and playlists of them for
    # the monthly quality meeting (qa.records.coaching).
    table(db, "library_calls").create(
        {"call_id": str, "kind": str, "topics": str, "note": str, "added_by": str,
         "added_at": str},
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )  # fmt: skip
    table(db, "playlists").create(
        {"playlist_id": int, "title": str, "created_by": str, "created_at": str},
        pk="playlist_id",
    )
    table(db, "playlist_calls").create(
        {"playlist_id": int, "position": int, "call_id": str},
        pk=("playlist_id", "position"),
        foreign_keys=[("playlist_id", "playlists", "playlist_id"),
                      ("call_id", "library_calls", "call_id")],
    )  # fmt: skip
    table(db, "coaching_moments").create(
        {"task_id": int, "position": int, "call_id": str, "seconds": float, "note": str},
        pk=("task_id", "position"),
        foreign_keys=[("task_id", "coaching_tasks", "task_id"), ("call_id", "calls", "call_id")],
    )
    table(db, "calibration_sessions").create(
        {
            "session_id": int,
            "title": str,
            "status": str,  # open | closed
            "created_by": str,
            "created_at": str,
            "closed_at": str,
        },
        pk="session_id",
        not_null={"title", "status", "created_at"},
    )
    table(db, "calibration_cards").create(
        {"session_id": int, "scorecard_id": int, "call_id": str},
        pk=("session_id", "scorecard_id"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id"),
                      ("scorecard_id", "scorecards", "id")],
    )  # fmt: skip
    table(db, "calibration_reviewers").create(
        {"session_id": int, "username": str},
        pk=("session_id", "username"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )
    table(db, "calibration_scores").create(
        {
            "session_id": int,
            "scorecard_id": int,
            "item_id": str,
            "username": str,
            "verdict": str,  # pass | fail | na
            "scored_at": str,
        },
        pk=("session_id", "scorecard_id", "item_id", "username"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )
    table(db, "calibration_answers").create(
        {
            "session_id": int,
            "scorecard_id": int,
            "item_id": str,
            "verdict": str,
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("session_id", "scorecard_id", "item_id"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )
