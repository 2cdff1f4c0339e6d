"""The review workflow in a real Chromium: a queue, claiming a call, playing it, evidence seeking,
overriding an item with a comment, submitting and seeing the reviewer's result count; what a
reviewer may not do (admin pages, another reviewer's submitted review); the login rate limit.

`qa serve --config` runs in a subprocess over the fixture store of test_review, with the complaint
and good calls re-scored by a rubric version whose scorecards keep their pass mark. Screenshots of
the tabs are saved (tests/browser.py says where).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import (
    Server,
    chromium_browser,
    login,
    screenshot,
    seek_by_clicking,
    send_login,
    serving,
    wait_for_audio,
)
from playwright.sync_api import Browser, Page, expect
from review_store import build_review_store, rescored_v2_cards

from calldata import Verdict
from qa.access.roles import Role
from qa.access.users import LOGIN_MAX_FAILURES, add_user, get_user
from qa.db import open_db
from qa.review.state import Decision, ItemChoice, effective_scorecards
from qa.review.submit import submit_review

pytestmark = pytest.mark.browser

COMPLAINT_CALL, GOOD_CALL = "1763655760.42", "1763651705.11"
PASSWORD = "review password 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from qa.results.store import insert_scorecards

    root = tmp_path_factory.mktemp("review-ui")
    db_path = build_review_store(root)
    db = open_db(db_path)
    with db.conn:
        insert_scorecards(db, rescored_v2_cards())
    db.close()
    config = root / "site.toml"
    config.write_text('timezone = "America/New_York"\n[review]\nlow_score = 0.7\n')
    with serving(db_path, ["--config", str(config)]) as running:
        db = open_db(db_path)
        for name, role in (("rita", Role.REVIEWER), ("mei", Role.REVIEWER),
                           ("sam", Role.SUPERVISOR), ("locky", Role.REVIEWER)):  # fmt: skip
            add_user(db, name, PASSWORD, role)
        db.close()
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _choose(page: Page, dropdown: str, option: str | re.Pattern) -> None:
    """Pick ``option`` in the Gradio dropdown with element id ``dropdown``."""
    page.locator(f"#{dropdown} input").click()
    page.get_by_role("option", name=option).click()


def _item(page: Page, rubric: str, item: str) -> str:
    return f"{rubric}--{item}"


def test_reviewer_works_a_queue_and_the_override_counts(server: Server, chromium: Browser) -> None:
    page = login(chromium, server, "rita", PASSWORD)
    expect(page.locator("#qa-header")).to_contain_text("Signed in as rita (reviewer")
    _tab(page, "Queues")
    # Not a supervisor: no assigning.
    expect(page.locator("#qa-assign")).to_be_hidden()
    _choose(page, "qa-queue-pick", re.compile(r"^Complaints \(1 open of 1\)"))
    queue = page.locator("#qa-queue")
    expect(queue).to_contain_text("Customer complaint (high)")
    expect(queue.locator("[role=gridcell]", has_text=GOOD_CALL)).to_have_count(0)
    screenshot(page, "queues")
    queue.locator("[role=gridcell]", has_text=COMPLAINT_CALL).click()
    expect(page.locator("#qa-queue-picked textarea, #qa-queue-picked input")).to_have_value(
        COMPLAINT_CALL
    )
    page.locator("#qa-queue-claim").click()

    # The Calls tab shows the call, claimed by rita.
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {COMPLAINT_CALL}")
    expect(page.locator("#qa-review-state")).to_contain_text("in_review, assigned to rita")
    expect(page.locator("#qa-review-state")).to_contain_text("complaints: Customer complaint")

    # Play it: evidence links seek the audio.
    wait_for_audio(page)
    seek_by_clicking(page, page.locator("#qa-flags a.qa-seek").first, 2.0)
    closing_evidence = page.locator("#qa-scorecard [data-item=closing] a.qa-seek")
    seek_by_clicking(page, closing_evidence, 6.5)

    # Override the closing item: without a comment it is refused...
    closing = _item(page, "inbound-service", "closing")
    page.locator(f"#qa-decision-{closing}").get_by_label("Override").check()
    _choose(page, f"qa-verdict-{closing}", "PASS")
    page.locator("#qa-review-submit").click()
    expect(page.get_by_text("an override needs a comment saying why")).to_be_visible()
    expect(page.locator("#qa-review-state [data-status]")).to_have_text("in_review")
    # ...with one it is taken, and the reviewer's result counts.
    page.locator(f"#qa-comment-{closing} textarea").fill("said goodbye at 0:09; ASR missed it")
    page.locator("#qa-review-comment textarea").fill("rude start, but closed the call")
    screenshot(page, "review-form")
    page.locator("#qa-review-submit").click()
    # Submitting moves on to the next call of the queues; the reviewed one is a click away.
    expect(page.locator("#qa-call-title")).not_to_contain_text(f"Call {COMPLAINT_CALL}")
    expect(page.locator("#qa-call-title")).to_contain_text("Call ")
    page.locator("#qa-calls [role=gridcell]", has_text=COMPLAINT_CALL).click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {COMPLAINT_CALL}")
    scorecard = page.locator("#qa-scorecard")
    expect(scorecard.locator("[data-counts=human]")).to_contain_text(
        "Reviewed by rita: 50/100 (50%) FAIL — this result counts"
    )
    expect(scorecard.locator("[data-item=closing] [data-decision]")).to_contain_text(
        "reviewer rita: overridden → PASS “said goodbye at 0:09; ASR missed it”"
    )
    expect(page.locator("#qa-review-state [data-status]")).to_have_text("done")
    expect(page.locator("#qa-review-state")).to_contain_text("rude start, but closed the call")
    # The call list counts the reviewer's result too.
    row = page.locator("#qa-calls [role=row]", has_text=COMPLAINT_CALL)
    expect(row).to_contain_text("done (rita)")
    expect(row).to_contain_text("50%")
    # The audit trail says who changed what, from what to what, and why.
    page.locator("#qa-audit-trail").get_by_text("Audit trail").click()
    trail = page.locator("#qa-audit")
    expect(trail.locator("[data-action='review.claim']")).to_contain_text("rita")
    expect(trail.locator("[data-action='item.override']")).to_contain_text(
        "fail → overridden: pass"
    )
    expect(trail.locator("[data-action='item.override']")).to_contain_text("ASR missed it")
    screenshot(page, "calls-reviewed")
    # The Queues tab loads its list again when shown: the reviewed call has left the open queue.
    _tab(page, "Queues")
    expect(page.locator("#qa-queue-note")).to_contain_text("No call in this queue")
    expect(page.locator("#qa-queue [role=gridcell]", has_text=COMPLAINT_CALL)).to_have_count(0)
    page.context.close()

    # Stored: the machine's verdict kept, the human one counting.
    db = open_db(server.db_path)
    (card,) = effective_scorecards(db, [COMPLAINT_CALL])[COMPLAINT_CALL]
    db.close()
    assert card.machine.item("closing").result is Verdict.FAIL
    assert card.card.item("closing").result is Verdict.PASS and card.reviewer == "rita"


def test_another_reviewer_cannot_change_a_submitted_review(
    server: Server, chromium: Browser
) -> None:
    db = open_db(server.db_path)
    (card,) = effective_scorecards(db, [GOOD_CALL])[GOOD_CALL]
    choices = [ItemChoice(card.scorecard_id, i.id, Decision.CONFIRMED) for i in card.machine.items]
    submit_review(db, GOOD_CALL, get_user(db, "rita"), choices)
    db.close()
    page = login(chromium, server, "mei", PASSWORD)
    page.locator("#qa-calls [role=gridcell]", has_text=GOOD_CALL).click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {GOOD_CALL}")
    expect(page.locator("#qa-review-note")).to_contain_text(
        "submitted by rita: only they or a supervisor may change it"
    )
    expect(page.locator("#qa-review-submit")).to_have_count(0)
    page.context.close()
    # A supervisor may, and sees the assign tools.
    lead = login(chromium, server, "sam", PASSWORD)
    lead.locator("#qa-calls [role=gridcell]", has_text=GOOD_CALL).click()
    expect(lead.locator("#qa-review-submit")).to_be_visible()
    _tab(lead, "Queues")
    expect(lead.locator("#qa-assign")).to_be_visible()
    lead.context.close()


def test_a_reviewer_is_denied_the_users_page_an_admin_is_not(
    server: Server, chromium: Browser
) -> None:
    page = login(chromium, server, "rita", PASSWORD)
    _tab(page, "Users")
    expect(page.locator("#qa-users-notice")).to_contain_text("Only admins manage users")
    expect(page.locator("#qa-user-add")).to_be_hidden()
    screenshot(page, "users-denied")
    page.context.close()

    admin = login(chromium, server, "admin", server.admin_password)
    _tab(admin, "Users")
    expect(admin.locator("#qa-users")).to_contain_text("rita")
    admin.locator("#qa-user-name textarea, #qa-user-name input").first.fill("newbie")
    admin.locator("#qa-user-password input").fill("a fresh password")
    admin.locator("#qa-user-add").click()
    expect(admin.locator("#qa-users-result")).to_contain_text("Added newbie (reviewer)")
    expect(admin.locator("#qa-users")).to_contain_text("newbie")
    screenshot(admin, "users")
    admin.context.close()


def test_five_wrong_passwords_lock_the_account_on_that_browser(
    server: Server, chromium: Browser
) -> None:
    page = login(chromium, server, "locky", "wrong password 0")
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    expect(page.get_by_text(f"After {LOGIN_MAX_FAILURES} wrong passwords")).to_be_visible()
    for n in range(1, LOGIN_MAX_FAILURES):
        send_login(page, "locky", f"wrong password {n}")
        page.wait_for_timeout(300)
    send_login(page, "locky", PASSWORD)  # right, but locked
    page.wait_for_timeout(1000)
    expect(page.locator("#qa-header")).to_have_count(0)
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    page.context.close()
    db = open_db(server.db_path)
    (failures,) = db.execute(
        "select count(*) from login_failures where username = 'locky'"
    ).fetchone()
    db.close()
    assert failures == LOGIN_MAX_FAILURES  # the locked attempt was not even counted
