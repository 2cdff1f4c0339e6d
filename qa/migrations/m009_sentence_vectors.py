"""Migration ``009_sentence_vectors``: each call's sentence vectors
(sentences.SentenceVectors.to_bytes), encoded once when the call is processed, so re-scoring
with intents never encodes again; and whether a flag is a hint raised only on a guess about
misheard words (low, for review; never a case).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    table(db, "sentence_vectors").create(
        {"call_id": str, "encoder": str, "data": bytes, "created_at": str},
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "flags").add_column("hint", int, not_null_default=0)
