"""Machine against reviewers, per rule (qa.review.agreement): the counts and precisions match a
hand count over a fixture store, per rubric version, with the calls behind each number and the
status the site's settings give each rule.

Hand count (rubric inbound-service v1; rita's decisions):

    call  greeting           closing            empathy             identity
    c1    pass, confirmed    fail -> rejected   pass -> overridden  N/A, confirmed
                                                 N/A
    c2    fail, confirmed
    c3    pass -> rejected
    c4    fail -> rejected   fail, confirmed

    greeting: 4 decisions, 2 confirmed, 2 rejected; machine fails 2 (c2, c4), kept 1 (c2):
              fail precision 0.5; machine passes 2 (c1, c3), kept 1: pass precision 0.5
    closing:  2 decisions, 1 rejected; machine fails 2, kept 1 (c4): fail precision 0.5
    empathy:  1 decision, overridden; machine pass not kept (c1)
    identity: 1 decision, confirmed; N/A: no precision

And v2 of the rubric (c5): greeting failed and confirmed, a row of its own.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_review_state import Item, store_call, user

from calldata import Flag, Verdict
from qa.access.roles import Role, User
from qa.cli import main
from qa.config import AgreementSettings
from qa.db import memory_db, open_db
from qa.review.agreement import flag_counts, rule_agreement
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

DAY = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
C, R, OV = Decision.CONFIRMED, Decision.REJECTED, Decision.OVERRIDDEN


def populate(store) -> None:
    """The calls and reviews of the hand count above."""
    fixtures = {
        "c1": ("1001", [Item("greeting", Verdict.PASS), Item("identity", Verdict.NA, 2, True),
                        Item("closing", Verdict.FAIL), Item("empathy", Verdict.PASS)]),
        "c2": ("1002", [Item("greeting", Verdict.FAIL)]),
        "c3": ("1002", [Item("greeting", Verdict.PASS)]),
        "c4": ("1001", [Item("greeting", Verdict.FAIL), Item("closing", Verdict.FAIL)]),
    }  # fmt: skip
    for hour, (call_id, (agent, items)) in enumerate(fixtures.items()):
        store_call(store, call_id, DAY + timedelta(hours=hour), agent, items)
    store_call(store, "c5", DAY + timedelta(days=1), "1002", [Item("greeting", Verdict.FAIL)],
               version="2")  # fmt: skip
    store_call(store, "c6", DAY, "1002", [Item("greeting", Verdict.FAIL)])  # never reviewed
    rita = user(store, "rita", Role.REVIEWER)
    decisions = {
        "c1": {"greeting": C, "identity": C, "closing": R, "empathy": OV},
        "c2": {"greeting": C},
        "c3": {"greeting": R},
        "c4": {"greeting": R, "closing": C},
        "c5": {"greeting": C},
    }
    for call_id, chosen in decisions.items():
        (card,) = effective_scorecards(store, [call_id])[call_id]
        choices = [
            ItemChoice(card.scorecard_id, item, decision,
                       Verdict.NA if decision is OV else None, "not applicable here")
            for item, decision in chosen.items()
        ]  # fmt: skip
        submit_review(store, call_id, rita, choices)


@pytest.fixture
def db():
    store = memory_db()
    populate(store)
    return store


def _counts(rule) -> tuple:
    return (rule.decisions, rule.confirmed, rule.rejected, rule.overridden, rule.machine_fail,
            rule.fail_kept, rule.fail_precision, rule.machine_pass, rule.pass_kept,
            rule.pass_precision)  # fmt: skip


def test_the_counts_match_the_hand_count(db) -> None:
    rules = {(r.rubric_version, r.item_id): r for r in rule_agreement(db)}
    assert sorted(rules) == [("1", "closing"), ("1", "empathy"), ("1", "greeting"),
                             ("1", "identity"), ("2", "greeting")]  # fmt: skip
    assert _counts(rules["1", "greeting"]) == (4, 2, 2, 0, 2, 1, 0.5, 2, 1, 0.5)
    assert _counts(rules["1", "closing"]) == (2, 1, 1, 0, 2, 1, 0.5, 0, 0, None)
    assert _counts(rules["1", "empathy"]) == (1, 0, 0, 1, 0, 0, None, 1, 0, 0.0)
    assert _counts(rules["1", "identity"]) == (1, 1, 0, 0, 0, 0, None, 0, 0, None)
    assert _counts(rules["2", "greeting"]) == (1, 1, 0, 0, 1, 1, 1.0, 0, 0, None)
    greeting = rules["1", "greeting"]
    assert greeting.calls == {"rejected": ("c3", "c4"), "false_fail": ("c4",),
                              "false_pass": ("c3",)}  # fmt: skip
    assert rules["1", "closing"].calls == {"rejected": ("c1",), "false_fail": ("c1",)}
    assert greeting.agreement == 0.5
    assert greeting.to_json()["calls"]["false_fail"] == ["c4"]


def test_the_settings_mark_rules_for_attention_or_trust(db) -> None:
    marked = {
        (r.rubric_version, r.item_id): r.status
        for r in rule_agreement(db, settings=AgreementSettings(min_decisions=2))
    }
    assert marked == {
        ("1", "greeting"): "attention",
        ("1", "closing"): "attention",
        ("1", "empathy"): "",
        ("1", "identity"): "",
        ("2", "greeting"): "",
    }
    lenient = AgreementSettings(min_decisions=1, attention_floor=0.4, skip_review_precision=0.5)
    trusted = {r.rule + " v" + r.rubric_version for r in rule_agreement(db, settings=lenient)
               if r.status == "trusted"}  # fmt: skip
    assert trusted == {"inbound-service/greeting v1", "inbound-service/closing v1",
                       "inbound-service/greeting v2"}  # fmt: skip


def test_filters_narrow_the_count(db) -> None:
    only_1002 = {(r.rubric_version, r.item_id): r.decisions
                 for r in rule_agreement(db, agent="1002")}  # fmt: skip
    assert only_1002 == {("1", "greeting"): 2, ("2", "greeting"): 1}  # c2, c3; c5
    first_day = rule_agreement(db, until=DAY.date())
    assert {r.rubric_version for r in first_day} == {"1"}
    assert rule_agreement(db, rubric="outbound-sales") == []
    assert flag_counts(db) == []  # no flags raised on the reviewed cards


def test_flags_are_counted_as_raised_on_reviewed_calls(db) -> None:
    complaint = Flag(id="complaint", title="Complaint", severity="high")
    for call_id in ("f1", "f2"):
        store_call(db, call_id, DAY, "1001", [Item("greeting", Verdict.PASS)], flags=(complaint,))
    (card,) = effective_scorecards(db, ["f1"])["f1"]
    submit_review(db, "f1", User("sam", Role.SUPERVISOR),
                  [ItemChoice(card.scorecard_id, "greeting", C)])  # fmt: skip
    (count,) = flag_counts(db)
    assert (count.flag_id, count.rubric_version, count.raised, count.calls) == (
        "complaint",
        "1",
        1,
        ("f1",),
    )  # f2 was never reviewed


def test_qa_rubrics_stats_and_the_agreement_export(tmp_path: Path) -> None:
    db_path = tmp_path / "qa.db"
    store = open_db(db_path)
    populate(store)
    store.close()
    config = tmp_path / "site.toml"
    config.write_text("[agreement]\nmin_decisions = 2\nattention_floor = 0.8\n")

    def qa(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    lines = [json.loads(line) for line in
             qa("rubrics", "stats", "--db", str(db_path), "--config", str(config),
                "--json").splitlines()]  # fmt: skip
    greeting = next(r for r in lines if (r["item_id"], r["rubric_version"]) == ("greeting", "1"))
    assert (greeting["decisions"], greeting["fail_precision"], greeting["status"],
            greeting["calls"]["false_fail"]) == (4, 0.5, "attention", ["c4"])  # fmt: skip
    rows = list(
        csv.DictReader(
            io.StringIO(
                qa("rubrics", "stats", "--db", str(db_path), "--csv", "--rubric", "inbound-service")
            )
        )
    )
    assert [(r["item_id"], r["rubric_version"], r["fail_precision"]) for r in rows] == [
        ("closing", "1", "0.5"), ("empathy", "1", ""), ("greeting", "1", "0.5"),
        ("identity", "1", ""), ("greeting", "2", "1.0")]  # fmt: skip
    table = qa("rubrics", "stats", "--db", str(db_path), "--config", str(config))
    assert "inbound-service/greeting" in table and "attention" in table
    exported = json.loads(qa("export", "agreement", "--db", str(db_path), "--format", "json"))
    (closing,) = [r for r in exported["records"] if r["item_id"] == "closing"]
    assert (closing["rejected"], closing["false_fail_calls"]) == (1, "c1")
