"""What each role must act on (qa.review.notifications), over tests/review_store.py's store: an
agent's evaluation to acknowledge, an appeal to settle, a review assigned, a calibration session
to score; each notice goes away when the work is done."""

from __future__ import annotations

from pathlib import Path

from review_store import build_review_store

from qa.access.agent_links import link_agent
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.config import AppealSettings
from qa.db import open_db
from qa.review.appeals import acknowledge, decide_appeal, open_appeal
from qa.review.assignment import assign
from qa.review.calibration import blind_items, create_session, score_items
from qa.review.notifications import notifications
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

COMPLAINT, GOOD = "1763655760.42", "1763651705.11"
RITA, ROB = User("rita", Role.REVIEWER), User("rob", Role.REVIEWER)
SAM, LEE, BOB = User("sam", Role.SUPERVISOR), User("lee", Role.SUPERVISOR), User("bob", Role.AGENT)
MARKS = {("inbound-service", "1"): 80.0}


def _texts(db, user: User, settings: AppealSettings | None = None) -> list[str]:
    return [n.text for n in notifications(db, user, appeals=settings)]


def test_each_role_is_told_what_to_act_on_until_it_is_done(tmp_path: Path) -> None:
    db = open_db(build_review_store(tmp_path))
    for person in (RITA, ROB, SAM, LEE, BOB):
        add_user(db, person.username, "a long enough password", person.role)
    link_agent(db, "bob", "1002")
    assert _texts(db, BOB) == [] and _texts(db, SAM) == []
    (card,) = effective_scorecards(db, [COMPLAINT])[COMPLAINT]
    submit_review(db, COMPLAINT, RITA, [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED)
                                        for i in card.machine.items])  # fmt: skip
    assert _texts(db, BOB) == ["1 evaluation(s) to acknowledge"]
    acknowledge(db, BOB, COMPLAINT)
    assert _texts(db, BOB) == []
    appeal = open_appeal(db, BOB, COMPLAINT, card.scorecard_id, "greeting", "hello",
                         AppealSettings())  # fmt: skip
    assert _texts(db, SAM) == ["1 appeal(s) to settle"]
    named = AppealSettings(settled_by=("lee",))
    assert _texts(db, SAM, named) == [] and _texts(db, LEE, named) == ["1 appeal(s) to settle"]
    decide_appeal(db, SAM, appeal.appeal_id, overturn=True, comment="heard", pass_marks=MARKS,
                  settings=AppealSettings())  # fmt: skip
    assert _texts(db, SAM) == [] and _texts(db, BOB) == ["1 appeal(s) decided"]

    assign(db, GOOD, "rob", SAM)
    assert _texts(db, ROB) == ["1 review(s) assigned to you"]
    create_session(db, SAM, "Dec", [GOOD], ["rita", "rob"])
    assert _texts(db, RITA) == ["calibration #1 Dec: 3 item(s) to score"]
    score_items(db, RITA, 1, {(i.scorecard_id, i.item_id): "pass"
                              for i in blind_items(db, RITA, 1)})  # fmt: skip
    assert _texts(db, RITA) == []
