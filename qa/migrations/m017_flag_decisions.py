"""Migration ``017_flag_decisions``: a reviewer's decision on each flag of a call's scorecards
(qa.review.flag_decisions): a flag the machine raised confirmed or rejected, or one it missed
added; replaced with each submission of the review, like review_items. What the machine-vs-human
precision of flags is counted from (qa.review.agreement.flag_agreement).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "review_flags").create(
        {
            "review_id": int,
            "scorecard_id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "flag_id": str,
            "decision": str,  # confirmed | rejected | added
            "raised": int,  # 1: the machine raised it (confirmed, rejected); 0: added
            "hint": int,  # 1: the machine raised it on a guess about misheard words
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("review_id", "scorecard_id", "flag_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_flags").create_index(["scorecard_id"])
    table(db, "review_flags").create_index(["call_id"])
    # Which flags a rubric version has (the review form offers the ones a call lacks): found per
    # flag id from the newest scorecard back, not by scanning every flag of the store.
    table(db, "flags").create_index(["flag_id", "scorecard_id"])
