"""Migration ``004_flag_kind``: what a flag is about, beyond its id: e.g. the kind of call a
do-not-disturb request refuses.
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "flags").add_column("kind", str, not_null_default="")
