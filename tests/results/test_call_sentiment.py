"""How each call felt, on the records store (tests/records_store.py): stored per call, the
complaints' customers more negative than the satisfied ones, the worst moment with its words."""

from __future__ import annotations

import pytest
from records_store import STORED, build_records_store

from qa.db import open_db
from qa.results.sentiment import load_sentiment, update_sentiment


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = open_db(build_records_store(tmp_path_factory.mktemp("sentiment")))
    for call_id in STORED:
        update_sentiment(db, call_id)
    yield db
    db.conn.close()


def test_every_call_with_a_transcript_gets_its_sentiment_stored(store):
    for call_id in STORED:
        found = load_sentiment(store, call_id)
        assert found is not None and found.turns
        assert all(-1 <= turn.polarity <= 1 for turn in found.turns)
        row = store.execute(
            "select customer_mean, customer_shift from call_sentiment where call_id = ?",
            [call_id],
        ).fetchone()
        assert row == (found.customer_mean, found.customer_shift)


def test_complaining_customers_sound_more_negative_than_satisfied_ones(store):
    mean = {call_id: load_sentiment(store, call_id).customer_mean for call_id in STORED}
    for complaint in ("c3-complaint-en", "c5-complaint-zh"):
        assert mean[complaint] < 0
        for good in ("c1-good-en", "c4-good-zh"):
            assert mean[complaint] < mean[good]


def test_complaining_customers_start_calm_and_end_worse(store):
    """The sample complaints open with a calm question about the bill and end with the complaint
    (samples/calls.yaml): the customer ends negative, a fall of at least 0.5 (what the default
    ``sentiment_drop`` alert and the demo's negative sentiment queue look for)."""
    for complaint in ("c3-complaint-en", "c5-complaint-zh"):
        found = load_sentiment(store, complaint)
        assert found.customer_end < 0
        assert found.customer_shift <= -0.5


def test_the_most_negative_moment_is_a_customer_turn_with_its_words(store):
    found = load_sentiment(store, "c5-complaint-zh")
    worst = found.most_negative
    assert worst is not None and worst.text == "再不解决 我就打幺二三幺五"
    customer = [t for t in found.turns if t.role == "customer"]
    assert worst.polarity == min(t.polarity for t in customer)
    assert found.customer_shift == pytest.approx(found.customer_end - found.customer_start)


def test_only_missing_leaves_stored_sentiment_alone(store):
    assert update_sentiment(store, "c1-good-en", only_missing=True) is None
