"""The call view's sentiment trend (ui/sentiment_chart.py): drawn from what the run stored, in
the handler and in a real Chromium (screenshot `call-sentiment`), over the review store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Server, chromium_browser, login, screenshot, serving
from playwright.sync_api import expect
from records_store import PASSWORD, REVIEWER
from review_store import build_review_store

from qa.access.roles import Role
from qa.access.users import add_user, get_user
from qa.db import open_db
from qa.results.sentiment import load_sentiment, update_sentiment
from ui import calls
from ui.context import AppContext

COMPLAINT, GOOD = "1763655760.42", "1763651705.11"


def _store(root: Path, *call_ids: str) -> Path:
    db_path = build_review_store(root)
    db = open_db(db_path)
    for call_id in call_ids:
        update_sentiment(db, call_id)
    db.close()
    return db_path


def test_the_call_view_draws_the_stored_sentiment_and_says_when_there_is_none(tmp_path):
    db_path = _store(tmp_path, COMPLAINT)
    db = open_db(db_path)
    add_user(db, REVIEWER, PASSWORD, Role.REVIEWER)
    found, rita = load_sentiment(db, COMPLAINT), get_user(db, REVIEWER)
    db.close()
    ctx = AppContext(db_path=db_path, audio_dir=tmp_path / "audio")
    (tmp_path / "audio").mkdir()
    # the chart heads the transcript pane (in the title it would push the desk below the window)
    view = calls.open_call(ctx, rita, COMPLAINT)
    title, pane = view[0], view[3]
    assert f"Call {COMPLAINT}" in title and 'class="qa-sentiment-chart"' in pane
    assert pane.count("<circle") == len(found.turns)
    assert f"Customer {found.customer_mean:+.2f} on average" in pane
    assert "Most negative" in pane and found.most_negative.text.split()[0] in pane
    other = calls.open_call(ctx, rita, GOOD)[3]
    assert "Sentiment: not measured for this call." in other


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(_store(tmp_path_factory.mktemp("sentiment-ui"), COMPLAINT)) as running:
        yield running


@pytest.mark.browser
def test_the_sentiment_trend_shows_in_the_browser(server: Server) -> None:
    with chromium_browser() as chromium:
        page = login(chromium, server, "admin", server.admin_password)
        page.locator("#qa-calls [role=gridcell]", has_text=COMPLAINT).click()
        expect(page.locator("#qa-call-title")).to_contain_text(f"Call {COMPLAINT}")
        pane = page.locator("#qa-transcript")
        chart = pane.locator("svg.qa-sentiment-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("polyline.qa-sentiment-customer")).to_have_count(1)
        expect(pane).to_contain_text("Most negative")
        screenshot(page, "call-sentiment")
        page.context.close()
