"""Agents and appeals in a real Chromium, with screenshots: an agent logs in and sees only the My
calls tab with their own calls, acknowledges an evaluation and appeals an item; a supervisor
overturns it in the Appeals tab and the agent's record changes; the agent sees the outcome. A
supervisor assigns a coaching task and the agent acknowledges it. A supervisor starts a
calibration session of 3 calls × 3 reviewers, each reviewer scores it blind in the Calibration
tab, and the supervisor reads the agreement report.

`qa serve` runs in a subprocess over tests/records_store.py's store (rita has reviewed Bob's call
c7-late-verification-en and confirmed every machine verdict); bob is an agent user linked to
agent 1002 (Bob Jones: c2, c6 and c7).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import chromium_browser, screenshot, send_login, serving_store
from playwright.sync_api import Browser, Page, expect
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store

from qa.access.agent_links import agent_of, link_agent
from qa.access.roles import Role
from qa.access.users import add_user, get_user
from qa.db import open_db
from qa.records.agents import agent_records
from qa.records.coaching import list_tasks
from qa.results.sentiment import save_sentiment
from qa.review.calibration import calibration_report
from scoring.sentiment import CallSentiment, TurnSentiment

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)

AGENT = "bob"
ADMIN = "ada"
C7 = "c7-late-verification-en"
COMPLAINT = "c3-complaint-en"
CALIBRATED = ("c1-good-en", "c2-no-id-en", "c6-no-greeting-en")
PANEL = (REVIEWER, "rob", "ria")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db_path = build_records_store(tmp_path_factory.mktemp("agents-ui"), reviewed=True)
    db = open_db(db_path)
    add_user(db, AGENT, PASSWORD, Role.AGENT)
    link_agent(db, AGENT, "1002")
    add_user(db, ADMIN, PASSWORD, Role.ADMIN)
    add_user(db, "alice", PASSWORD, Role.AGENT)  # linked by the admin in the Users tab
    for name in PANEL[1:]:
        add_user(db, name, PASSWORD, Role.REVIEWER)
    # The complaint's customer ends angrier than they began: the Negative sentiment queue.
    turns = (TurnSentiment(1, "customer", 2, 6, 0.1), TurnSentiment(5, "customer", 20, 26, -0.8))
    save_sentiment(db, COMPLAINT, CallSentiment("test", turns, -0.35, 0.3, 0.1, -0.8, None))
    db.close()
    config = db_path.with_name("qa.toml")
    config.write_text("[review]\nnegative_shift = -0.5\n")
    with serving_store(db_path, extra_args=["--config", str(config)]) as address:
        yield address, db_path


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


def _login(chromium: Browser, url: str, username: str) -> Page:
    page = chromium.new_context(viewport={"width": 1500, "height": 1300}).new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    send_login(page, username, PASSWORD)
    expect(page.locator("#qa-header")).to_contain_text(f"Signed in as {username}")
    return page


def _screenshot(page: Page, name: str) -> None:
    page.wait_for_timeout(800)
    screenshot(page, name)


def test_an_agent_appeals_and_a_supervisor_overturns(served, chromium):
    url, db_path = served
    page = _login(chromium, url, AGENT)
    # Only My evaluations: the staff tabs are hidden (and refuse agents on the server).
    expect(page.get_by_role("tab", name="My evaluations")).to_be_visible()
    for staff_tab in ("Calls", "Queues", "Agents", "Complaints", "Audit", "Appeals"):
        expect(page.get_by_role("tab", name=staff_tab, exact=True)).to_have_count(0)
    expect(page.get_by_role("tab")).to_have_count(2)  # My evaluations and Coaching
    # The agent lands on My evaluations, their own calls, without choosing the tab.
    expect(page.get_by_role("tab", name="My evaluations")).to_have_attribute(
        "aria-selected", "true"
    )
    table = page.locator("#qa-my-table")
    expect(table).to_be_visible()
    expect(table).to_contain_text(C7)
    for call in ("c2-no-id-en", "c6-no-greeting-en"):
        expect(table).to_contain_text(call)
    for other in ("c1-good-en", "c3-complaint-en", "c4-good-zh"):  # Alice's and Wang's
        expect(table).not_to_contain_text(other)
    expect(page.locator("#qa-my-note")).to_contain_text("1 evaluation(s) to acknowledge")
    expect(page.locator("#qa-notices")).to_contain_text("1 evaluation(s) to acknowledge")
    table.get_by_role("gridcell", name=C7).click()
    expect(page.locator("#qa-my-title")).to_contain_text("evaluated by rita")
    assert "4155550107" not in page.content()  # the customer's number is masked
    page.locator("#qa-my-ack").click()
    expect(page.locator("#qa-my-message")).to_contain_text("You acknowledged")
    expect(page.locator("#qa-my-note")).to_contain_text("0 evaluation(s) to acknowledge")
    page.locator("#qa-my-item input").click()
    page.get_by_role("option", name="counts fail").first.click()
    page.locator("#qa-my-comment textarea").fill("I verified the PIN before the switch, at 0:05")
    page.locator("#qa-my-appeal").click()
    expect(page.locator("#qa-my-message")).to_contain_text("Appeal #1 sent")
    expect(page.locator("#qa-my-appeals")).to_contain_text("open")
    _screenshot(page, "agent-my-calls")

    lead = _login(chromium, url, SUPERVISOR)
    expect(lead.locator("#qa-notices")).to_contain_text("1 appeal(s) to settle (Appeals)")
    expect(lead.get_by_role("tab", name="My evaluations")).to_have_count(0)
    lead.get_by_role("tab", name="Appeals").click()
    appeals = lead.locator("#qa-appeals-table")
    expect(appeals).to_contain_text(C7)
    appeals.get_by_role("gridcell", name=C7).click()
    expect(lead.locator("#qa-appeal-detail")).to_contain_text("I verified the PIN")
    lead.locator("#qa-appeal-comment textarea").fill("The PIN was asked at 0:05; the ASR missed it")
    lead.locator("#qa-appeal-overturn").click()
    expect(lead.locator("#qa-appeal-message")).to_contain_text("Appeal #1 overturned.")
    _screenshot(lead, "supervisor-appeals")
    lead.get_by_role("tab", name="Agents").click()
    lead.get_by_role("button", name="Refresh").first.click()
    bob_row = lead.locator("#qa-team [role=row]", has_text="Bob Jones")
    expect(bob_row).to_contain_text("100%")  # acknowledged, appealed, overturned
    lead.context.close()

    db = open_db(db_path)
    try:
        (record,) = agent_records(db, agent="1002")
    finally:
        db.close()
    assert (record.acknowledgement_rate, record.appeal_rate, record.overturn_rate) == (1, 1, 1)

    page.locator("#qa-my-calls").get_by_role("button", name="Refresh").click()
    table.get_by_role("gridcell", name=C7).click()
    expect(page.locator("#qa-my-appeals")).to_contain_text("overturned")
    expect(page.locator("#qa-my-appeals")).to_contain_text("the ASR missed it")
    expect(page.locator("#qa-my-scorecard")).to_contain_text("this result counts")
    _screenshot(page, "agent-appeal-overturned")
    page.context.close()


def test_the_rules_table_and_a_calibration_report(served, chromium):
    url, db_path = served
    admin = _login(chromium, url, ADMIN)
    admin.get_by_role("tab", name="Rules").click()
    admin.get_by_role("button", name="Refresh").nth(0).click()
    rules = admin.locator("#qa-rules-table")
    # The store's one review (c7) confirmed every item but the identity item the appeal
    # overturned (the first test): that rule has 1 decision, overridden, 0% of 1 fail kept.
    row = rules.locator("[role=row]", has_text="inbound-service/identity_verification")
    expect(row).to_contain_text("0% of 1")
    rules.get_by_role("gridcell", name="inbound-service/identity_verification").click()
    expect(admin.locator("#qa-rules-calls")).to_contain_text(C7)
    _screenshot(admin, "tab-rules")
    # The admin links the new agent user alice to agent 1001 (Alice Smith's calls).
    admin.get_by_role("tab", name="Users").click()
    expect(admin.locator("#qa-users [role=row]", has_text="alice")).to_contain_text("(not linked)")
    admin.locator("#qa-user-name textarea, #qa-user-name input").first.fill("alice")
    admin.locator("#qa-user-agent input").click()
    admin.get_by_role("option", name="Alice Smith (1001)").click()
    admin.locator("#qa-user-link").click()
    expect(admin.locator("#qa-users-result")).to_contain_text("Linked alice to agent 1001.")
    expect(admin.locator("#qa-users [role=row]", has_text="alice")).to_contain_text("1001")
    _screenshot(admin, "users-link-agent")
    admin.context.close()
    db = open_db(db_path)
    try:
        assert agent_of(db, "alice") == "1001"
    finally:
        db.close()

    lead = _login(chromium, url, SUPERVISOR)
    lead.get_by_role("tab", name="Calibration").click()
    tools = lead.locator("#qa-cal-lead")
    tools.get_by_label("New session title").fill("November")
    tools.get_by_label("Call ids (comma-separated)").fill(", ".join(CALIBRATED))
    for name in PANEL:
        tools.get_by_label("Reviewers").click()
        lead.get_by_role("option", name=name, exact=True).click()
    lead.locator("#qa-cal-start").click()
    expect(lead.locator("#qa-cal-note")).to_contain_text("Started session #1: 3 call(s)")
    lead.context.close()

    # Each reviewer scores blind: rita and rob fail c6's greeting (nobody greeted), ria passes
    # it; all three pass the rest at once.
    for name in PANEL:
        reviewer = _login(chromium, url, name)
        expect(reviewer.locator("#qa-notices")).to_contain_text("calibration")
        reviewer.get_by_role("tab", name="Calibration").click()
        reviewer.locator("#qa-cal-session input").click()
        reviewer.get_by_role("option", name="#1 November").click()
        items = reviewer.locator("#qa-cal-items")
        expect(items).to_contain_text("c6-no-greeting-en")
        header = items.locator("[role=row]").first.text_content() or ""
        assert "Your verdict" in header and "achine" not in header  # blind: no machine column
        verdict = reviewer.locator("#qa-cal-verdict")
        if name != "ria":
            reviewer.locator("#qa-cal-item input").click()
            c6_greeting = re.compile("c6-no-greeting-en .* inbound-service.Greets")
            reviewer.get_by_role("option", name=c6_greeting).click()
            verdict.get_by_text("fail", exact=True).click()
            reviewer.locator("#qa-cal-save").click()
            expect(reviewer.locator("#qa-cal-note")).to_contain_text("You have scored 1 of 24")
        verdict.get_by_text("pass", exact=True).click()
        reviewer.locator("#qa-cal-rest").click()
        expect(reviewer.locator("#qa-cal-note")).to_contain_text("You have scored 24 of 24")
        expect(reviewer.locator("#qa-cal-lead")).to_be_hidden()
        if name == REVIEWER:
            _screenshot(reviewer, "calibration-blind-scoring")
        reviewer.context.close()

    lead = _login(chromium, url, SUPERVISOR)
    lead.get_by_role("tab", name="Calibration").click()
    lead.locator("#qa-cal-session input").click()
    lead.get_by_role("option", name="#1 November").click()
    summary = lead.locator("#qa-cal-summary")
    expect(summary).to_contain_text("overall Fleiss' kappa")
    for name in PANEL:
        expect(summary).to_contain_text(f"{name}: scored 24/24")
    db = open_db(db_path)
    try:
        report = calibration_report(db, get_user(db, SUPERVISOR), 1)
    finally:
        db.close()
    (greeting,) = [i for i in report.items if i.item_id == "greeting"]
    assert greeting.agreement is not None and greeting.agreement < 1  # ria differs on c6
    row = lead.locator("#qa-cal-report [role=row]", has_text="inbound-service/greeting")
    expect(row).to_contain_text(f"{greeting.agreement:.0%}")  # the figures the library gives
    _screenshot(lead, "tab-calibration")
    lead.context.close()


def test_a_supervisor_assigns_coaching_and_the_agent_acknowledges(served, chromium):
    url, db_path = served
    lead = _login(chromium, url, SUPERVISOR)
    # First, the Negative sentiment queue ([review] negative_shift of the served config).
    lead.get_by_role("tab", name="Queues").click()
    lead.locator("#qa-queue-pick input").click()
    lead.get_by_role("option", name=re.compile(r"^Negative sentiment \(1 open of 1\)")).click()
    row = lead.locator("#qa-queue [role=row]", has_text=COMPLAINT)
    expect(row).to_contain_text("customer sentiment moved -0.90 start→end (at or under -0.50)")
    _screenshot(lead, "queue-negative-sentiment")
    lead.get_by_role("tab", name="Coaching").click()
    lead.locator("#qa-coaching-agent input").click()
    lead.get_by_role("option", name="Bob Jones").click()
    lead.locator("#qa-coaching-goal textarea").fill("Verify the caller before any account detail")
    lead.locator("#qa-coaching-due textarea").fill("2026-12-18")
    lead.locator("#qa-coaching-moments textarea").fill(f"{C7} 0:05 the PIN asked after the switch")
    lead.locator("#qa-coaching-assign").click()
    message = lead.locator("#qa-coaching-message")
    expect(message).to_contain_text("Assigned task #1 to 1002")
    expect(lead.locator("#qa-coaching-table")).to_contain_text("Verify the caller")
    _screenshot(lead, "coaching-assign")
    lead.context.close()

    agent = _login(chromium, url, AGENT)
    expect(agent.locator("#qa-notices")).to_contain_text("coaching")
    agent.get_by_role("tab", name="Coaching").click()
    tasks = agent.locator("#qa-coaching-table")
    expect(tasks).to_contain_text("Verify the caller")
    expect(agent.locator("#qa-coaching-lead")).to_be_hidden()  # agents do not assign
    agent.locator("#qa-coaching-task input").fill("1")
    agent.locator("#qa-coaching-ack").click()
    expect(agent.locator("#qa-coaching-message")).to_contain_text("You acknowledged task #1.")
    expect(tasks.locator("[role=row]", has_text="Verify the caller")).to_contain_text(
        "acknowledged"
    )
    _screenshot(agent, "coaching-acknowledged")
    agent.context.close()
    db = open_db(db_path)
    try:
        (task,) = list_tasks(db, agent="1002")
    finally:
        db.close()
    assert task.status == "acknowledged" and task.moments[0].call_id == C7


def test_a_reviewer_rejects_a_flag_and_the_rules_tab_shows_its_precision(served, chromium):
    url, db_path = served
    # rita opens Alice's complaint call: the machine raised a complaint; she rejects it.
    page = _login(chromium, url, REVIEWER)
    page.locator("#qa-calls [role=gridcell]", has_text=COMPLAINT).click()
    expect(page.locator("#qa-call-title")).to_contain_text(COMPLAINT)
    flag = page.locator("#qa-flag-inbound-service--complaint")
    expect(flag).to_contain_text("machine: raised (high)")
    expect(flag.get_by_label("Confirm")).to_be_checked()  # what Submit saves unless changed
    flag.get_by_label("Reject").check()
    page.locator("#qa-flagnote-inbound-service--complaint textarea").fill(
        "asks about a bill, no complaint"
    )
    _screenshot(page, "review-flag-reject")
    page.locator("#qa-review-submit").click()
    expect(page.locator("#qa-call-title")).not_to_contain_text(COMPLAINT)  # the next call
    page.context.close()
    db = open_db(db_path)
    try:
        stored = db.execute("select flag_id, decision, decided_by from review_flags "
                            "where call_id = ?", [COMPLAINT]).fetchall()  # fmt: skip
    finally:
        db.close()
    assert stored == [("complaint", "rejected", REVIEWER)]

    # The supervisor's Rules tab: the complaint flag, raised once, rejected once: 0% of 1.
    lead = _login(chromium, url, SUPERVISOR)
    lead.get_by_role("tab", name="Rules").click()
    lead.get_by_role("button", name="Refresh").nth(0).click()
    flags = lead.locator("#qa-rules-flags")
    row = flags.locator("[role=row]", has_text="inbound-service/complaint")
    expect(row).to_contain_text("0% of 1")
    flags.get_by_role("gridcell", name="inbound-service/complaint").click()
    expect(lead.locator("#qa-rules-calls")).to_contain_text(
        f"Rejected (raised wrongly) (1): {COMPLAINT}"
    )
    _screenshot(lead, "rules-flag-precision")
    lead.context.close()
