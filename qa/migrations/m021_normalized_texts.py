"""Migration ``021_normalized_texts``: each call's turn texts as scoring normalises them
(scoring.NormalizedTexts.to_json), made once when the call is processed, so re-scoring reads
them instead of normalising every turn again; ``normalizer`` says which normalisation made them
(texts made by another are normalised again).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "normalized_texts").create(
        {"call_id": str, "normalizer": str, "data": str, "created_at": str},
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
