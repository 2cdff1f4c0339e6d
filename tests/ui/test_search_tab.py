"""The Search tab's handlers called directly (no browser), over the review store
(tests/review_store.py: the good call with a phone number, the complaint call, the Mandarin
call), and in a real Chromium: search, open a hit, the audio is at the hit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from browser import Server, chromium_browser, login, serving
from playwright.sync_api import expect
from records_store import PASSWORD, REVIEWER, SUPERVISOR
from review_store import PHONE, build_review_store

from qa.access.roles import Role, User
from qa.access.users import add_user, list_users
from qa.db import open_db
from qa.review.state import ReviewStatus, get_review
from qa.search.query import SearchQuery
from qa.search.saved import save_search
from ui import search
from ui.context import AppContext

GOOD, COMPLAINT, ZH = "1763651705.11", "1763655760.42", "1763647200.7"
AUDITOR, ADMIN = "aude", "ada"


def _form(text: str, **fields) -> list:
    """The form's values in order, with ``fields`` by name."""
    values = dict(
        text=text, mode="Words and sounds", role="any", position="Anywhere", amount=None,
        since="", until="", agent="", queue="", direction="any", language="", item="", flag="",
        min_score=None, max_score=None, review_status="any", metric="",
    )  # fmt: skip
    values.update(fields)
    return list(values.values())


@pytest.fixture
def app(tmp_path: Path) -> tuple[AppContext, dict[str, User]]:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    for name, role in ((REVIEWER, Role.REVIEWER), (SUPERVISOR, Role.SUPERVISOR),
                       (AUDITOR, Role.AUDITOR), (ADMIN, Role.ADMIN)):  # fmt: skip
        add_user(db, name, PASSWORD, role)
    people = {user.username: user for user in list_users(db)}
    db.close()
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio), people


def test_reviewer_sees_hits_masked_auditor_unmasked(app) -> None:
    ctx, people = app
    frame, note = search.run_search(ctx, people[REVIEWER], *_form("my number is"))
    assert list(frame["Call ID"]) == [GOOD]
    assert "[phone ···0134]" in frame["Text"][0] and PHONE not in frame["Text"][0]
    assert "masked" in note
    frame, _ = search.run_search(ctx, people[AUDITOR], *_form("my number is"))
    assert PHONE in frame["Text"][0]
    # the hit opened: the context around it is masked the same way
    title, audio, _, context = search.open_hit(ctx, people[REVIEWER], GOOD, 3)
    assert "turn 3 at 0:10" in title and audio and audio.endswith(f"{GOOD}.wav")
    assert "data-hit" in context and PHONE not in context and "[phone ···0134]" in context


def test_role_and_position_from_the_form(app) -> None:
    ctx, people = app
    rita = people[REVIEWER]
    frame, _ = search.run_search(ctx, rita, *_form("manager", role="customer"))
    assert list(frame["Call ID"]) == [COMPLAINT]
    frame, _ = search.run_search(ctx, rita, *_form("manager", role="agent"))
    assert frame.empty
    frame, _ = search.run_search(ctx, rita, *_form("manager", position="First N seconds", amount=5))
    assert frame.empty
    frame, _ = search.run_search(ctx, rita, *_form("manager", position="Last N turns", amount=1))
    assert list(frame["Turn"]) == [3]
    with pytest.raises(gr.Error, match="give N"):
        search.run_search(ctx, rita, *_form("manager", position="Last N turns"))
    with pytest.raises(gr.Error, match="ITEM=RESULT"):
        search.run_search(ctx, rita, *_form("manager", item="greeting"))


def test_saved_search_shared_by_link_and_worked_as_a_queue(app) -> None:
    ctx, people = app
    lead, rita, aude = people[SUPERVISOR], people[REVIEWER], people[AUDITOR]
    choices, message = search.save_form(ctx, lead, "complaints", *_form("complaint"))
    search_id = choices.value
    assert f"?search={search_id}" in message
    # rita opens the shared link: the form and the hits are the saved search's
    values = search.open_saved(ctx, rita, search_id)
    assert values[0] == "complaint" and list(values[-2]["Call ID"]) == [COMPLAINT]
    assert f"shared by {SUPERVISOR}" in values[-1]
    queue = search.queue_frame(ctx, rita, search_id)
    assert list(queue["Call ID"]) == [COMPLAINT] and list(queue["Review"]) == ["new"]
    with pytest.raises(gr.Error, match="may not"):
        search.claim_next(ctx, aude, search_id)  # auditors do not review
    queue, message = search.claim_next(ctx, rita, search_id)
    assert f"Claimed call {COMPLAINT}" in message
    assert list(queue["Review"]) == ["in_review"] and list(queue["Assignee"]) == [REVIEWER]
    db = open_db(ctx.db_path)
    review = get_review(db, COMPLAINT)
    db.close()
    assert review is not None and review.status is ReviewStatus.IN_REVIEW
    _, message = search.claim_next(ctx, rita, search_id)
    assert "Nothing left" in message
    assert search.saved_choices(ctx, rita) == []  # sam's search, not rita's


# --- in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db_path = build_review_store(tmp_path_factory.mktemp("search-ui"))
    with serving(db_path) as running:
        yield running


def _player(page, expression: str):
    return page.evaluate(
        "() => { const a = document.querySelector('#qa-search-audio audio'); "
        f"return a ? {expression} : null; }}"
    )


@pytest.mark.browser
def test_search_open_a_hit_and_the_audio_is_there(server: Server) -> None:
    with chromium_browser() as browser:
        page = login(browser, server, "admin", server.admin_password)
        page.get_by_role("tab", name="Search").click()
        page.locator("#qa-search-text textarea, #qa-search-text input").first.fill("manager")
        page.locator("#qa-search-go").click()
        expect(page.locator("#qa-search-note")).to_contain_text(
            "1 hit(s) in 1 call(s)", timeout=30_000
        )
        cells = page.locator("#qa-search-hits [role=gridcell]")
        expect(cells.filter(has_text="Then let me speak to your manager.")).to_have_count(1)
        cells.filter(has_text=COMPLAINT).first.click()
        context = page.locator("#qa-search-context")
        expect(context.locator("[data-hit]")).to_contain_text("speak to your manager")
        # the player loads the call and goes to the hit (turn 3 starts at 8.5 s)
        page.wait_for_function(
            "() => { const a = document.querySelector('#qa-search-audio audio');"
            " return a && a.readyState >= 1 && a.currentTime >= 8.5; }"
        )
        assert _player(page, "a.src").endswith(f"{COMPLAINT}.wav")
        assert 8.5 <= _player(page, "a.currentTime") < 10.0
        # a turn around the hit seeks there
        context.locator(".qa-turn").nth(1).click()  # turn 1 at 2.0 s
        assert 2.0 <= _player(page, "a.currentTime") < 3.0

        # a saved search's link opens it, form and hits, for whoever follows it
        db = open_db(server.db_path)
        saved = save_search(db, User("admin", "admin"), "complaints",
                            SearchQuery(text="complaint", role="customer"))  # fmt: skip
        db.close()
        page.goto(f"{server.url}?search={saved.search_id}")
        page.get_by_role("tab", name="Search").click()
        expect(page.locator("#qa-search-note")).to_contain_text("“complaints”", timeout=30_000)
        expect(page.locator("#qa-search-hits [role=gridcell]", has_text=COMPLAINT)).to_have_count(1)
        page.context.close()
