"""The review UI in a real Chromium: login, the calls table, the call view, audio seeking, masking.

`qa serve` runs in a subprocess over the fixture store of test_review (real WAV files); Debian's
chromium is driven by Playwright (never `playwright install`: the system browser is used).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from browser import (
    Server,
    audio,
    chromium_browser,
    login,
    screenshot,
    seek_by_clicking,
    serving,
    wait_for_audio,
)
from playwright.sync_api import Browser, Page, expect
from review_store import PHONE, build_review_store

from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db

pytestmark = pytest.mark.browser

CALL_IDS = ["1763655760.42", "1763651705.11", "1763647200.7", "1763640000.3"]
COMPLAINT_CALL, GOOD_CALL = CALL_IDS[0], CALL_IDS[1]
REVIEWER_PASSWORD = "reviewer password 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db_path = build_review_store(tmp_path_factory.mktemp("ui"))
    with serving(db_path) as running:
        db = open_db(db_path)
        add_user(db, "rita", REVIEWER_PASSWORD, Role.REVIEWER)  # while the server runs
        db.close()
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


def _login(chromium: Browser, server: Server, username: str, password: str) -> Page:
    return login(chromium, server, username, password)


def _open_call(page: Page, call_id: str) -> None:
    page.locator("#qa-calls [role=gridcell]", has_text=call_id).click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {call_id}")


def test_login_page_refuses_a_wrong_password(server: Server, chromium: Browser) -> None:
    page = _login(chromium, server, "admin", "not the password")
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    expect(page.locator("#qa-calls")).to_have_count(0)
    page.context.close()


def test_nothing_is_served_without_a_login(server: Server) -> None:
    for path in ("config", "gradio_api/info"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + path, timeout=5)
        assert refused.value.code in (401, 403)


def test_admin_opens_a_call_and_evidence_seeks_the_audio(server: Server, chromium: Browser) -> None:
    page = _login(chromium, server, "admin", server.admin_password)
    expect(page.locator("#qa-header")).to_contain_text("Signed in as admin (admin")
    cells = page.locator("#qa-calls [role=gridcell]")
    for call_id in CALL_IDS:
        expect(cells.filter(has_text=re.compile(rf"^\s*{re.escape(call_id)}\s*$"))).to_have_count(1)
    expect(cells.filter(has_text="complaint (high)")).to_have_count(1)
    # The filters narrow the table on the server.
    page.get_by_label("Flagged only").check()
    expect(cells.filter(has_text=re.compile(r"^\s*17636\d+\.\d+\s*$"))).to_have_count(1)
    expect(cells.filter(has_text=COMPLAINT_CALL)).to_have_count(1)
    page.get_by_label("Flagged only").uncheck()
    expect(cells.filter(has_text=re.compile(r"^\s*17636\d+\.\d+\s*$"))).to_have_count(4)

    _open_call(page, COMPLAINT_CALL)
    transcript = page.locator("#qa-transcript")
    expect(transcript.locator(".qa-turn")).to_have_count(4)
    roles = transcript.locator(".qa-role").all_inner_texts()
    assert roles == ["Agent", "Customer", "Agent", "Customer"]
    expect(transcript.locator(".qa-turn").nth(1)).to_contain_text("0:02")
    scorecard = page.locator("#qa-scorecard")
    expect(scorecard).to_contain_text("inbound-service v1: 0/2 (0%)")
    expect(scorecard.locator("[data-item=greeting]")).to_contain_text("FAIL")
    expect(scorecard.locator("[data-item=greeting]")).to_contain_text("no greeting phrase")
    expect(scorecard.locator("[data-item=identity_verification]")).to_contain_text("N/A")
    flags = page.locator("#qa-flags")
    expect(flags).to_contain_text("high")
    expect(flags).to_contain_text("“I want to make a complaint, my internet is down again.”")

    screenshot(page, "calls")
    # The player has the call's audio (served only behind the login).
    wait_for_audio(page)
    src, duration = audio(page, "[a.src, a.duration]")
    assert src.startswith(server.url) and src.endswith(f"{COMPLAINT_CALL}.wav")
    assert duration == pytest.approx(12.0, abs=0.1)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(src, timeout=5)

    # An evidence time seeks there; so does a transcript turn, which is then outlined.
    assert audio(page, "a.currentTime") == 0
    seek_by_clicking(page, flags.locator("a.qa-seek").first, 2.0)
    seek_by_clicking(page, transcript.locator(".qa-turn").nth(3), 8.5)
    expect(transcript.locator(".qa-turn").nth(3)).to_have_class(re.compile(r"\bqa-playing\b"))
    page.context.close()


def test_reviewer_sees_phone_numbers_masked_admin_sees_them(
    server: Server, chromium: Browser
) -> None:
    admin = _login(chromium, server, "admin", server.admin_password)
    _open_call(admin, GOOD_CALL)
    expect(admin.locator("#qa-transcript")).to_contain_text(f"my number is {PHONE}.")
    admin.context.close()

    reviewer = _login(chromium, server, "rita", REVIEWER_PASSWORD)
    expect(reviewer.locator("#qa-header")).to_contain_text("rita (reviewer; personal numbers")
    _open_call(reviewer, GOOD_CALL)
    transcript = reviewer.locator("#qa-transcript")
    expect(transcript).to_contain_text("my number is [phone ···0134].")
    assert PHONE not in reviewer.content()
    expect(reviewer.locator("#qa-call-title")).to_contain_text("caller ···0134")
    # The leg pair plays as one stereo file; its evidence links still seek.
    expect(reviewer.locator("#qa-audio-note")).to_contain_text("two legs mixed to stereo")
    evidence = reviewer.locator("#qa-scorecard [data-item=identity_verification] a.qa-seek")
    wait_for_audio(reviewer)
    seek_by_clicking(reviewer, evidence, 7.5)
    reviewer.context.close()


def test_a_link_with_a_call_id_opens_that_call(server: Server, chromium: Browser) -> None:
    """Alert messages carry REVIEW_URL/?call=ID; after login the link opens the call."""
    page = _login(chromium, server, "admin", server.admin_password)
    expect(page.locator("#qa-header")).to_contain_text("Signed in as admin")  # logged in
    page.goto(f"{server.url}?call={GOOD_CALL}")
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {GOOD_CALL}")
    expect(page.locator("#qa-transcript .qa-turn").first).to_be_visible()
    page.context.close()
