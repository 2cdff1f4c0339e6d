"""``qa users link-agent`` and ``qa appeals`` on the review store, and the agent figures
``qa agents`` gains: one appeal overturned, one open."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner
from review_store import build_review_store

from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.cli import main
from qa.config import AppealSettings
from qa.db import open_db
from qa.review.appeals import acknowledge, decide_appeal, open_appeal
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

COMPLAINT = "1763655760.42"
PASSWORD = "a long enough password"


def qa(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_link_an_agent_then_list_appeals_and_the_agent_figures(tmp_path: Path) -> None:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    add_user(db, "bob", PASSWORD, Role.AGENT)
    add_user(db, "rita", PASSWORD, Role.REVIEWER)
    db.close()
    refused = CliRunner().invoke(main, ["users", "link-agent", "rita", "1002", "--db",
                                        str(db_path)])  # fmt: skip
    assert refused.exit_code == 1 and "only users of role agent are linked" in refused.output
    assert qa("users", "link-agent", "bob", "1002", "--db", str(db_path)) == (
        "linked bob to agent 1002\n")  # fmt: skip

    db = open_db(db_path)
    (card,) = effective_scorecards(db, [COMPLAINT])[COMPLAINT]
    choices = [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED) for i in card.machine.items]
    submit_review(db, COMPLAINT, User("rita", Role.REVIEWER), choices)
    bob, settings = User("bob", Role.AGENT), AppealSettings()
    acknowledge(db, bob, COMPLAINT)
    first = open_appeal(db, bob, COMPLAINT, card.scorecard_id, "greeting", "hello at 0:00",
                        settings)  # fmt: skip
    open_appeal(db, bob, COMPLAINT, card.scorecard_id, "closing", "goodbye at 0:10", settings)
    decide_appeal(db, User("ada", Role.ADMIN), first.appeal_id, overturn=True, comment="heard",
                  settings=settings, pass_marks={("inbound-service", "1"): 80.0})  # fmt: skip
    db.close()

    rows = [json.loads(line) for line in qa("appeals", "--db", str(db_path), "--json").splitlines()]
    assert [(r["item_id"], r["status"], r["decided_by"]) for r in rows] == [
        ("greeting", "overturned", "ada"), ("closing", "open", None)]  # fmt: skip
    table = list(csv.DictReader(io.StringIO(qa("appeals", "--db", str(db_path), "--csv",
                                               "--status", "open"))))  # fmt: skip
    assert [(r["call_id"], r["agent"], r["verdict_sought"]) for r in table] == [
        (COMPLAINT, "1002", "pass")]  # fmt: skip
    assert "closing" in qa("appeals", "--db", str(db_path), "--agent", "Bob Jones")
    (bob_record,) = [
        json.loads(line)
        for line in qa("agents", "--db", str(db_path), "--json", "--agent", "1002").splitlines()
    ]
    assert (
        bob_record["evaluations"],
        bob_record["acknowledgement_rate"],
        bob_record["appeal_rate"],
        bob_record["overturn_rate"],
    ) == (1, 1.0, 1.0, 1.0)
    assert bob_record["average_score"] == 50.0  # the overturned greeting counts
