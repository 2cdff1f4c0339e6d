"""Migration ``020_case_ownership``: when each complaint case reached the store and when its owner
was confirmed. The source documents want the customer told within four hours who owns their
case; that clock starts when the case reached the store (a nightly run finds yesterday's
complaints). Before this, a recorded reply was how a case's owner was confirmed: kept as such.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    cases = table(db, "complaint_cases")
    cases.add_column("recorded_at", str)
    cases.add_column("ownership_confirmed_at", str)
    db.execute(
        "update complaint_cases set ownership_confirmed_at = replied_at, recorded_at = coalesce("
        "(select min(e.at) from complaint_events e where e.case_id = complaint_cases.case_id "
        "and e.action = 'opened'), updated_at, opened_at)"
    )
