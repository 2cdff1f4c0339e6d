"""Trying a draft rubric on stored calls before deploying it: nothing is written.

Every stored call in the period (and of the agent) that the draft applies to is scored from its
stored transcript with the draft, and compared with the call's latest scorecard of the same
rubric id exactly as ``qa rescore`` compares (:func:`qa.results.rescore.verdict_changes`): so
the changes listed are the ones a re-score with the draft would make. Per item and flag it
counts each kind of change (pass→fail, fail→pass, to and from N/A; a flag raised or dropped),
keeps a few example calls with the evidence, and, where reviewers decided an item, how often the
old and the new verdict agree with them::

    draft = load_rubric("drafts/inbound-service.yaml", libraries, intents)
    report = try_rubric(db, draft, since=date(2026, 11, 1))
    report.changes, report.kinds(), report.agreement
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import sqlite_utils

from calldata import Evidence, Scorecard
from qa.access.masking import mask_personal_data
from qa.results.rescore import VerdictChange, previous_scorecard, verdict_changes
from qa.results.store import (
    CallScore,
    load_call,
    load_normalized_texts,
    load_sentence_vectors,
    transcript_for_scoring,
)
from scoring import Rubric, rubric_applies, score_call

__all__ = ["Agreement", "ChangeExample", "TryReport", "try_rubric"]


@dataclass(frozen=True)
class ChangeExample:
    call_id: str
    evidence: tuple[str, ...]  # "m:ss role: text", masked unless asked


@dataclass
class Agreement:
    """One item on the reviewed calls: how many, and how often each version agreed."""

    reviewed: int = 0
    old_agrees: int = 0
    new_agrees: int = 0


@dataclass
class TryReport:
    rubric_id: str
    version: str
    stored: int = 0  # calls with a transcript in the period
    scored: int = 0  # scored with the draft (it applies to them)
    not_applicable: int = 0
    first: int = 0  # scored calls with no earlier scorecard of the rubric
    passed_changed: int = 0
    changes: list[VerdictChange] = field(default_factory=list)
    examples: dict[tuple[str, str, str, str], list[ChangeExample]] = field(default_factory=dict)
    agreement: dict[str, Agreement] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def kinds(self) -> dict[tuple[str, str], Counter[str]]:
        """(item|flag, id) → "before→after" → how many calls."""
        found: dict[tuple[str, str], Counter[str]] = {}
        for change in self.changes:
            key = (change.what, change.id)
            found.setdefault(key, Counter())[f"{change.before}→{change.after}"] += 1
        return found

    def lines(self) -> list[str]:
        """The report as text lines (``qa rubrics try``, the Rubrics tab)."""
        report = self
        lines = [
            f"{report.rubric_id} v{report.version} (draft): {report.scored} of {report.stored} "
            f"stored call(s) scored ({report.not_applicable} not applicable, {report.first} with "
            f"no earlier scorecard); {len(report.changes)} verdict(s) would change on "
            f"{len({c.call_id for c in report.changes})} call(s); pass/fail changes on "
            f"{report.passed_changed}",
        ]
        for (what, ident), counts in sorted(report.kinds().items()):
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
            lines.append(f"  {what} {ident}: {kinds}")
            for (w, i, before, after), examples in sorted(report.examples.items()):
                if (w, i) != (what, ident):
                    continue
                for example in examples:
                    quote = "; ".join(example.evidence) or "(no evidence either way)"
                    lines.append(f"    {before}→{after} {example.call_id}: {quote}")
        if report.agreement:
            lines.append("agreement with reviewers (reviewed items):")
            for item, agreed in sorted(report.agreement.items()):
                lines.append(
                    f"  {item}: {agreed.reviewed} reviewed; deployed agrees {agreed.old_agrees}, "
                    f"draft agrees {agreed.new_agrees}"
                )
        for call_id, why in report.failed:
            lines.append(f"  could not score {call_id}: {why}")
        return lines

    def to_json(self) -> dict[str, object]:
        return {
            "rubric": self.rubric_id,
            "version": self.version,
            "stored": self.stored,
            "scored": self.scored,
            "not_applicable": self.not_applicable,
            "first": self.first,
            "passed_changed": self.passed_changed,
            "verdicts_changed": len(self.changes),
            "by_item": [
                {"what": what, "id": ident, "changes": dict(counts)}
                for (what, ident), counts in sorted(self.kinds().items())
            ],
            "examples": [
                {
                    "what": k[0],
                    "id": k[1],
                    "before": k[2],
                    "after": k[3],
                    "calls": [dataclasses.asdict(e) for e in examples],
                }
                for k, examples in sorted(self.examples.items())
            ],
            "agreement": {
                item: dataclasses.asdict(counts) for item, counts in sorted(self.agreement.items())
            },
            "changes": [dataclasses.asdict(change) for change in self.changes],
            "failed": [{"call_id": c, "reason": why} for c, why in self.failed],
        }


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _quoted(evidence: tuple[Evidence, ...], masked: bool) -> tuple[str, ...]:
    return tuple(
        f"{_clock(e.start)} {e.speaker.value}: {mask_personal_data(e.text) if masked else e.text}"
        for e in evidence[:2]
    )


def _evidence(old: CallScore, card: Scorecard, change: VerdictChange) -> tuple[Evidence, ...]:
    """What the side with something to show found (new first)."""
    if change.what == "item":
        for items in (card.items, old.items):
            for item in items:
                if item.id == change.id and item.evidence:
                    return item.evidence
        return ()
    for flags in (card.flags, old.flags):
        for flag in flags:
            if flag.id == change.id and flag.evidence:
                return flag.evidence
    return ()


def _human_verdicts(db: sqlite_utils.Database, rubric_id: str) -> dict[tuple[str, str], str]:
    """(call id, item id) → the reviewer's verdict, the latest decision of each."""
    rows = db.execute(
        "select call_id, item_id, verdict from review_items where rubric_id = ? "
        "order by decided_at",
        [rubric_id],
    ).fetchall()
    return {(call_id, item): verdict for call_id, item, verdict in rows}


def _stored(
    db: sqlite_utils.Database,
    since: date | None,
    until: date | None,
    agent: str | None,
    zone: tzinfo,
) -> list[tuple[str, str]]:
    def utc(day: date) -> str:
        moment = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")

    sql = "select t.call_id, t.transcript_json from transcripts t join calls c using (call_id)"
    where, params = [], []
    if since is not None:
        where.append("c.start >= ?")
        params.append(utc(since))
    if until is not None:
        where.append("c.start < ?")
        params.append(utc(until + timedelta(days=1)))
    if agent:
        where.append("(c.agent = ? or c.agent_name = ?)")
        params += [agent, agent]
    if where:
        sql += " where " + " and ".join(where)
    return list(db.execute(sql + " order by c.start, t.call_id", params).fetchall())


def try_rubric(
    db: sqlite_utils.Database,
    draft: Rubric,
    *,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    zone: tzinfo = UTC,
    examples: int = 3,
    masked: bool = True,
) -> TryReport:
    """Score the stored calls of the period with ``draft`` and report what would change;
    writes nothing. ``since``/``until`` are local days (inclusive) in ``zone``."""
    report = TryReport(draft.id, draft.version)
    human = _human_verdicts(db, draft.id)
    stored = _stored(db, since, until, agent, zone)
    report.stored = len(stored)
    for call_id, text in stored:
        try:
            call = load_call(db, call_id)
            transcript = transcript_for_scoring(text)
            if not rubric_applies(draft, call, transcript.language):
                report.not_applicable += 1
                continue
            vectors = load_sentence_vectors(db, call_id)  # read only: never stored here
            normalized = load_normalized_texts(db, call_id)
            card = score_call(draft, transcript, call, vectors=vectors, normalized=normalized)
        except (ValueError, KeyError, sqlite3.Error) as error:
            report.failed.append((call_id, f"{type(error).__name__}: {error}"))
            continue
        report.scored += 1
        old = previous_scorecard(db, call_id, draft.id)
        if old is None:
            report.first += 1
            continue
        if old.passed != card.passed:
            report.passed_changed += 1
        for change in verdict_changes(old, card):
            report.changes.append(change)
            key = (change.what, change.id, change.before, change.after)
            kept = report.examples.setdefault(key, [])
            if len(kept) < examples:
                kept.append(ChangeExample(call_id, _quoted(_evidence(old, card, change), masked)))
        old_items = {item.id: item.result.value for item in old.items}
        for item in card.items:
            decided = human.get((call_id, item.id))
            if decided is None or item.id not in old_items:
                continue
            counts = report.agreement.setdefault(item.id, Agreement())
            counts.reviewed += 1
            counts.old_agrees += old_items[item.id] == decided
            counts.new_agrees += item.result.value == decided
    return report
