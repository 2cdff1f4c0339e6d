"""Compliance audit: was the customer's identity verified before each transaction?

For every scored call where the rubric's ``identity_verification`` item applies (the agent
changed or opened something on the account), the audit shows the verdict that counts (the
reviewer's where one was submitted), the machine's verdict and the reviewer's decision, and the
evidence split in two: the transaction statements and the verification steps, each quoted with
its time in the call::

    for check in identity_audit(db, since=date(2026, 11, 1)):
        check.call_id, check.verified_before, check.transaction_at, check.verified_at
        check.transaction[0].text, check.verification

The split comes from re-running the item's two halves (its ``applies_if`` transaction condition
and the verification side of its ``before`` check) on the stored transcript with the rubric from the
rubrics folder; the stored item evidence is kept whole in ``evidence``. Personal numbers in quotes
are masked unless ``masked=False`` (auditors: :func:`qa.access.permissions.sees_personal_data`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, tzinfo
from pathlib import Path

import sqlite_utils

from calldata import Evidence, ItemResult, Verdict
from qa.access.masking import mask_personal_data
from qa.config import default_rubrics_dir
from qa.records.agents import ScoredCall, scored_calls
from qa.results.store import (
    CallHeader,
    HasCallHeader,
    load_call,
    load_normalized_texts,
    load_sentence_vectors,
    load_transcript,
)
from qa.review.state import ItemDecision, ReviewedScorecard
from scoring import Rubric, RubricError, load_rubrics, score_call

__all__ = ["IDENTITY_ITEM", "IdentityCheck", "identity_audit"]

logger = logging.getLogger(__name__)

IDENTITY_ITEM = "identity_verification"


@dataclass(frozen=True)
class IdentityCheck(HasCallHeader):
    """One call with a transaction: whether identity was verified before it, and the proof."""

    header: CallHeader
    rubric: str
    rubric_version: str
    machine_result: Verdict  # pass | fail (na when a reviewer found a transaction it missed)
    result: Verdict  # the verdict that counts: the reviewer's where there is one
    reason: str  # the machine's explanation
    decision: ItemDecision | None  # the reviewer's decision, None when not reviewed
    transaction: tuple[Evidence, ...]  # the transaction statements, in time order
    verification: tuple[Evidence, ...]  # the verification steps, in time order
    verification_complete: bool  # the steps add up to a verification (anywhere in the call)
    evidence: tuple[Evidence, ...]  # the item's stored evidence, whole
    masked: bool

    @property
    def verified_before(self) -> bool:
        """Identity verified before the first transaction, by the verdict that counts."""
        return self.result == Verdict.PASS

    @property
    def transaction_at(self) -> float | None:
        """Seconds into the call of the first transaction statement."""
        return self.transaction[0].start if self.transaction else None

    @property
    def verified_at(self) -> float | None:
        """Seconds into the call of the first verification step (None: never verified)."""
        return self.verification[0].start if self.verification else None

    @property
    def finding(self) -> str:
        """One line for the table: verified before, only after, or never."""
        if self.verified_before:
            return "verified before the transaction"
        if not self.verification_complete:
            return "never verified" if not self.verification else "never fully verified"
        first, transaction = self.verified_at, self.transaction_at
        if first is not None and transaction is not None and first >= transaction:
            return "verified only after the transaction"
        return "not verified before the transaction"


def _halves(rubric: Rubric, item_id: str) -> Rubric | None:
    """A two-item rubric: ``transaction`` (the item's applies_if) and ``verification`` (what
    must come first in its ``before`` check, or the whole check). None when the item is not
    gated by a transaction condition."""
    item = next((i for i in rubric.items if i.id == item_id), None)
    if item is None or item.applies_if is None:
        return None
    verification = item.check.before.first if item.check.before is not None else item.check
    parts = (
        item.model_copy(update={"id": "transaction", "applies_if": None,
                                "check": item.applies_if, "critical": False}),
        item.model_copy(update={"id": "verification", "applies_if": None,
                                "check": verification, "critical": False}),
    )  # fmt: skip
    return rubric.model_copy(update={"items": parts, "flags": ()}).with_libraries(rubric.libraries)


@dataclass(frozen=True)
class _Split:
    transaction: tuple[Evidence, ...]
    verification: tuple[Evidence, ...]
    verification_complete: bool


def _split(db: sqlite_utils.Database, call_id: str, halves: Rubric | None) -> _Split | None:
    if halves is None:
        return None
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None:
        return None
    vectors = load_sentence_vectors(db, call_id)
    normalized = load_normalized_texts(db, call_id)
    card = score_call(
        halves, transcript, load_call(db, call_id), vectors=vectors, normalized=normalized
    )

    def ordered(item: ItemResult) -> tuple[Evidence, ...]:
        # one step per turn: a turn matched by a phrase and by an intent is one step
        by_turn = {e.turn_index: e for e in reversed(item.evidence)}
        return tuple(sorted(by_turn.values(), key=lambda e: (e.start, e.turn_index)))

    verification = card.item("verification")
    return _Split(
        ordered(card.item("transaction")),
        ordered(verification),
        verification.result == Verdict.PASS,
    )


def _masked(evidence: tuple[Evidence, ...], masked: bool) -> tuple[Evidence, ...]:
    if not masked:
        return evidence
    return tuple(e.model_copy(update={"text": mask_personal_data(e.text)}) for e in evidence)


def _check(
    db: sqlite_utils.Database,
    call: ScoredCall,
    reviewed: ReviewedScorecard,
    halves: Rubric | None,
    masked: bool,
) -> IdentityCheck | None:
    machine = reviewed.machine
    item = machine.item(IDENTITY_ITEM)
    counted = reviewed.card.item(IDENTITY_ITEM).result
    decision = next((d for d in reviewed.decisions if d.item_id == IDENTITY_ITEM), None)
    if decision is not None and masked:
        decision = replace(decision, comment=mask_personal_data(decision.comment))
    if item.result == Verdict.NA and counted == Verdict.NA:
        return None  # no transaction in the call
    split = _split(db, call.call_id, halves)
    if split is None:  # no rubric to split with: the stored evidence, unsplit
        stored = tuple(sorted(item.evidence, key=lambda e: e.start))
        split = _Split((), stored, item.result == Verdict.PASS)
    return IdentityCheck(
        header=call.header,
        rubric=machine.rubric_id,
        rubric_version=machine.rubric_version,
        machine_result=item.result,
        result=counted,
        reason=mask_personal_data(item.reason) if masked else item.reason,
        decision=decision if reviewed.reviewed else None,
        transaction=_masked(split.transaction, masked),
        verification=_masked(split.verification, masked),
        verification_complete=split.verification_complete,
        evidence=_masked(item.evidence, masked),
        masked=masked,
    )


def identity_audit(
    db: sqlite_utils.Database,
    *,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    rubrics_dir: Path | None = None,
    masked: bool = True,
    tz: tzinfo = UTC,
) -> list[IdentityCheck]:
    """Every call with a transaction whose local day is within ``since``..``until``, oldest
    first. ``rubrics_dir`` (default: the shipped rubrics) splits the evidence into transaction
    and verification; a rubric missing there leaves the stored evidence unsplit."""
    try:
        rubrics = {r.id: r for r in load_rubrics(rubrics_dir or default_rubrics_dir())}
    except (RubricError, OSError) as exc:
        logger.warning("identity audit without rubrics (evidence left unsplit): %s", exc)
        rubrics = {}
    halves: dict[str, Rubric | None] = {}
    checks = []
    for call in scored_calls(db, since=since, until=until, agent=agent, tz=tz):
        for card in call.cards:
            if not any(i.id == IDENTITY_ITEM for i in card.machine.items):
                continue
            if card.rubric_id not in halves:
                rubric = rubrics.get(card.rubric_id)
                halves[card.rubric_id] = _halves(rubric, IDENTITY_ITEM) if rubric else None
            check = _check(db, call, card, halves[card.rubric_id], masked)
            if check is not None:
                checks.append(check)
    logger.info("identity audit: %d call(s) with a transaction", len(checks))
    return checks
