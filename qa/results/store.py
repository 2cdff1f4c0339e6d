"""Reading results back from the store: per-call scores as typed rows (per-agent records, with
reviewers' verdicts applied, are :mod:`qa.records.agents`'s).

The CLI and the UI format these; nothing here prints::

    for row in call_scores(db):
        row.call_id, row.rubric, row.score, row.items
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from pydantic_core import from_json

from calldata import Call, Direction, Evidence, Flag, ItemResult, Scorecard, Transcript
from qa.search.index import index_call
from qa.sql import table, utcnow
from scoring import NormalizedTexts, normalize_texts
from sentences import EncoderError, SentenceVectors, encode_turns, load_encoder

__all__ = [
    "CALL_HEADER_COLUMNS",
    "CallHeader",
    "CallScore",
    "HasCallHeader",
    "call_scores",
    "insert_scorecards",
    "load_call",
    "load_normalized_texts",
    "load_sentence_vectors",
    "load_transcript",
    "save_call",
    "save_results",
    "save_sentence_vectors",
    "scored_rubrics",
    "stored_normalized_texts",
    "stored_vectors",
]

UNKNOWN_AGENT = "(unknown)"

log = logging.getLogger(__name__)

#: The columns of a :class:`CallHeader`, in :meth:`CallHeader.from_row`'s order, from ``calls c``
#: left-joined with ``transcripts t`` (the transcript's language, once known, is the call's).
CALL_HEADER_COLUMNS = (
    "c.call_id, c.start, c.agent, c.agent_name, c.queue, coalesce(t.language, c.language), "
    "c.direction"
)


@dataclass(frozen=True)
class CallHeader:
    """Which call, when, whose and where: the head of every per-call record (a score, a review
    list row, an agent's scored call, an identity check)."""

    call_id: str
    start: datetime
    agent: str | None
    agent_name: str | None
    queue: str | None
    language: str | None
    direction: Direction

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> CallHeader:
        """The header from the first columns of a row selected with ``CALL_HEADER_COLUMNS``."""
        call_id, start, agent, agent_name, queue, language, direction = row[:7]
        return cls(
            call_id=call_id,
            start=datetime.fromisoformat(start),
            agent=agent,
            agent_name=agent_name,
            queue=queue,
            language=language,
            direction=Direction(direction or Direction.UNKNOWN),
        )


class HasCallHeader:
    """A record with an embedded ``header``: its fields read as the record's own."""

    header: CallHeader

    @property
    def call_id(self) -> str:
        return self.header.call_id

    @property
    def start(self) -> datetime:
        return self.header.start

    @property
    def agent(self) -> str | None:
        return self.header.agent

    @property
    def agent_name(self) -> str | None:
        return self.header.agent_name

    @property
    def queue(self) -> str | None:
        return self.header.queue

    @property
    def language(self) -> str | None:
        return self.header.language

    @property
    def direction(self) -> Direction:
        return self.header.direction


@dataclass(frozen=True)
class CallScore(HasCallHeader):
    """One call scored by one rubric (its latest version)."""

    header: CallHeader
    recording: str  # relative to the store; a two-leg call shows its first leg
    rubric: str
    rubric_version: str
    score: float
    max_score: float
    passed: bool
    items: tuple[ItemResult, ...]
    flags: tuple[Flag, ...]

    @classmethod
    def of(cls, call: Call, card: Scorecard) -> CallScore:
        """The row of a call scored outside the store (``qa score``)."""
        header = CallHeader(
            call_id=call.call_id,
            start=call.start,
            agent=call.agent,
            agent_name=call.agent_name,
            queue=call.queue,
            language=call.language,
            direction=call.direction,
        )
        return cls(
            header=header,
            recording=call.recordings[0] if call.recordings else "",
            rubric=card.rubric_id,
            rubric_version=card.rubric_version,
            score=card.score,
            max_score=card.max_score,
            passed=card.passed,
            items=card.items,
            flags=card.flags,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``qa scores --json`` line for this row."""

        def evidence(items: tuple[Evidence, ...]) -> list[dict[str, Any]]:
            return [
                {"start": e.start, "end": e.end, "speaker": e.speaker.value, "text": e.text}
                for e in items
            ]

        return {
            "call_id": self.call_id,
            "recording": self.recording,
            "start": self.start.isoformat(),
            "agent": self.agent,
            "agent_name": self.agent_name,
            "queue": self.queue,
            "language": self.language,
            "rubric": self.rubric,
            "rubric_version": self.rubric_version,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "items": [
                {
                    "id": item.id,
                    "result": item.result.value,
                    "critical": item.critical,
                    "reason": item.reason,
                    "evidence": evidence(item.evidence),
                }
                for item in self.items
            ],
            "flags": [
                {
                    "id": flag.id,
                    "severity": flag.severity,
                    "kind": flag.kind,
                    "evidence": evidence(flag.evidence),
                }
                for flag in self.flags
            ],
        }


# The latest version of each rubric per call: re-scoring with a new version keeps the old rows.
_LATEST_SCORECARDS = f"""
select {CALL_HEADER_COLUMNS}, s.scorecard_json, c.recordings
from scorecards s
join calls c on c.call_id = s.call_id
left join transcripts t on t.call_id = s.call_id
where s.id = (select max(s2.id) from scorecards s2
              where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)
"""


def call_scores(
    db: sqlite_utils.Database, *, call_id: str | None = None, agent: str | None = None
) -> list[CallScore]:
    """Every scored call (optionally one call or one agent's), oldest first, one row per rubric."""
    sql, params = _LATEST_SCORECARDS, []
    if call_id is not None:
        sql += " and s.call_id = ?"
        params.append(call_id)
    if agent is not None:
        sql += " and c.agent = ?"
        params.append(agent)
    sql += " order by c.start, s.call_id, s.rubric_id"
    rows = db.execute(sql, params).fetchall()
    scores = []
    # scorecard_json holds the whole machine result; item_results and flags are its queryable copy.
    for row in rows:
        card_json, recordings = row[7:]
        card = Scorecard.model_validate_json(card_json)
        scores.append(
            CallScore(
                header=CallHeader.from_row(row),
                recording=(json.loads(recordings) or [""])[0],
                rubric=card.rubric_id,
                rubric_version=card.rubric_version,
                score=card.score,
                max_score=card.max_score,
                passed=card.passed,
                items=card.items,
                flags=card.flags,
            )
        )
    return scores


def load_call(db: sqlite_utils.Database, call_id: str) -> Call:
    """The stored call. Raises KeyError when there is no such call."""
    rows = list(table(db, "calls").rows_where("call_id = ?", [call_id]))
    if not rows:
        raise KeyError(f"no call {call_id!r} in the store")
    row = rows[0]
    fields = {
        name: row[name] for name in Call.model_fields if name in row and row[name] is not None
    }
    fields["recordings"] = tuple(json.loads(row["recordings"]))
    return Call.model_validate(fields)


def transcript_for_scoring(text: str) -> Transcript:
    """A stored transcript (``transcripts.transcript_json``) without its word timings.

    Scoring reads turns, roles, times and metrics, never single words, and the words are most
    of the stored JSON: leaving them out makes loading several times faster. Most of them are
    not even parsed (:func:`_without_word_lists`).
    """
    transcript = _validated_without_words(_without_word_lists(text))
    if any(turn.index != number for number, turn in enumerate(transcript.turns)):
        # Turns numbered otherwise, or JSON written in another key order than calldata's
        # (where a cut could span turns): parse it all.
        transcript = _validated_without_words(text)
    return transcript


# In valid JSON these can only be keys (a quote inside a string is escaped): a turn's word list,
# and the start of the next turn, whose "index" key comes first.
_WORD_LIST = '"words":['
_NEXT_TURN = '},{"index":'


def _without_word_lists(text: str) -> str:
    """The stored JSON with the word list of every turn but the last cut out, unparsed.

    A turn is serialised with ``words`` last, so its word list runs from ``"words":[`` to the
    ``]`` followed by ``},{"index":`` that starts the next turn (word objects hold no such
    text). Slicing the string there is cheaper than parsing thousands of word objects only to
    drop them.
    """
    kept: list[str] = []
    position = 0
    find, startswith = text.find, text.startswith
    while True:
        start = find(_WORD_LIST, position)
        if start < 0:
            break
        start += len(_WORD_LIST)
        end = find("]", start)  # "]" alone: the fastest search; most are the list's end
        while end >= 0 and not startswith(_NEXT_TURN, end + 1):
            end = find("]", end + 1)
        if end < 0:  # the last turn: its words are dropped after parsing
            break
        kept.append(text[position:start])
        position = end
    if not kept:
        return text
    kept.append(text[position:])
    return "".join(kept)


def _validated_without_words(text: str) -> Transcript:
    data = from_json(text)
    turns = data.get("turns") if isinstance(data, dict) else None
    if isinstance(turns, list):
        for turn in turns:
            if isinstance(turn, dict):
                turn.pop("words", None)
    return Transcript.model_validate(data)  # a ValidationError (ValueError) says what is wrong


def load_transcript(
    db: sqlite_utils.Database, call_id: str, *, words: bool = True
) -> Transcript | None:
    """The call's stored transcript, or None when it has none yet; ``words=False`` leaves out
    the word timings (all scoring needs, and several times faster to load)."""
    row = db.execute(
        "select transcript_json from transcripts where call_id = ?", [call_id]
    ).fetchone()
    if row is None:
        return None
    return Transcript.model_validate_json(row[0]) if words else transcript_for_scoring(row[0])


def scored_rubrics(db: sqlite_utils.Database, call_id: str) -> set[tuple[str, str]]:
    """The (rubric id, version) pairs the call already has scorecards for."""
    rows = db.execute(
        "select rubric_id, rubric_version from scorecards where call_id = ?", [call_id]
    ).fetchall()
    return {(rubric, version) for rubric, version in rows}


# --- writing ---------------------------------------------------------------------------------


def save_call(db: sqlite_utils.Database, call: Call, store_root: Path, status: str) -> None:
    """Insert or refresh a call's row (metadata from the latest ingest) with ``status``."""
    row = {
        **call.model_dump(mode="json"),
        "recordings": json.dumps(list(call.recordings)),
        "store_root": str(store_root),
        "status": status,
        "error": None,
        "updated_at": utcnow(),
    }
    columns = table(db, "calls").columns_dict  # a field added to Call later waits for its migration
    table(db, "calls").upsert({k: v for k, v in row.items() if k in columns}, pk="call_id")


def _save_vectors(db: sqlite_utils.Database, call_id: str, vectors: SentenceVectors) -> None:
    db.conn.execute(
        "insert or replace into sentence_vectors (call_id, encoder, data, created_at) "
        "values (?, ?, ?, ?)",
        [call_id, vectors.encoder, vectors.to_bytes(), utcnow()],
    )


def save_sentence_vectors(
    db: sqlite_utils.Database, call_id: str, vectors: SentenceVectors
) -> None:
    """Store a call's sentence vectors (one transaction), e.g. encoded for an older store."""
    with db.conn:
        _save_vectors(db, call_id, vectors)


def load_sentence_vectors(db: sqlite_utils.Database, call_id: str) -> SentenceVectors | None:
    """The call's stored sentence vectors, or None (a store older than intents, or damaged)."""
    row = db.execute("select data from sentence_vectors where call_id = ?", [call_id]).fetchone()
    if row is None:
        return None
    try:
        return SentenceVectors.from_bytes(row[0])
    except (ValueError, KeyError) as error:
        log.warning(
            "call %s: stored sentence vectors unreadable (%s); encoding again", call_id, error
        )
        return None


def stored_vectors(
    db: sqlite_utils.Database, call_id: str, transcript: Transcript
) -> SentenceVectors | None:
    """The call's sentence vectors as stored; for a call stored before intents (or by another
    encoder), encoded now and stored, so the next re-scoring reads them. None when no encoder
    is installed: intent conditions then encode (and fail) as they are evaluated."""
    found = load_sentence_vectors(db, call_id)
    try:
        encoder = load_encoder()
    except EncoderError:
        return found
    if found is not None and found.encoder == encoder.id:
        return found
    vectors = encode_turns(encoder, [(turn.index, turn.text) for turn in transcript.turns])
    save_sentence_vectors(db, call_id, vectors)
    return vectors


def _save_normalized(db: sqlite_utils.Database, call_id: str, normalized: NormalizedTexts) -> None:
    db.conn.execute(
        "insert or replace into normalized_texts (call_id, normalizer, data, created_at) "
        "values (?, ?, ?, ?)",
        [call_id, normalized.normalizer, normalized.to_json(), utcnow()],
    )


def load_normalized_texts(db: sqlite_utils.Database, call_id: str) -> NormalizedTexts | None:
    """The call's turn texts as normalised when it was processed, or None (a store older than
    them, or damaged)."""
    row = db.execute("select data from normalized_texts where call_id = ?", [call_id]).fetchone()
    if row is None:
        return None
    try:
        return NormalizedTexts.from_json(row[0])
    except ValueError as error:
        log.warning(
            "call %s: stored normalised texts unreadable (%s); normalising again", call_id, error
        )
        return None


def stored_normalized_texts(
    db: sqlite_utils.Database, call_id: str, transcript: Transcript
) -> NormalizedTexts:
    """The call's normalised turn texts as stored; for a call stored before them (or by another
    normalisation), normalised now and stored, so the next re-scoring reads them."""
    found = load_normalized_texts(db, call_id)
    if found is not None and found.usable() is not None:
        return found
    normalized = normalize_texts(turn.text for turn in transcript.turns)
    with db.conn:
        _save_normalized(db, call_id, normalized)
    return normalized


def _evidence_json(evidence: tuple[Evidence, ...]) -> str:
    return json.dumps([e.model_dump(mode="json") for e in evidence], ensure_ascii=False)


def insert_scorecards(db: sqlite_utils.Database, cards: list[Scorecard]) -> None:
    """Insert scorecards with their item results and flags, inside the caller's transaction."""
    now = utcnow()
    for card in cards:
        row = {
            "call_id": card.call_id,
            "rubric_id": card.rubric_id,
            "rubric_version": card.rubric_version,
            "score": card.score,
            "max_score": card.max_score,
            "passed": int(card.passed),
            "created_at": now,
            "scorecard_json": card.model_dump_json(),
        }
        cursor = db.conn.execute(
            f"insert into scorecards ({', '.join(row)}) values ({', '.join(':' + k for k in row)})",
            row,
        )
        scorecard_id = cursor.lastrowid
        db.conn.executemany(
            "insert into item_results (scorecard_id, item_id, title, result, weight, critical, "
            "reason, evidence_json) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (scorecard_id, i.id, i.title, i.result.value, i.weight, int(i.critical), i.reason,
                 _evidence_json(i.evidence))
                for i in card.items
            ],
        )  # fmt: skip
        db.conn.executemany(
            "insert into flags (scorecard_id, call_id, flag_id, title, severity, kind, "
            "evidence_json, hint) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    scorecard_id,
                    card.call_id,
                    f.id,
                    f.title,
                    f.severity,
                    f.kind,
                    _evidence_json(f.evidence),
                    int(f.hint),
                )
                for f in card.flags
            ],
        )


def save_results(
    db: sqlite_utils.Database,
    call_id: str,
    transcript: Transcript,
    cards: list[Scorecard],
    vectors: SentenceVectors | None = None,
    normalized: NormalizedTexts | None = None,
) -> None:
    """Save a call's transcript (and its search index entries, :mod:`qa.search.index`),
    sentence vectors, normalised turn texts and scorecards and mark it done, in ONE
    transaction: a crash leaves all of it or none. Earlier results of the call (a retried
    failure) are replaced."""
    with db.conn:
        if vectors is not None:
            _save_vectors(db, call_id, vectors)
        if normalized is not None:
            _save_normalized(db, call_id, normalized)
        db.conn.execute(
            "delete from item_results where scorecard_id in "
            "(select id from scorecards where call_id = ?)",
            [call_id],
        )
        db.conn.execute("delete from flags where call_id = ?", [call_id])
        db.conn.execute("delete from scorecards where call_id = ?", [call_id])
        db.conn.execute(
            "insert or replace into transcripts (call_id, language, duration, channel_mode, "
            "role_confidence, confidence, model, transcript_json, created_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [call_id, transcript.language, transcript.duration, transcript.channel_mode,
             transcript.role_confidence, transcript.confidence, transcript.model,
             transcript.model_dump_json(), utcnow()],
        )  # fmt: skip
        insert_scorecards(db, cards)
        index_call(db, call_id, transcript)  # the transcript searchable as soon as it is stored
        db.conn.execute(
            "update calls set status = 'done', error = null, audio_seconds = ?, updated_at = ? "
            "where call_id = ?",
            [transcript.duration, utcnow(), call_id],
        )
