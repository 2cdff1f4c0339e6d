"""The Agents, Complaints and Audit tabs in a real Chromium, with screenshots of each.

`qa serve` runs in a subprocess over test_performance's store (rita has reviewed c7); Debian's
chromium is driven by Playwright (the system browser, never `playwright install`). Screenshots go
to test-artifacts/screenshots/ (or $QA_SCREENSHOTS) and their paths are printed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import chromium_browser, headings_whole, screenshot, send_login, serving_store
from playwright.sync_api import Browser, Page, expect
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store

from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db

pytestmark = pytest.mark.browser
expect.set_options(timeout=20_000)  # the first page loads every tab's records at once

AUDITOR = "aude"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db_path = build_records_store(tmp_path_factory.mktemp("records-ui"), reviewed=True)
    db = open_db(db_path)
    add_user(db, AUDITOR, PASSWORD, Role.AUDITOR)
    db.close()
    with serving_store(db_path, problems=("Traceback", "UserWarning")) as address:
        yield address


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


def _tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _screenshot(page: Page, name: str) -> None:
    page.wait_for_timeout(800)  # let the last update's fade-in settle: a picture for people
    screenshot(page, name)


def test_agents_tab_shows_the_team_with_rank_and_a_trend_plot(url, chromium):
    page = _login(chromium, url, SUPERVISOR)
    _tab(page, "Agents")
    team = page.locator("#qa-team")
    for name in ("Alice Smith", "Bob Jones", "Wang Fang"):
        expect(team.get_by_role("gridcell", name=name, exact=True)).to_have_count(1)
    # Wang (100 on every call) ranks first.
    first_row = team.locator("[role=row]").nth(1)
    expect(first_row).to_contain_text("Wang Fang")
    expect(first_row.get_by_role("gridcell").first).to_have_text("1")
    # The trend plots are drawn (Vega renders a canvas or an svg with the agents' lines).
    for plot in ("#qa-team-trend", "#qa-agent-trend"):
        expect(page.locator(f"{plot} canvas, {plot} svg").first).to_be_visible()
    expect(page.locator("#qa-team-trend")).to_contain_text("Average score per period")
    # One agent: per-item pass rates and complaints.
    page.locator("#qa-agent-choice input").click()
    page.get_by_role("option", name="Alice Smith").click()
    expect(page.locator("#qa-agent-items")).to_contain_text("greeting")
    expect(page.locator("#qa-agent-cases")).to_contain_text("c3-complaint-en")
    _screenshot(page, "tab-agents")
    page.context.close()


def test_a_reviewer_is_refused_agent_records_and_the_audit(url, chromium):
    page = _login(chromium, url, REVIEWER)
    _tab(page, "Agents")
    expect(page.locator("#qa-agents-denied")).to_contain_text("supervisors, auditors and admins")
    expect(page.locator("#qa-team")).to_have_count(0)
    _tab(page, "Audit")
    expect(page.locator("#qa-audit-denied")).to_be_visible()
    expect(page.locator("#qa-audit-table")).to_have_count(0)
    page.context.close()


def test_audit_tab_lists_the_transaction_before_id_call_with_evidence(url, chromium):
    page = _login(chromium, url, AUDITOR)
    _tab(page, "Audit")
    table = page.locator("#qa-audit-table")
    expect(page.locator("#qa-audit-summary")).to_contain_text(
        "4 call(s) with a transaction; 2 not verified before it"
    )
    headings_whole(page, "#qa-audit-table")
    row = table.locator("[role=row]", has_text="c2-no-id-en")
    expect(row).to_contain_text("NO: never fully verified")
    expect(row).to_contain_text("0:09 agent: “Okay, I have canceled the international roaming")
    expect(row).to_contain_text("0:16 agent: “Oh, right. Can you tell me your date of birth?”")
    late = table.locator("[role=row]", has_text="c7-late-verification-en")
    expect(late).to_contain_text("confirmed by rita")
    row.get_by_role("gridcell", name="c2-no-id-en").click()
    evidence = page.locator("#qa-audit-evidence")
    expect(evidence).to_contain_text("Transaction")
    expect(evidence).to_contain_text("0:09–0:13")
    expect(evidence).to_contain_text("not reviewed yet")
    # The download is the same audit as CSV.
    with page.expect_download() as download:
        page.locator("#qa-audit-download").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("call_id,start,agent") and "c2-no-id-en" in text
    _screenshot(page, "tab-audit")
    page.context.close()


def test_complaints_tab_lists_cases_and_a_supervisor_takes_one(url, chromium):
    page = _login(chromium, url, SUPERVISOR)
    _tab(page, "Complaints")
    cases = page.locator("#qa-cases")
    expect(cases.locator("[role=row]", has_text="c3-complaint-en")).to_contain_text("open")
    expect(cases.locator("[role=row]", has_text="c5-complaint-zh")).to_have_count(1)
    cases.get_by_role("gridcell", name="c3-complaint-en").click()
    expect(page.locator("#qa-case")).to_contain_text("formal complaint")
    page.locator("#qa-case-owner input").click()
    page.get_by_role("option", name=REVIEWER, exact=True).click()
    page.get_by_role("button", name="Set owner").click()
    expect(page.locator("#qa-case")).to_contain_text(f"Owner: {REVIEWER}")
    expect(cases.locator("[role=row]", has_text="c3-complaint-en")).to_contain_text(REVIEWER)
    # The customer is told who owns the case: the four-hour deadline is met.
    page.get_by_role("button", name="Customer told who owns the case").click()
    first_deadline = page.locator("#qa-case .qa-evidence").first
    expect(first_deadline).to_contain_text("owner not confirmed to the customer in 4 hours")
    expect(first_deadline).to_contain_text("— met")
    # The do-not-disturb list, numbers masked for a supervisor.
    dnd = page.locator("#qa-dnd")
    expect(dnd.locator("[role=row]", has_text="c9-dnd-pitch-en")).to_contain_text("marketing")
    expect(dnd.locator("[role=row]", has_text="c8-dnd-survey-zh")).to_contain_text("survey")
    expect(dnd).to_contain_text("[phone ···0109]")
    assert "4155550109" not in page.content()
    _screenshot(page, "tab-complaints")
    page.context.close()
    reviewer = _login(chromium, url, REVIEWER)
    _tab(reviewer, "Complaints")
    expect(reviewer.get_by_role("button", name="Set owner")).to_be_hidden()
    reviewer.context.close()
