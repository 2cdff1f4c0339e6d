"""Reviewers' decisions on flags (qa.review.flag_decisions) and the machine's flag precision
(qa.review.agreement.flag_agreement): saved with the review, checked, audit-logged, counted per
flag and rubric version to match a hand count, trusted or marked like rules, and a trusted flag
keeps its calls out of the complaints queue.

Hand count (rubric inbound-service v1, every call passes its one item ``greeting``; rita reviews):

    call  complaint             escalation_risk
    f1    raised, confirmed     raised, rejected
    f2    raised, confirmed     not raised, added (the machine missed it)
    f3    raised, confirmed
    f4    raised, rejected
    f5                          raised, confirmed
    f6    raised                                    (never reviewed: not counted)
    f7    raised                                    (reviewed without flag decisions: undecided)

    complaint:        raised on 5 reviewed calls (f1 f2 f3 f4 f7); 3 confirmed, 1 rejected (f4),
                      0 added, 1 undecided (f7): precision 3/4 = 0.75, recall 3/3 = 1.0
    escalation_risk:  raised on 2 (f1 f5); 1 confirmed (f5), 1 rejected (f1), 1 added (f2):
                      precision 1/2 = 0.5, recall 1/(1+1) = 0.5

Under ``min_decisions = 2, attention_floor = 0.6, skip_review_precision = 0.75``: complaint is
trusted (0.75 over 4 decisions), escalation_risk needs attention (0.5).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_review_state import Item, store_call, user

from calldata import Flag, Verdict
from qa.access.audit_log import entries
from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role
from qa.cli import main
from qa.config import AgreementSettings, ReviewSettings
from qa.db import memory_db, migrate, open_db
from qa.review.agreement import flag_agreement, trusted_flags
from qa.review.call_view import call_detail
from qa.review.flag_decisions import FlagChoice, FlagDecisionKind
from qa.review.queues import Queue, queue_calls, refresh_queues
from qa.review.state import Decision, ItemChoice, ReviewInputError, effective_scorecards
from qa.review.submit import submit_review

DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")
SETTINGS = AgreementSettings(min_decisions=2, attention_floor=0.6, skip_review_precision=0.75)
COMPLAINT = Flag(id="complaint", title="Customer complaint", severity="medium")
ESCALATION = Flag(id="escalation_risk", title="Strong negative language", severity="medium")
CF, RJ, AD = FlagDecisionKind.CONFIRMED, FlagDecisionKind.REJECTED, FlagDecisionKind.ADDED


def _card_id(db, call_id: str) -> int:
    (card,) = effective_scorecards(db, [call_id])[call_id]
    return card.scorecard_id


def _submit(db, call_id: str, reviewer, flags: dict[str, FlagDecisionKind] | None, **notes):
    card_id = _card_id(db, call_id)
    choices = None if flags is None else [
        FlagChoice(card_id, flag_id, decision, notes.get(flag_id, ""))
        for flag_id, decision in flags.items()
    ]  # fmt: skip
    items = [ItemChoice(card_id, "greeting", Decision.CONFIRMED)]
    return submit_review(db, call_id, reviewer, items, flags=choices)


def populate(db) -> None:
    """The calls and decisions of the hand count above."""
    raised = {"f1": (COMPLAINT, ESCALATION), "f2": (COMPLAINT,), "f3": (COMPLAINT,),
              "f4": (COMPLAINT,), "f5": (ESCALATION,), "f6": (COMPLAINT,),
              "f7": (COMPLAINT,)}  # fmt: skip
    for hour, (call_id, flags) in enumerate(raised.items()):
        store_call(db, call_id, DAY + timedelta(hours=hour), "1001",
                   [Item("greeting", Verdict.PASS)], flags=flags)  # fmt: skip
    rita = user(db, "rita", Role.REVIEWER)
    _submit(db, "f1", rita, {"complaint": CF, "escalation_risk": RJ})
    _submit(db, "f2", rita, {"complaint": CF, "escalation_risk": AD},
            escalation_risk="threatens to leave at 1:12")  # fmt: skip
    _submit(db, "f3", rita, {"complaint": CF})
    _submit(db, "f4", rita, {"complaint": RJ}, complaint="he was joking; call 13812345678")
    _submit(db, "f5", rita, {"escalation_risk": CF})
    _submit(db, "f7", rita, None)  # items only, as reviews submitted before flag decisions


def _counts(flag) -> tuple:
    return (flag.raised, flag.confirmed, flag.rejected, flag.added, flag.undecided,
            flag.precision, flag.recall)  # fmt: skip


@pytest.fixture
def db():
    store = memory_db()
    populate(store)
    return store


def test_the_flag_counts_match_the_hand_count(db) -> None:
    flags = {f.flag_id: f for f in flag_agreement(db, settings=SETTINGS)}
    assert sorted(flags) == ["complaint", "escalation_risk"]
    complaint, escalation = flags["complaint"], flags["escalation_risk"]
    assert _counts(complaint) == (5, 3, 1, 0, 1, 0.75, 1.0)
    assert _counts(escalation) == (2, 1, 1, 1, 0, 0.5, 0.5)
    assert complaint.calls == {"confirmed": ("f1", "f2", "f3"), "rejected": ("f4",),
                               "undecided": ("f7",)}  # fmt: skip
    assert escalation.calls == {"confirmed": ("f5",), "rejected": ("f1",), "added": ("f2",)}
    assert (complaint.status, escalation.status) == ("trusted", "attention")
    assert trusted_flags(db, SETTINGS) == {("inbound-service", "1", "complaint")}
    assert trusted_flags(db, AgreementSettings(min_decisions=2)) == set()  # site trusts none
    assert escalation.to_json()["calls"]["added"] == ["f2"]
    assert flag_agreement(db, agent="1002") == []
    assert [f.flag_id for f in flag_agreement(db, until=DAY.date())] == [
        "complaint",
        "escalation_risk",
    ]


def test_every_raised_flag_needs_a_decision_and_adds_must_be_missed_known_flags(db) -> None:
    rita = user(db, "rita2", Role.REVIEWER)
    store_call(db, "x", DAY, "1002", [Item("greeting", Verdict.PASS)], flags=(COMPLAINT,))
    with pytest.raises(ReviewInputError, match="undecided: “Customer complaint”"):
        _submit(db, "x", rita, {})
    with pytest.raises(ReviewInputError, match="was raised by the machine: confirm or reject"):
        _submit(db, "x", rita, {"complaint": AD})
    with pytest.raises(ReviewInputError, match="was not raised on this call: add it"):
        _submit(db, "x", rita, {"complaint": CF, "escalation_risk": RJ})
    with pytest.raises(ReviewInputError, match="not a flag of rubric inbound-service v1 this "
                       "store knows; pick one of: complaint, escalation_risk"):  # fmt: skip
        _submit(db, "x", rita, {"complaint": CF, "made_up": AD})
    # nothing was saved by the refused submissions
    assert db.execute("select count(*) from review_flags where call_id = 'x'").fetchone() == (0,)


def test_only_reviewing_roles_decide_flags(db) -> None:
    agent = user(db, "bob", Role.AGENT)
    auditor = user(db, "aud", Role.AUDITOR)
    for who in (agent, auditor):
        with pytest.raises(PermissionDeniedError):
            _submit(db, "f6", who, {"complaint": RJ})
    assert db.execute("select count(*) from review_flags where call_id = 'f6'").fetchone() == (0,)


def test_a_resubmission_replaces_the_decisions_and_the_audit_log_has_each_change(db) -> None:
    lead = user(db, "sam", Role.SUPERVISOR)
    _submit(db, "f2", lead, {"complaint": RJ}, complaint="not a complaint after all")
    rows = db.execute("select flag_id, decision, decided_by from review_flags "
                      "where call_id = 'f2'").fetchall()  # fmt: skip
    assert rows == [("complaint", "rejected", "sam")]
    log = [(e.action, e.actor, e.target, e.before, e.after, e.reason)
           for e in entries(db, call_id="f2", action_prefix="flag.")]  # fmt: skip
    assert log == [
        ("flag.add", "rita", "inbound-service/flag:escalation_risk", "not raised", "added",
         "threatens to leave at 1:12"),
        ("flag.reject", "sam", "inbound-service/flag:complaint", "confirmed", "rejected",
         "not a complaint after all"),
        ("flag.withdraw", "sam", "inbound-service/flag:escalation_risk", "added",
         "no decision", ""),
    ]  # fmt: skip
    # a plain first confirmation is not an entry of its own (as for items)
    assert entries(db, call_id="f3", action_prefix="flag.") == []


def test_the_call_view_shows_raised_and_addable_flags_with_comments_masked(db) -> None:
    rows = call_detail(db, "f4", viewer_role=Role.REVIEWER).flag_rows
    assert [(r.flag_id, r.raised, r.decision, r.severity) for r in rows] == [
        ("complaint", True, RJ, "medium"), ("escalation_risk", False, None, "")]  # fmt: skip
    assert "13812345678" not in rows[0].comment and rows[0].comment.startswith("he was joking")
    shown = call_detail(db, "f4", viewer_role=Role.AUDITOR).flag_rows
    assert shown[0].comment == "he was joking; call 13812345678"  # auditors see numbers


def test_a_trusted_flag_keeps_its_calls_out_of_the_complaints_queue(db) -> None:
    store_call(db, "n1", DAY + timedelta(days=1), "1002", [Item("greeting", Verdict.PASS)],
               flags=(COMPLAINT,))  # fmt: skip
    settings = ReviewSettings(sample_rate=0.01)
    summary = refresh_queues(db, settings, NY, SETTINGS)
    assert {row.call_id for row in queue_calls(db, Queue.COMPLAINTS)} == set()
    assert summary.trusted[Queue.COMPLAINTS] == 7  # f1-f4, f6, f7 and n1
    # without trust, every complaint flag queues its call
    plain = memory_db()
    populate(plain)
    store_call(plain, "n1", DAY + timedelta(days=1), "1002", [Item("greeting", Verdict.PASS)],
               flags=(COMPLAINT,))  # fmt: skip
    refresh_queues(plain, settings, NY, AgreementSettings(min_decisions=2))
    assert {row.call_id for row in queue_calls(plain, Queue.COMPLAINTS)} == {
        "f1", "f2", "f3", "f4", "f6", "f7", "n1"}  # fmt: skip


def test_qa_rubrics_stats_and_the_export_carry_flag_precision(tmp_path: Path) -> None:
    db_path = tmp_path / "qa.db"
    store = open_db(db_path)
    populate(store)
    store.close()
    config = tmp_path / "site.toml"
    config.write_text("[agreement]\nmin_decisions = 2\nattention_floor = 0.6\n"
                      "skip_review_precision = 0.75\n")  # fmt: skip

    def qa(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = qa("rubrics", "stats", "--db", str(db_path), "--config", str(config), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    flags = {line["flag_id"]: line for line in lines if line["kind"] == "flag"}
    assert (flags["complaint"]["precision"], flags["complaint"]["status"],
            flags["complaint"]["calls"]["rejected"]) == (0.75, "trusted", ["f4"])  # fmt: skip
    assert (flags["escalation_risk"]["added"], flags["escalation_risk"]["recall"],
            flags["escalation_risk"]["status"]) == (1, 0.5, "attention")  # fmt: skip
    table = qa("rubrics", "stats", "--db", str(db_path), "--config", str(config))
    assert "inbound-service/flag:complaint" in table and "75% of 4" in table
    exported = json.loads(qa("export", "flag_agreement", "--db", str(db_path), "--format", "json"))
    (escalation,) = [r for r in exported["records"] if r["flag_id"] == "escalation_risk"]
    assert (escalation["rejected"], escalation["rejected_calls"], escalation["added_calls"],
            escalation["precision"]) == (1, "f1", "f2", 0.5)  # fmt: skip


def test_a_store_made_before_flag_decisions_gains_the_table_when_opened() -> None:
    store = memory_db()
    # a site's store of main before this migration: 020 applied, 017 not
    store.execute("drop table review_flags")
    store.execute("drop index idx_flags_flag_id_scorecard_id")
    store.execute("delete from _migrations where name = '017_flag_decisions'")
    store.conn.commit()
    assert migrate(store) == ["017_flag_decisions"]
    populate(store)
    assert [f.flag_id for f in flag_agreement(store)] == ["complaint", "escalation_risk"]
