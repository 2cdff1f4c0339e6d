"""Re-scoring stored calls with a (changed) rubric, without transcribing them again.

Every call in the store with a transcript, started on or after ``since``, that the rubric
applies to and that has no scorecard for this rubric *version* yet, is scored from its stored
transcript; the new scorecard is saved with its item results and flags in one transaction per call
(:func:`qa.results.store.insert_scorecards`). Scorecards of other versions stay as they are, each
with the version it was made with. The summary says what changed against each call's previous
version of the rubric::
    rubric = find_rubric(load_rubrics("rubrics"), "inbound-service")
    summary = rescore(db, rubric, since=datetime(2026, 11, 1, tzinfo=UTC))
    summary.rescored, summary.changes
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from calldata import Call, Flag, ItemResult, Scorecard
from qa.progress import ProgressHook, no_progress
from qa.results.store import (
    CallScore,
    call_scores,
    insert_scorecards,
    load_call,
    load_normalized_texts,
    load_sentence_vectors,
    scored_rubrics,
    stored_normalized_texts,
    stored_vectors,
    transcript_for_scoring,
)
from scoring import Rubric, rubric_applies, score_call

__all__ = [
    "RescoreSummary",
    "UnknownRubricError",
    "VerdictChange",
    "find_rubric",
    "previous_scorecard",
    "rescore",
    "transcript_for_scoring",
    "verdict_changes",
]

log = logging.getLogger(__name__)
_ABSENT = "-"  # a flag not raised, an item the other version does not have


class UnknownRubricError(LookupError):
    """No rubric with that id in the rubric directory."""


@dataclass(frozen=True)
class VerdictChange:
    """One item verdict or flag that differs from the call's previous version of the rubric."""

    call_id: str
    what: str  # "item" or "flag"
    id: str
    before: str  # pass / fail / na for items, the severity for flags, "-" when absent
    after: str


@dataclass
class RescoreSummary:
    """What ``rescore`` did (or, with ``dry_run``, would do)."""

    rubric_id: str
    version: str
    since: datetime | None = None
    dry_run: bool = False
    stored: int = 0  # calls with a transcript in the range
    rescored: int = 0  # scorecards made now for this version
    already: int = 0  # calls that already had a scorecard for this version
    not_applicable: int = 0  # calls the rubric does not apply to (direction, queue, language)
    first: int = 0  # re-scored calls that had no earlier version to compare with
    passed_changed: int = 0  # re-scored calls whose pass/fail changed
    changes: list[VerdictChange] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (call id, why)

    @property
    def calls_changed(self) -> int:
        """Re-scored calls with at least one changed verdict."""
        return len({change.call_id for change in self.changes})

    def to_json(self) -> dict[str, object]:
        """The ``qa rescore --json`` object."""
        return {
            "rubric": self.rubric_id,
            "version": self.version,
            "since": self.since.isoformat() if self.since else None,
            "dry_run": self.dry_run,
            "stored": self.stored,
            "rescored": self.rescored,
            "already": self.already,
            "not_applicable": self.not_applicable,
            "first": self.first,
            "verdicts_changed": len(self.changes),
            "calls_changed": self.calls_changed,
            "passed_changed": self.passed_changed,
            "changes": [dataclasses.asdict(change) for change in self.changes],
            "failed": [{"call_id": call_id, "reason": why} for call_id, why in self.failed],
        }


def find_rubric(rubrics: Iterable[Rubric], rubric_id: str) -> Rubric:
    """The rubric with this id; UnknownRubricError names the ones there are."""
    found = list(rubrics)
    for rubric in found:
        if rubric.id == rubric_id:
            return rubric
    known = ", ".join(sorted(r.id for r in found)) or "none"
    raise UnknownRubricError(f"no rubric with id {rubric_id!r} (known: {known})")


def _stored(db: sqlite_utils.Database, since: datetime | None) -> Iterator[tuple[str, str]]:
    """(call id, transcript JSON) of every call with a transcript, oldest first."""
    sql = (
        "select t.call_id, t.transcript_json from transcripts t "
        "join calls c on c.call_id = t.call_id"
    )
    params: list[str] = []
    if since is not None:
        sql += " where c.start >= ?"
        # stored as ISO 8601 UTC ("2026-11-20T09:00:00Z"): compare as text, to the second
        params.append(since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    sql += " order by c.start, t.call_id"
    yield from db.execute(sql, params).fetchall()


def _verdicts(items: Sequence[ItemResult], flags: Sequence[Flag]) -> dict[tuple[str, str], str]:
    found = {("item", item.id): item.result.value for item in items}
    found.update({("flag", flag.id): flag.severity for flag in flags})
    return found


def verdict_changes(old: CallScore, card: Scorecard) -> list[VerdictChange]:
    """The item verdicts and flags of ``card`` that differ from the call's ``old`` scorecard of
    the rubric (an item only one of them has is not a change; a flag raised or no longer
    raised is). ``qa rescore`` and ``qa rubrics try`` report these."""
    before = _verdicts(old.items, old.flags)
    after = _verdicts(card.items, card.flags)
    changes = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if key[0] == "item" and (was == _ABSENT or now == _ABSENT):
            continue  # an item added or dropped by the new version is not a changed verdict
        if was != now:
            changes.append(VerdictChange(card.call_id, key[0], key[1], was, now))
    return changes


def previous_scorecard(db: sqlite_utils.Database, call_id: str, rubric_id: str) -> CallScore | None:
    """The call's latest scorecard of the rubric (any version), or None."""
    for row in call_scores(db, call_id=call_id):
        if row.rubric == rubric_id:
            return row
    return None


def _compare(summary: RescoreSummary, old: CallScore | None, card: Scorecard) -> None:
    """Record what changed against the call's previous scorecard of the rubric."""
    if old is None:
        summary.first += 1
        return
    summary.changes.extend(verdict_changes(old, card))
    if old.passed != card.passed:
        summary.passed_changed += 1


def rescore(
    db: sqlite_utils.Database,
    rubric: Rubric,
    *,
    since: datetime | None = None,
    dry_run: bool = False,
    hook: ProgressHook = no_progress,
) -> RescoreSummary:
    """Score stored calls with ``rubric`` where they lack a scorecard for its version.

    ``since`` (timezone-aware; naive means UTC) keeps calls that started then or later. With
    ``dry_run`` nothing is written and the summary says what would change. A call that cannot
    be scored is recorded in ``failed`` and the others go on.
    """
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    summary = RescoreSummary(rubric.id, rubric.version, since=since, dry_run=dry_run)
    stored = list(_stored(db, since))
    summary.stored = len(stored)
    for done, (call_id, text) in enumerate(stored):
        hook("score", call_id, completed=done, total=len(stored))
        try:
            _rescore_call(db, rubric, call_id, text, summary)
        except (ValueError, KeyError, sqlite3.Error) as error:
            log.warning("re-scoring %s failed: %s", call_id, error)
            summary.failed.append((call_id, f"{type(error).__name__}: {error}"))
    hook("done", None, completed=len(stored), total=len(stored))
    log.info(
        "%s v%s: %d of %d stored calls re-scored, %d verdicts changed",
        rubric.id,
        rubric.version,
        summary.rescored,
        summary.stored,
        len(summary.changes),
    )
    return summary


def _rescore_call(
    db: sqlite_utils.Database, rubric: Rubric, call_id: str, text: str, summary: RescoreSummary
) -> None:
    if (rubric.id, rubric.version) in scored_rubrics(db, call_id):
        summary.already += 1
        return
    call: Call = load_call(db, call_id)
    transcript = transcript_for_scoring(text)
    if not rubric_applies(rubric, call, transcript.language):
        summary.not_applicable += 1
        return
    if summary.dry_run:  # nothing written: what a call lacks is worked out while it is scored
        vectors, normalized = load_sentence_vectors(db, call_id), load_normalized_texts(db, call_id)
    else:  # what a call processed before them lacks is worked out once and stored
        vectors = stored_vectors(db, call_id, transcript)
        normalized = stored_normalized_texts(db, call_id, transcript)
    card = score_call(rubric, transcript, call, vectors=vectors, normalized=normalized)
    previous = previous_scorecard(db, call_id, rubric.id)
    if not summary.dry_run:
        try:
            with db.conn:
                insert_scorecards(db, [card])
        except sqlite3.IntegrityError:  # another process scored it meanwhile
            summary.already += 1
            return
    summary.rescored += 1
    _compare(summary, previous, card)
