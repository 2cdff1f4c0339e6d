"""Migration ``010_audio_checks_and_accounts``: why a call's recording is shorter than the call
(qa.run.audio_check); null: whole. A call so marked counts in agent records only once a review
of it is submitted. And when a user was disabled (qa.access.accounts; null: may log in).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "calls").add_column("truncated", str)
    table(db, "users").add_column("disabled_at", str)
    table(db, "login_failures").create_index(["client", "at"])
    table(db, "login_failures").create_index(["username", "at"])
