"""Migration ``013_search``: transcript search (qa/search/): the turns as shown, per-call position
and metric facts, a contentless FTS5 index of the turns (normalised words, each Chinese
character a token; pinyin), and searches saved per user. Calls stored before this are indexed by
qa.search.index.catch_up on the first search (the tokenizer is scoring's, which a migration here
cannot reach).
"""

from __future__ import annotations

import sqlite_utils

from qa.sql import table


def apply(db: sqlite_utils.Database) -> None:
    db.execute(
        "create table search_turns (id integer primary key, call_id text not null, "
        "turn integer not null, role text not null, start real not null, end real not null, "
        "text text not null)"
    )
    db.execute("create index search_turns_call on search_turns (call_id, turn)")
    # a search filtered by date alone starts from the calls of those days
    table(db, "calls").create_index(["start"], if_not_exists=True)
    db.execute(
        "create table search_calls (call_id text primary key, turns integer not null, "
        "duration real not null, language text, longest_silence real, silence_share real, "
        "overtalk real, agent_talk_ratio real)"
    )
    # remove_diacritics: "café" finds "cafe"; content='': the text lives in search_turns once.
    db.execute(
        "create virtual table search_fts using fts5(body, sound, content='', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    table(db, "saved_searches").create(
        {
            "search_id": int,
            "owner": str,  # username
            "name": str,
            "query_json": str,  # qa.search.query.SearchQuery.to_json()
            "created_at": str,
            "updated_at": str,
        },
        pk="search_id",
        not_null={"owner", "name", "query_json"},
    )
    table(db, "saved_searches").create_index(["owner", "name"], unique=True)
