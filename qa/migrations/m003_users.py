"""Migration ``003_users``: the review app's users, their password hashes and roles."""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "users").create(
        {
            "username": str,
            "password_hash": str,
            "role": str,  # reviewer | supervisor | auditor | admin
            "created_at": str,
        },
        pk="username",
    )
