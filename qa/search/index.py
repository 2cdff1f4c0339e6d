"""The transcript search index: every stored turn in an SQLite FTS5 index in the same store.

Three tables (made by migration ``013_search``, :mod:`qa.migrations.m013_search`):

- ``search_turns``: one row per turn (call, turn number, role, start, end, the text as
  transcribed), whose ``id`` is the index's rowid; what a hit shows.
- ``search_fts``: a contentless FTS5 table with two indexed columns: ``body``, the turn's
  normalised text (:func:`scoring.normalize_text`) with every Chinese character a token of its
  own, so a phrase query on characters is a substring search (投诉 finds 我要投诉你们); and
  ``sound``, the turn's Chinese characters as tone-less, sound-alike-merged pinyin syllables
  (the rubric engine's keys, :func:`scoring.tokens.char_readings`), so a misheard homophone
  (头诉 for 投诉) is found too. English is indexed by word.
- ``search_calls``: per call, what position and metric filters need: its number of turns,
  duration, language, longest silence, share of silence, overtalk and the agent's talk ratio.

Contentless keeps the index small (the text is stored once, in ``search_turns``); a row is
removed from it by FTS5's ``delete`` command with the same token columns, which
:func:`index_tokens` recomputes from the stored text. The pipeline indexes each call in the
transaction that saves its results (:func:`index_call`); re-scoring changes no transcript, and
the rubric filters read the scorecards at query time, so they are always current::

    index_call(db, call_id, transcript)       # inside the caller's transaction
    catch_up(db)                              # stored transcripts not indexed yet
"""

from __future__ import annotations

import logging

import sqlite_utils

from calldata import Role, Transcript
from scoring.normalize import is_cjk, normalize_text
from scoring.tokens import char_readings

__all__ = [
    "catch_up",
    "index_call",
    "index_tokens",
    "query_tokens",
    "reindex_all",
    "unindex_call",
]

log = logging.getLogger(__name__)


def _spaced(normalized: str) -> str:
    """Every Chinese character a separate token; words and numbers as they are."""
    if normalized.isascii():
        return normalized
    return " ".join("".join(f" {char} " if is_cjk(char) else char for char in normalized).split())


def _sound(normalized: str) -> str:
    """The Chinese characters as their most common canonical pinyin syllable, in order."""
    if normalized.isascii():
        return ""
    return " ".join(char_readings(char)[0] for char in normalized if is_cjk(char))


def index_tokens(text: str) -> tuple[str, str]:
    """(body, sound): the two indexed columns of a turn's text."""
    normalized = normalize_text(text)
    return _spaced(normalized), _sound(normalized)


def query_tokens(phrase: str) -> tuple[list[str], list[str]]:
    """The body tokens and pinyin syllables a phrase is searched by (either may be empty)."""
    body, sound = index_tokens(phrase)
    return body.split(), sound.split()


def unindex_call(db: sqlite_utils.Database, call_id: str) -> None:
    """Remove a call's turns from the index (inside the caller's transaction)."""
    rows = db.conn.execute(
        "select id, text from search_turns where call_id = ?", [call_id]
    ).fetchall()
    if not rows:
        return
    db.conn.executemany(
        "insert into search_fts (search_fts, rowid, body, sound) values ('delete', ?, ?, ?)",
        [(row_id, *index_tokens(text)) for row_id, text in rows],
    )
    db.conn.execute("delete from search_turns where call_id = ?", [call_id])
    db.conn.execute("delete from search_calls where call_id = ?", [call_id])


def _call_row(call_id: str, transcript: Transcript) -> tuple[object, ...]:
    metrics = transcript.metrics
    duration = transcript.duration or metrics.duration
    measured = metrics.measured
    agent = metrics.by_role.get(Role.AGENT)
    return (
        call_id,
        len(transcript.turns),
        duration,
        transcript.language,
        metrics.longest_silence if measured else None,
        metrics.non_talk_time / duration if measured and duration > 0 else None,
        metrics.overtalk_duration if measured else None,
        agent.talk_ratio if measured and agent is not None else None,
    )


def index_call(db: sqlite_utils.Database, call_id: str, transcript: Transcript) -> None:
    """Index (or re-index) a call's turns and metrics, inside the caller's transaction."""
    unindex_call(db, call_id)
    conn = db.conn
    conn.execute(
        "insert into search_calls (call_id, turns, duration, language, longest_silence, "
        "silence_share, overtalk, agent_talk_ratio) values (?, ?, ?, ?, ?, ?, ?, ?)",
        _call_row(call_id, transcript),
    )
    for turn in transcript.turns:
        cursor = conn.execute(
            "insert into search_turns (call_id, turn, role, start, end, text) "
            "values (?, ?, ?, ?, ?, ?)",
            (call_id, turn.index, turn.role.value, turn.start, turn.end, turn.text),
        )
        body, sound = index_tokens(turn.text)
        conn.execute(
            "insert into search_fts (rowid, body, sound) values (?, ?, ?)",
            (cursor.lastrowid, body, sound),
        )


def reindex_all(db: sqlite_utils.Database) -> int:
    """Index every stored transcript again, from scratch; returns the number of calls indexed
    (``qa search --reindex``, after a change to the tokens)."""
    with db.conn:
        db.conn.execute("delete from search_turns")
        db.conn.execute("delete from search_calls")
        db.conn.execute("insert into search_fts (search_fts) values ('delete-all')")
    return catch_up(db)


def catch_up(db: sqlite_utils.Database) -> int:
    """Index the stored transcripts the index lacks (a store made before search, or one whose
    migration just ran); returns how many. Cheap when there are none: two counts."""
    stored = db.conn.execute("select count(*) from transcripts").fetchone()[0]
    indexed = db.conn.execute("select count(*) from search_calls").fetchone()[0]
    if stored == indexed:
        return 0
    missing = [
        row[0]
        for row in db.conn.execute(
            "select t.call_id from transcripts t "
            "where not exists (select 1 from search_calls s where s.call_id = t.call_id)"
        )
    ]
    count = 0
    for first in range(0, len(missing), 200):  # a transaction per 200 calls
        with db.conn:
            for call_id in missing[first : first + 200]:
                text = db.conn.execute(
                    "select transcript_json from transcripts where call_id = ?", [call_id]
                ).fetchone()[0]
                try:
                    transcript = Transcript.model_validate_json(text)
                except ValueError as error:
                    log.warning("call %s: transcript unreadable, not indexed: %s", call_id, error)
                    continue
                index_call(db, call_id, transcript)
                count += 1
    if count:
        log.info("search index: %d stored calls indexed", count)
    return count
