"""The Queues tab's *Negative sentiment* queue (ui.queues over qa.review.queues): a call whose
customer felt bad by the site's ``[review]`` thresholds is listed with why, to reviewers; agents
are refused, as for every queue (the trusted rules' line: tests/review/
test_queue_trust_and_sentiment.py). Handlers are called as Gradio calls them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from records_store import PASSWORD, REVIEWER
from review_store import build_review_store

from qa.access.roles import Role
from qa.access.users import add_user
from qa.config import ReviewSettings
from qa.db import open_db
from qa.results.sentiment import save_sentiment
from scoring.sentiment import CallSentiment, TurnSentiment
from ui import queues
from ui.context import AppContext

COMPLAINT, GOOD = "1763655760.42", "1763651705.11"


@pytest.fixture
def app(tmp_path: Path):
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    try:
        people = {name: add_user(db, name, PASSWORD, role)
                  for name, role in ((REVIEWER, Role.REVIEWER), ("amy", Role.AGENT))}  # fmt: skip
        for call_id, start, end in ((COMPLAINT, 0.2, -0.7), (GOOD, 0.3, 0.5)):
            turns = (
                TurnSentiment(1, "customer", 1, 3, start),
                TurnSentiment(3, "customer", 5, 8, end),
            )
            felt = CallSentiment("test", turns, (start + end) / 2, 0.4, start, end, None)
            save_sentiment(db, call_id, felt)
    finally:
        db.close()
    audio = tmp_path / "audio"
    audio.mkdir()
    ctx = AppContext(db_path=db_path, audio_dir=audio, review=ReviewSettings(negative_shift=-0.5))
    return ctx, people


def test_the_negative_sentiment_queue_lists_the_call_with_why(app) -> None:
    ctx, people = app
    choices, frame, *_ = queues.load(ctx, people[REVIEWER], queues.Queue.SENTIMENT.value, True)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["Call ID"]) == [COMPLAINT]
    assert list(frame["Why"]) == ["customer sentiment moved -0.90 start→end (at or under -0.50)"]
    assert list(frame["Queue"]) == ["sentiment"]
    assert "Negative sentiment (1 open of 1)" in [label for label, _ in choices.choices]


def test_an_agent_gets_no_queue_at_all(app) -> None:
    ctx, people = app
    assert (
        queues.load(ctx, people["amy"], queues.Queue.SENTIMENT.value, True)
        == [queues.gr.skip()] * queues.LOAD_SIZE
    )
