"""An agent's appeal that waits too long for a supervisor's decision alerts once
(``appeal_waiting``), over a real webhook receiver on 127.0.0.1; a settled appeal never does, and
the agent's comment is not sent unless the site turns ``include_text`` on.

The store is tests/review_store.py's: Bob's complaint call, greeting and closing failed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_receivers import WEBHOOK_SECRET, WebhookReceiver
from alert_site import REVIEW_URL, write_site
from review_store import build_review_store

from qa.access.agent_links import link_agent
from qa.access.roles import Role, User
from qa.access.users import add_user
from qa.alerts import tick
from qa.config import AppealSettings, load_config
from qa.db import open_db
from qa.review.appeals import decide_appeal, open_appeal
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

COMPLAINT = "1763655760.42"
RITA, SAM, BOB = User("rita", Role.REVIEWER), User("sam", Role.SUPERVISOR), User("bob", Role.AGENT)
APPEALS = AppealSettings()
WORDS = "I said hello at the very start"


@pytest.fixture
def receiver():
    hooks = WebhookReceiver()
    hooks.start()
    yield hooks
    hooks.stop()


def test_an_appeal_left_waiting_alerts_once_and_a_settled_one_never(tmp_path, receiver) -> None:
    db = open_db(build_review_store(tmp_path))
    for user in (RITA, SAM, BOB):
        add_user(db, user.username, "a long enough password", user.role)
    link_agent(db, "bob", "1002")
    (card,) = effective_scorecards(db, [COMPLAINT])[COMPLAINT]
    choices = [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED) for i in card.machine.items]
    submit_review(db, COMPLAINT, RITA, choices, comment="", pass_marks={})
    waiting = open_appeal(db, BOB, COMPLAINT, card.scorecard_id, "greeting", WORDS, APPEALS)
    settled = open_appeal(db, BOB, COMPLAINT, card.scorecard_id, "closing", "I did", APPEALS)
    decide_appeal(db, SAM, settled.appeal_id, overturn=False, comment="no goodbye heard",
                  settings=APPEALS)  # fmt: skip
    site = write_site(tmp_path / "site.toml", tmp_path / "qa.db", f"""
[alerts]
review_url = "{REVIEW_URL}"
appeal_waiting_hours = 48

[alerts.channels.crm]
kind = "webhook"
url = "{receiver.url}/crm"
secret = "{WEBHOOK_SECRET}"
backoff_seconds = 0.01

[[alerts.rules]]
id = "appeals"
events = ["appeal_waiting"]
channels = ["crm"]
""")  # fmt: skip
    settings = load_config(site).alerts
    opened = waiting.opened_at

    assert tick(db, settings, now=opened + timedelta(hours=47)) == []  # not waiting long yet
    sent = tick(db, settings, now=opened + timedelta(hours=49))
    assert [s.key for s in sent] == [f"appeals/crm/appeal:{waiting.appeal_id}:waiting"]
    assert tick(db, settings, now=opened + timedelta(hours=60)) == []  # once per appeal
    (hook,) = receiver.received("/crm")
    assert hook.json["event"] == "appeal_waiting" and hook.json["call_id"] == COMPLAINT
    assert hook.json["agent"] == "1002" and hook.json["item"] == "greeting"
    assert WORDS not in hook.body.decode()  # the agent's words stay on the machine
    db.close()
