"""Searching stored transcripts: words, sounds or meaning, in a role and part of the call, on
the calls that pass the filters the review app and ``qa search`` share.

A :class:`SearchQuery` is plain data (saved searches store it as JSON); :func:`search` runs it::

    query = SearchQuery(text="投诉", role="customer", last_turns=5, agent="1001",
                        since=date(2026, 11, 1), items=("inbound-service/greeting=fail",))
    result = search(db, query, masked=True)
    for hit in result.hits:
        hit.call_id, hit.at, hit.role, hit.text, hit.match   # match: words | sound | meaning

- **words**: the phrase's normalised words in order (English by word; Chinese by character, so
  any run of characters inside a turn is found).
- **sound**: for a phrase with Chinese characters, the same syllables in pinyin (tones dropped,
  zh/z, ch/c, sh/s, n/l, -ng/-n merged): a homophone ASR wrote instead is found too.
- **meaning**: with ``meaning=True``, turns whose sentence vectors (stored with each call, the
  rubric engine's intent encoder) are close to the phrase's, on the newest
  :data:`MEANING_CALLS` calls that pass the filters.

Rubric filters (item results, flags, score) read each rubric's latest scorecard, so a re-score
shows at once. Hits are newest call first, then in call order; personal numbers in the text
are masked when ``masked``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import numpy as np
import sqlite_utils

from calldata import Direction, Role
from qa.access.masking import mask_personal_data
from qa.search.index import catch_up, index_tokens, query_tokens
from qa.sql import Filters
from sentences import EncoderError, SentenceVectors, load_encoder

__all__ = [
    "MEANING_CALLS",
    "METRICS",
    "SearchHit",
    "SearchQuery",
    "SearchQueryError",
    "SearchResult",
    "hit_context",
    "search",
]

#: Metric filters: name → column of ``search_calls`` and what it is.
METRICS: dict[str, str] = {
    "duration": "seconds of the call",
    "longest_silence": "seconds of the longest silence",
    "silence_share": "share of the call with nobody talking, 0..1",
    "overtalk": "seconds both talked at once",
    "agent_talk_ratio": "the agent's share of the talk time, 0..1",
    "customer_sentiment": "the customer's mean polarity, -1..+1",
    "agent_sentiment": "the agent's mean polarity, -1..+1",
    "customer_shift": "the customer's polarity at the end minus at the start, -2..+2",
}
#: Where each metric is read: the call's search facts, or how the call felt (``call_sentiment``,
#: filled by the nightly run; a call not measured yet matches no sentiment bound).
_METRIC_SQL: dict[str, str] = {
    **{name: f"sc.{name}" for name in METRICS},
    **{
        name: f"(select cs.{column} from call_sentiment cs where cs.call_id = c.call_id)"
        for name, column in (
            ("customer_sentiment", "customer_mean"),
            ("agent_sentiment", "agent_mean"),
            ("customer_shift", "customer_shift"),
        )
    },
}
#: Meaning search compares the phrase with the turns of at most this many calls (newest first).
MEANING_CALLS = 2000
#: Cosine similarity from which a turn means the same as the phrase (the encoder's scale).
MEANING_THRESHOLD = 0.5
_VERDICTS = ("pass", "fail", "na")
_REVIEW_STATUSES = ("new", "in_review", "done", "disputed")
_METRIC = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")


class SearchQueryError(ValueError):
    """A search that cannot run as written; the message says which part and how to write it."""


@dataclass(frozen=True)
class SearchQuery:
    """What to look for and in which calls. Every filter is optional; ``text`` is required."""

    text: str
    meaning: bool = False  # by meaning (sentence vectors) instead of words and sounds
    sounds_like: bool = True  # also Chinese homophones (pinyin)
    role: str | None = None  # agent | customer
    first_turns: int | None = None  # only in the call's first N turns
    last_turns: int | None = None
    first_seconds: float | None = None  # only turns starting in the first N seconds
    last_seconds: float | None = None  # only turns ending in the last N seconds
    since: date | None = None  # local days, inclusive (the zone is search()'s)
    until: date | None = None
    agent: str | None = None  # id or name
    queue: str | None = None
    direction: str | None = None
    language: str | None = None
    items: tuple[str, ...] = ()  # "ITEM=RESULT" or "RUBRIC/ITEM=RESULT", RESULT pass|fail|na
    flags: tuple[str, ...] = ()  # flag ids, each raised on the call
    min_score: float | None = None
    max_score: float | None = None
    review_status: str | None = None  # new | in_review | done | disputed
    metrics: tuple[str, ...] = ()  # "NAME>=VALUE" (<=, <, >, =), NAME one of METRICS
    limit: int = 100

    def to_json(self) -> str:
        """The stored form of a saved search."""
        data = asdict(self)
        for key in ("since", "until"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        data["items"], data["flags"] = list(self.items), list(self.flags)
        data["metrics"] = list(self.metrics)
        return json.dumps({k: v for k, v in data.items() if v not in (None, [], ())})

    @classmethod
    def from_json(cls, text: str) -> SearchQuery:
        """Read what :meth:`to_json` wrote; SearchQueryError when it is not a search."""
        try:
            data = json.loads(text)
            known = {f.name for f in fields(cls)}
            unknown = set(data) - known
            if unknown:
                raise SearchQueryError(f"unknown search field(s): {', '.join(sorted(unknown))}")
            for key in ("since", "until"):
                if data.get(key):
                    data[key] = date.fromisoformat(data[key])
            for key in ("items", "flags", "metrics"):
                data[key] = tuple(data.get(key, ()))
            return cls(**data)
        except (TypeError, ValueError, AttributeError) as error:
            if isinstance(error, SearchQueryError):
                raise
            raise SearchQueryError(f"not a stored search: {error}") from None


@dataclass(frozen=True)
class SearchHit:
    """One turn that matched, with its call's header."""

    call_id: str
    call_start: datetime
    agent: str | None
    agent_name: str | None
    queue: str | None
    language: str | None
    direction: str
    turn: int
    role: str
    at: float  # seconds into the call
    end: float
    text: str  # masked unless the viewer may see personal numbers
    match: str  # words | sound | meaning
    similarity: float | None = None  # meaning search: how close

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["call_start"] = self.call_start.isoformat()
        return data


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    hits: tuple[SearchHit, ...]
    truncated: bool  # more hits than the query's limit
    masked: bool

    @property
    def call_ids(self) -> list[str]:
        """The calls with a hit, in hit order, each once (a saved search used as a queue)."""
        return list(dict.fromkeys(hit.call_id for hit in self.hits))


# --- the SQL ----------------------------------------------------------------------------------

_SELECT = """
select st.call_id, c.start, c.agent, c.agent_name, c.queue, coalesce(sc.language, c.language),
       c.direction, st.turn, st.role, st.start, st.end, st.text
from {source}
join calls c on c.call_id = st.call_id
join search_calls sc on sc.call_id = st.call_id
"""
_LATEST = (
    "s.id = (select max(s2.id) from scorecards s2 "
    "where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)"
)


def _utc_text(moment: datetime) -> str:
    # calls.start is ISO 8601 UTC: compared as text, to the second (as qa.results.rescore does)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _day_start(day: date, zone: tzinfo) -> str:
    return _utc_text(datetime.combine(day, time(0), tzinfo=zone))


def _item(spec: str) -> tuple[str | None, str, str]:
    what, sep, result = spec.partition("=")
    result = result.strip().lower()
    if not sep or not what.strip() or result not in _VERDICTS:
        raise SearchQueryError(
            f"item filter {spec!r}: write ITEM=RESULT or RUBRIC/ITEM=RESULT, RESULT one of "
            f"{', '.join(_VERDICTS)} (e.g. inbound-service/greeting=fail)"
        )
    rubric, slash, item = what.strip().rpartition("/")
    return (rubric if slash else None), item, result


def _metric(spec: str) -> tuple[str, str, float]:
    found = _METRIC.match(spec)
    if found is None or found.group(1) not in METRICS:
        raise SearchQueryError(
            f"metric filter {spec!r}: write NAME>=VALUE (or <=, <, >, =) with NAME one of "
            f"{', '.join(METRICS)} (e.g. silence_share>=0.3, customer_shift<=-0.5)"
        )
    name, op, value = found.groups()
    return name, op, float(value)


def _call_filters(query: SearchQuery, zone: tzinfo) -> Filters:
    """The conditions on the call (not on the turn), over ``calls c`` and ``search_calls sc``."""
    where = Filters()
    if query.since is not None:
        where.add("c.start >= ?", _day_start(query.since, zone))
    if query.until is not None:
        where.add("c.start < ?", _day_start(query.until + timedelta(days=1), zone))
    if query.agent:
        where.add("(c.agent = ? or c.agent_name = ?)", query.agent, query.agent)
    if query.queue:
        where.add("c.queue = ?", query.queue)
    if query.direction:
        if query.direction not in {d.value for d in Direction}:
            raise SearchQueryError(
                f"direction {query.direction!r}: one of {', '.join(d.value for d in Direction)}"
            )
        where.add("c.direction = ?", query.direction)
    if query.language:
        where.add("coalesce(sc.language, c.language) = ?", query.language)
    for spec in query.items:
        rubric, item, result = _item(spec)
        condition = (
            "exists (select 1 from scorecards s join item_results i on i.scorecard_id = s.id "
            f"where s.call_id = c.call_id and {_LATEST} and i.item_id = ? and i.result = ?"
        )
        params: list[object] = [item, result]
        if rubric:
            condition += " and s.rubric_id = ?"
            params.append(rubric)
        where.add(condition + ")", *params)
    for flag in query.flags:
        where.add(
            "exists (select 1 from scorecards s join flags f on f.scorecard_id = s.id "
            f"where s.call_id = c.call_id and {_LATEST} and f.flag_id = ?)",
            flag,
        )
    for bound, op in ((query.min_score, ">="), (query.max_score, "<=")):
        if bound is not None:
            where.add(
                "exists (select 1 from scorecards s where s.call_id = c.call_id and "
                f"{_LATEST} and s.score {op} ?)",
                bound,
            )
    if query.review_status:
        if query.review_status not in _REVIEW_STATUSES:
            raise SearchQueryError(
                f"review status {query.review_status!r}: one of {', '.join(_REVIEW_STATUSES)}"
            )
        where.add(
            "coalesce((select r.status from reviews r where r.call_id = c.call_id), 'new') = ?",
            query.review_status,
        )
    for spec in query.metrics:
        name, op, value = _metric(spec)
        where.add(f"{_METRIC_SQL[name]} {op} ?", value)  # name is one of METRICS: no injection
    return where


def _turn_filters(query: SearchQuery, where: Filters) -> None:
    """The conditions on the turn: role and position in the call."""
    if query.role:
        roles = {Role.AGENT.value, Role.CUSTOMER.value}
        if query.role not in roles:
            raise SearchQueryError(f"role {query.role!r}: one of agent, customer")
        where.add("st.role = ?", query.role)
    for value, label in (
        (query.first_turns, "first turns"),
        (query.last_turns, "last turns"),
        (query.first_seconds, "first seconds"),
        (query.last_seconds, "last seconds"),
    ):
        if value is not None and value <= 0:
            raise SearchQueryError(f"{label}: give a number above 0, not {value}")
    if query.first_turns is not None:
        where.add("st.turn < ?", query.first_turns)
    if query.last_turns is not None:
        where.add("st.turn >= sc.turns - ?", query.last_turns)
    if query.first_seconds is not None:
        where.add("st.start < ?", query.first_seconds)
    if query.last_seconds is not None:
        where.add("st.end > sc.duration - ?", query.last_seconds)


#: The same columns, driven from the calls that pass the filters (CROSS JOIN fixes the order).
_CALLS_FIRST = """
select st.call_id, c.start, c.agent, c.agent_name, c.queue, coalesce(sc.language, c.language),
       c.direction, st.turn, st.role, st.start, st.end, st.text
from calls c
cross join search_calls sc on sc.call_id = c.call_id
cross join search_turns st on st.call_id = c.call_id
"""
#: From this many matching turns, walking the newest calls' turns finds the first hits sooner
#: than sorting every match by call (measured: docs/benchmarks.md, transcript search).
_MANY_MATCHES = 2000


def _calls_first(db: sqlite_utils.Database, expression: str) -> bool:
    """Whether to walk the calls newest first, keeping their turns the index matched (a common
    phrase: the first ``limit`` hits come from the newest calls), rather than every match."""
    matches = db.execute(
        "select count(*) from (select rowid from search_fts where search_fts match ? limit ?)",
        [expression, _MANY_MATCHES],
    ).fetchone()[0]
    return bool(matches >= _MANY_MATCHES)


def _phrase(tokens: Sequence[str]) -> str:
    return '"' + " ".join(token.replace('"', '""') for token in tokens) + '"'


def _match_expression(query: SearchQuery) -> tuple[str, list[str], list[str]]:
    body, sound = query_tokens(query.text)
    if not body:
        raise SearchQueryError(
            f"nothing to search for in {query.text!r}: type a word or a few characters"
        )
    expression = f"body : {_phrase(body)}"
    if sound and query.sounds_like:
        if len(sound) == len(body):
            # all Chinese characters: a verbatim match is a match of their sounds too, so the
            # pinyin column alone finds both (and hits are told apart by their text)
            expression = f"sound : {_phrase(sound)}"
        else:
            expression = f"({expression}) OR (sound : {_phrase(sound)})"
    return expression, body, sound


def _hit(
    row: Sequence[Any], match: str, masked: bool, similarity: float | None = None
) -> SearchHit:
    call_id, start, agent, agent_name, queue, language, direction, turn, role, at, end, text = row
    return SearchHit(
        call_id=call_id,
        call_start=datetime.fromisoformat(start),
        agent=agent,
        agent_name=agent_name,
        queue=queue,
        language=language,
        direction=direction or Direction.UNKNOWN.value,
        turn=turn,
        role=role,
        at=at,
        end=end,
        text=mask_personal_data(text) if masked else text,
        match=match,
        similarity=similarity,
    )


def _contains(tokens: Sequence[str], within: str) -> bool:
    return f" {' '.join(tokens)} " in f" {within} "


def search(
    db: sqlite_utils.Database, query: SearchQuery, *, masked: bool, zone: tzinfo = UTC
) -> SearchResult:
    """Run ``query``; ``masked`` hides personal numbers (reviewers, supervisors). Calls stored
    before the index existed are indexed first (:func:`qa.search.index.catch_up`)."""
    if query.limit <= 0:
        raise SearchQueryError(f"limit: give a number above 0, not {query.limit}")
    if query.since and query.until and query.since > query.until:
        raise SearchQueryError(f"since {query.since} is after until {query.until}")
    catch_up(db)
    if query.meaning:
        return _by_meaning(db, query, masked=masked, zone=zone)
    expression, body, _ = _match_expression(query)
    where = _call_filters(query, zone)
    _turn_filters(query, where)
    if _calls_first(db, expression):
        # a common phrase: the newest calls' turns that the index matched, until enough
        where.add("st.id in (select rowid from search_fts where search_fts match ?)", expression)
        sql = _CALLS_FIRST + where.sql()
        params = where.params
    else:
        # a rare phrase: every match, kept when its call passes, sorted
        sql = (
            _SELECT.format(source="search_fts f join search_turns st on st.id = f.rowid")
            + " where search_fts match ?"
            + where.sql("and")
        )
        params = [expression, *where.params]
    sql += " order by c.start desc, st.call_id, st.turn limit ?"
    rows = db.execute(sql, [*params, query.limit + 1]).fetchall()
    hits = []
    for row in rows[: query.limit]:
        verbatim = _contains(body, index_tokens(row[-1])[0])
        hits.append(_hit(row, "words" if verbatim else "sound", masked))
    return SearchResult(query, tuple(hits), truncated=len(rows) > query.limit, masked=masked)


def _by_meaning(
    db: sqlite_utils.Database, query: SearchQuery, *, masked: bool, zone: tzinfo
) -> SearchResult:
    if not query.text.strip():
        raise SearchQueryError("meaning search: type what was said, e.g. 'I want a refund'")
    try:
        encoder = load_encoder()
    except EncoderError as error:
        raise SearchQueryError(f"meaning search needs the sentence encoder: {error}") from None
    phrase = encoder.encode([query.text.strip()])[0]
    where = _call_filters(query, zone)
    calls = [
        row[0]
        for row in db.execute(
            "select c.call_id from calls c join search_calls sc on sc.call_id = c.call_id"
            + where.sql()
            + " order by c.start desc limit ?",
            [*where.params, MEANING_CALLS],
        )
    ]
    scored: list[tuple[float, Sequence[Any]]] = []
    for call_id in calls:
        row = db.execute(
            "select data from sentence_vectors where call_id = ?", [call_id]
        ).fetchone()
        if row is None:
            continue  # a call stored before intents: no vectors to compare with
        vectors = SentenceVectors.from_bytes(row[0])
        if vectors.encoder != encoder.id or not len(vectors):
            continue
        similarity = vectors.vectors @ phrase
        best: dict[int, float] = {}
        for turn, value in zip(vectors.turns.tolist(), similarity.tolist(), strict=True):
            best[turn] = max(best.get(turn, -1.0), value)
        close = [turn for turn, value in best.items() if value >= MEANING_THRESHOLD]
        if not close:
            continue
        turn_where = Filters()
        turn_where.add("st.call_id = ?", call_id)
        turn_where.add_in("st.turn", close)
        _turn_filters(query, turn_where)
        for found in db.execute(
            _SELECT.format(source="search_turns st") + turn_where.sql(), turn_where.params
        ):
            scored.append((best[found[7]], found))
    scored.sort(key=lambda pair: (-pair[0], pair[1][0], pair[1][7]))
    hits = tuple(
        _hit(row, "meaning", masked, round(float(np.float32(value)), 3))
        for value, row in scored[: query.limit]
    )
    return SearchResult(query, hits, truncated=len(scored) > query.limit, masked=masked)


def hit_context(
    db: sqlite_utils.Database, call_id: str, turn: int, *, around: int = 2, masked: bool
) -> list[tuple[int, str, float, float, str]]:
    """The turns around a hit: (turn, role, start, end, text), ``around`` each side."""
    rows = db.execute(
        "select turn, role, start, end, text from search_turns "
        "where call_id = ? and turn between ? and ? order by turn",
        [call_id, turn - around, turn + around],
    ).fetchall()
    return [
        (number, role, start, end, mask_personal_data(text) if masked else text)
        for number, role, start, end, text in rows
    ]
