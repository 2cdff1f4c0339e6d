"""The review desk in a real Chromium at 1366×768 (issue 16): the call view on one screen with
Submit in sight, a confirm-only review in two actions (confirm all, submit: the next call
opens), an override in three more, the keys, a double click on Submit, and refused actions in
the Complaints, Agents and Audit tabs that leave the page as it was (no "Error" placeholders).

`qa serve --config` runs in a subprocess over the review store (tests/review_store.py), every
call re-scored by a rubric version whose scorecards keep their pass mark. Screenshots of the
desk are saved (tests/browser.py says where) for docs/ui.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser import (
    Server,
    chromium_browser,
    headings_whole,
    login,
    screenshot,
    serving,
    wait_for_audio,
)
from playwright.sync_api import Browser, Page, expect
from review_store import COMPLAINT_ID, build_review_store, rescored_v2_cards

from qa.access.roles import Role
from qa.access.users import add_user
from qa.db import open_db
from qa.review.state import Decision, ReviewStatus, effective_scorecards, get_review, item_decisions

pytestmark = pytest.mark.browser

PASSWORD = "review password 1"
WIDTH, HEIGHT = 1366, 768
ZH_ID = "1763647200.7"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from qa.results.store import insert_scorecards

    root = tmp_path_factory.mktemp("desk-ui")
    db_path = build_review_store(root)
    db = open_db(db_path)
    (zh,) = effective_scorecards(db, [ZH_ID])[ZH_ID]
    zh_v2 = zh.machine.model_copy(update={"rubric_version": "2", "pass_mark": 80.0})
    with db.conn:
        insert_scorecards(db, [*rescored_v2_cards(), zh_v2])
    db.close()
    config = root / "site.toml"
    config.write_text('timezone = "America/New_York"\n[review]\nlow_score = 0.7\n')
    with serving(db_path, ["--config", str(config)]) as running:
        db = open_db(db_path)
        for name, role in (("rita", Role.REVIEWER), ("mei", Role.REVIEWER),
                           ("sam", Role.SUPERVISOR)):  # fmt: skip
            add_user(db, name, PASSWORD, role)
        db.close()
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


def _open_call_id(page: Page) -> str:
    text = page.locator("#qa-call-title").inner_text()
    found = re.search(r"Call (\S+)", text)
    assert found, text
    return found.group(1)


def _in_window(page: Page, selector: str) -> dict:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not laid out"
    assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT, f"{selector} at {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{selector} at {box}"
    return box


def _no_error_shown(page: Page) -> None:
    """No output turned into Gradio's red "Error" placeholder, and no error toast."""
    page.wait_for_timeout(500)
    expect(page.get_by_text("Error", exact=True)).to_have_count(0)


def test_a_confirm_only_review_takes_two_actions_and_an_override_three_more(
    server: Server, chromium: Browser
) -> None:
    page = login(chromium, server, "rita", PASSWORD, size=(WIDTH, HEIGHT))
    headings_whole(page, "#qa-calls")
    page.get_by_role("tab", name="Queues").click()
    page.locator("#qa-queue-pick input").click()
    page.get_by_role("option", name=re.compile(r"^Complaints")).click()
    page.locator("#qa-queue [role=gridcell]", has_text=COMPLAINT_ID).click()
    page.locator("#qa-queue-claim").click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {COMPLAINT_ID}")
    wait_for_audio(page)

    # One screen: transcript, evidence and form side by side, Submit in the window.
    screenshot(page, "desk", full_page=False)
    transcript = _in_window(page, "#qa-pane-transcript")
    evidence = _in_window(page, "#qa-pane-evidence")
    form = _in_window(page, "#qa-pane-review")
    assert transcript["x"] < evidence["x"] < form["x"]
    _in_window(page, "#qa-review-submit")
    _in_window(page, "#qa-review-confirm-all")
    expect(page.locator("#qa-waveform .qa-wave-mark").first).to_be_attached()

    # A confirm-only review: confirm all, submit — the next call opens.
    page.locator("#qa-review-confirm-all").click()  # action 1
    page.locator("#qa-review-submit").click()  # action 2
    expect(page.locator("#qa-call-title")).not_to_contain_text(f"Call {COMPLAINT_ID}")
    db = open_db(server.db_path)
    assert get_review(db, COMPLAINT_ID).status is ReviewStatus.DONE
    db.close()
    following = _open_call_id(page)
    _in_window(page, "#qa-review-submit")

    # An override in three: pick the verdict (the Override tick follows), say why, submit.
    first = page.locator(".qa-review-item").first
    slug = (first.get_attribute("id") or "").removeprefix("qa-review-")
    page.locator(f"#qa-verdict-{slug} input").click()  # action 1: the verdict...
    page.get_by_role("option", name="N/A", exact=True).click()
    expect(page.locator(f"#qa-decision-{slug}").get_by_label("Override")).to_be_checked()
    page.locator(f"#qa-comment-{slug} textarea").fill("no greeting was needed")  # action 2
    screenshot(page, "desk-override", full_page=False)
    page.locator("#qa-review-submit").click()  # action 3
    expect(page.locator("#qa-call-title")).not_to_contain_text(f"Call {following} ")
    db = open_db(server.db_path)
    decided = item_decisions(db, following)
    db.close()
    item = slug.split("--", 1)[1]
    overridden = next(d for d in decided if d.item_id == item)
    assert overridden.decision is Decision.OVERRIDDEN and overridden.verdict.value == "na"
    page.context.close()


def test_the_keys_play_seek_and_review(server: Server, chromium: Browser) -> None:
    # rita's worklist still holds the call that opened after her override (she took it).
    page = login(chromium, server, "rita", PASSWORD, size=(WIDTH, HEIGHT))
    page.locator("#qa-calls [role=gridcell]").first.click()
    expect(page.locator("#qa-call-title")).to_contain_text("Call ")
    page.locator("#qa-review-next").click()  # Next call: the worklist's first
    expect(page.locator("#qa-review-state")).to_contain_text("in_review, assigned to rita")
    opened = _open_call_id(page)
    wait_for_audio(page)
    page.locator("#qa-call-title").click()  # focus on the page, not a field
    page.keyboard.press("]")
    assert page.evaluate("() => document.querySelector('#qa-audio audio').playbackRate") == 1.25
    expect(page.locator("#qa-speed")).to_have_text("1.25×")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.querySelector('#qa-audio audio').currentTime") >= 4.9
    # A click on the waveform plays from the time under the pointer: here, the middle.
    wave = page.locator("#qa-waveform")
    box = wave.bounding_box()
    assert box is not None
    wave.click(position={"x": box["width"] / 2, "y": 2})
    duration = float(wave.get_attribute("data-duration") or 0)
    at = page.evaluate("() => document.querySelector('#qa-audio audio').currentTime")
    assert abs(at - duration / 2) < duration / 20
    page.locator("#qa-call-title").click()  # the keys again
    page.keyboard.press("ArrowDown")
    expect(page.locator(".qa-review-item.qa-focused")).to_have_count(1)
    page.keyboard.press("r")  # reject the focused item
    expect(page.locator(".qa-focused").get_by_label("Reject")).to_be_checked()
    page.keyboard.press("a")  # confirm all again
    expect(page.locator(".qa-focused").get_by_label("Confirm")).to_be_checked()
    page.keyboard.press("s")  # submit
    expect(page.locator("#qa-review-state [data-status]")).to_have_text("done")
    db = open_db(server.db_path)
    assert get_review(db, opened).status is ReviewStatus.DONE
    assert {d.decision for d in item_decisions(db, opened)} == {Decision.CONFIRMED}
    db.close()
    page.context.close()


def test_a_double_click_on_submit_saves_once_and_shows_no_error(
    server: Server, chromium: Browser
) -> None:
    page = login(chromium, server, "sam", PASSWORD, size=(WIDTH, HEIGHT))
    page.locator("#qa-calls [role=gridcell]", has_text=ZH_ID).click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {ZH_ID}")
    db = open_db(server.db_path)
    before = get_review(db, ZH_ID)
    db.close()
    page.locator("#qa-review-submit").dblclick()
    expect(page.locator("#qa-review-state [data-status]")).to_have_text("done")
    _no_error_shown(page)
    db = open_db(server.db_path)
    after = get_review(db, ZH_ID)
    db.close()
    assert after.revision == (before.revision if before else 0) + 1
    page.context.close()


def test_refused_actions_leave_every_tab_as_it_was(server: Server, chromium: Browser) -> None:
    page = login(chromium, server, "sam", PASSWORD, size=(WIDTH, HEIGHT))
    # Complaints: resolving without a note, and a case on an unknown call, are refused.
    page.get_by_role("tab", name="Complaints").click()
    cases = page.locator("#qa-cases")
    expect(cases).to_contain_text(COMPLAINT_ID)
    cases.locator("[role=gridcell]", has_text=COMPLAINT_ID).first.click()
    expect(page.locator("#qa-case")).to_contain_text(f"call {COMPLAINT_ID}")
    page.locator("#qa-case-status input").click()
    page.get_by_role("option", name="resolved", exact=True).click()
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_text(re.compile("note", re.I)).first).to_be_visible()
    _no_error_shown(page)
    expect(cases).to_contain_text(COMPLAINT_ID)
    expect(page.locator("#qa-case")).to_contain_text(f"call {COMPLAINT_ID}")
    page.get_by_text("Open a case on a call").click()
    page.get_by_label("Call ID").fill("no-such-call")
    page.get_by_label("What the customer complained about").fill("rude")
    page.get_by_role("button", name="Open case").click()
    expect(page.get_by_text(re.compile("no-such-call")).first).to_be_visible()
    _no_error_shown(page)
    expect(cases).to_contain_text(COMPLAINT_ID)
    screenshot(page, "complaints-refused", full_page=False)

    # Agents and Audit: a day that is not a day is refused the same way.
    page.get_by_role("tab", name="Agents").click()
    expect(page.locator("#qa-team")).to_contain_text("Alice Smith")
    page.get_by_label("Since (YYYY-MM-DD)").first.fill("20 Nov")
    page.get_by_label("Since (YYYY-MM-DD)").first.press("Enter")
    expect(page.get_by_text("Since: write the day as YYYY-MM-DD").first).to_be_visible()
    _no_error_shown(page)
    expect(page.locator("#qa-team")).to_contain_text("Alice Smith")
    page.get_by_role("tab", name="Audit").click()
    headings_whole(page, "#qa-audit-table")
    until = page.locator("#qa-audit").get_by_label("Until (YYYY-MM-DD)")
    until.fill("soon")
    until.press("Enter")
    expect(page.get_by_text("Until: write the day as YYYY-MM-DD").first).to_be_visible()
    _no_error_shown(page)
    page.context.close()
