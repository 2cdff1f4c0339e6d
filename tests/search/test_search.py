"""Transcript search on a real store filled the way the pipeline fills it (``save_call`` +
``save_results``): Mandarin by character and by sound, English by word, role and window
filters, the call filters, masking, saved searches as a review queue, and the index kept
current when a call is saved again or a store predates the index."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from calldata import Call, Direction, ItemResult, Role, Scorecard, Transcript, Turn, Verdict
from calldata.transcript import Metrics, RoleMetrics
from qa.access.roles import User
from qa.cli import main
from qa.db import open_db
from qa.results.sentiment import save_sentiment
from qa.results.store import save_call, save_results
from qa.review.assignment import claim
from qa.search.index import catch_up
from qa.search.query import SearchQuery, SearchQueryError, search
from qa.search.saved import (
    SavedSearchError,
    delete_search,
    get_search,
    list_searches,
    save_search,
    search_queue,
)
from scoring.sentiment import CallSentiment, TurnSentiment

AGENT, CUSTOMER = Role.AGENT, Role.CUSTOMER


def _transcript(language: str, lines: list[tuple[Role, str]], seconds: float = 10.0) -> Transcript:
    turns = tuple(
        Turn(index=i, speaker="ch0" if role == AGENT else "ch1", role=role, start=i * seconds,
             end=(i + 1) * seconds - 1, text=text, confidence=0.9)
        for i, (role, text) in enumerate(lines)
    )  # fmt: skip
    duration = len(lines) * seconds
    metrics = Metrics(
        duration=duration,
        by_role={AGENT: RoleMetrics(talk_time=duration / 2, talk_ratio=0.5)},
        longest_silence=4.0 if language == "zh" else 1.0,
        non_talk_time=duration * (0.4 if language == "zh" else 0.1),
    )
    return Transcript(
        language=language, turns=turns, metrics=metrics, duration=duration, channel_mode="stereo"
    )


def _card(call_id: str, greeting: Verdict, score: float) -> Scorecard:
    return Scorecard(
        call_id=call_id,
        rubric_id="inbound-service",
        rubric_version="1",
        score=score,
        max_score=100.0,
        passed=score >= 80,
        items=(ItemResult(id="greeting", title="Greeting", result=greeting, weight=1.0),),
    )


CALLS = {
    # call id: (day in Nov 2026, agent, language, lines, greeting verdict, score)
    "zh-complaint": (18, "1001", "zh", [
        (AGENT, "您好，这里是客服中心"),
        (CUSTOMER, "我要投诉你们，电话是13812345678"),
        (AGENT, "好的，我帮您记录"),
    ], Verdict.PASS, 90.0),
    "zh-misheard": (19, "1002", "zh", [
        (AGENT, "您好"),
        (CUSTOMER, "我要头诉你们的服务"),  # ASR wrote 头诉 for 投诉
    ], Verdict.FAIL, 40.0),
    "en-refund": (20, "1001", "en", [
        (AGENT, "Thank you for calling, how can I help"),
        (CUSTOMER, "I want a refund for my order"),
        (AGENT, "I have issued the refund today"),
        (CUSTOMER, "Call me back at 415 555 0134 please"),
    ], Verdict.FAIL, 50.0),
    "en-other": (21, "1002", "en", [
        (AGENT, "Thanks for calling"),
        (CUSTOMER, "The refunding rules confuse me, I want a refund"),
    ], Verdict.PASS, 100.0),
}  # fmt: skip


def _save(db, call_id: str) -> None:
    day, agent, language, lines, greeting, score = CALLS[call_id]
    call = Call(
        call_id=call_id,
        recordings=(f"2026/11/{day}/{call_id}.wav",),
        start=datetime(2026, 11, day, 10, tzinfo=UTC),
        direction=Direction.INBOUND,
        queue="support",
        agent=agent,
        agent_name=f"Agent {agent}",
    )
    save_call(db, call, Path("/store"), "pending")
    save_results(db, call_id, _transcript(language, lines), [_card(call_id, greeting, score)])


@pytest.fixture
def db(tmp_path):
    store = open_db(tmp_path / "qa.db")
    for call_id in CALLS:
        _save(store, call_id)
    return store


def _found(db, masked: bool = True, **query) -> list[tuple[str, int, str]]:
    result = search(db, SearchQuery(**query), masked=masked)
    return [(hit.call_id, hit.turn, hit.match) for hit in result.hits]


def test_mandarin_substring_is_found_by_characters(db) -> None:
    assert ("zh-complaint", 1, "words") in _found(db, text="投诉")
    assert _found(db, text="投诉你们", sounds_like=False) == [("zh-complaint", 1, "words")]
    # across punctuation and a word boundary: still characters in a row
    assert _found(db, text="们，电话", sounds_like=False) == [("zh-complaint", 1, "words")]


def test_misheard_homophone_is_found_by_sound(db) -> None:
    hits = _found(db, text="投诉")
    assert ("zh-misheard", 1, "sound") in hits
    assert ("zh-complaint", 1, "words") in hits
    assert all(call != "zh-misheard" for call, _, _ in _found(db, text="投诉", sounds_like=False))


def test_english_is_found_by_word_not_inside_words(db) -> None:
    hits = _found(db, text="Refund")
    assert ("en-refund", 1, "words") in hits and ("en-other", 1, "words") in hits
    assert _found(db, text="fund") == []
    assert _found(db, text="issued the refund") == [("en-refund", 2, "words")]


def test_role_filter(db) -> None:
    assert _found(db, text="refund", role="agent") == [("en-refund", 2, "words")]
    assert {c for c, _, _ in _found(db, text="refund", role="customer")} == {
        "en-refund",
        "en-other",
    }


def test_window_filters_first_and_last_turns_and_seconds(db) -> None:
    # en-refund: turns at 0, 10, 20, 30 s; "refund" in turns 1 and 2
    assert _found(db, text="refund", agent="1001", first_turns=2) == [("en-refund", 1, "words")]
    assert _found(db, text="refund", agent="1001", last_turns=3) == [
        ("en-refund", 1, "words"),
        ("en-refund", 2, "words"),
    ]
    assert _found(db, text="refund", agent="1001", last_turns=2) == [("en-refund", 2, "words")]
    assert _found(db, text="refund", agent="1001", first_seconds=15) == [("en-refund", 1, "words")]
    # the last N seconds: turns still going then (turn 2 ends at 29 s of 40)
    assert _found(db, text="refund", agent="1001", last_seconds=5) == []
    assert _found(db, text="refund", agent="1001", last_seconds=15) == [("en-refund", 2, "words")]


def test_call_filters_combine(db) -> None:
    assert {c for c, _, _ in _found(db, text="refund", agent="Agent 1002")} == {"en-other"}
    assert {c for c, _, _ in _found(db, text="refund", since=date(2026, 11, 21))} == {"en-other"}
    assert {c for c, _, _ in _found(db, text="refund", until=date(2026, 11, 20))} == {"en-refund"}
    assert {c for c, _, _ in _found(db, text="投诉", items=("greeting=fail",))} == {"zh-misheard"}
    assert {
        c for c, _, _ in _found(db, text="refund", items=("inbound-service/greeting=pass",))
    } == {"en-other"}
    assert {c for c, _, _ in _found(db, text="refund", max_score=60)} == {"en-refund"}
    assert {c for c, _, _ in _found(db, text="投诉", metrics=("silence_share>=0.3",))} == {
        "zh-complaint",
        "zh-misheard",
    }
    assert _found(db, text="refund", language="zh") == []
    assert _found(db, text="refund", review_status="done") == []


def test_calls_are_found_by_how_the_customer_felt(db) -> None:
    """Sentiment bounds read what the nightly run stored; a call not measured matches none."""
    for call_id, start, end in (("en-refund", 0.4, -0.6), ("en-other", 0.1, 0.3)):
        start_turn = TurnSentiment(1, "customer", 10, 19, start)
        end_turn = TurnSentiment(3, "customer", 30, 39, end)
        turns = (start_turn, end_turn)
        felt = CallSentiment("test", turns, (start + end) / 2, 0.2, start, end, None)
        save_sentiment(db, call_id, felt)
    assert {c for c, _, _ in _found(db, text="refund", metrics=("customer_shift<=-0.5",))} == {
        "en-refund"
    }
    assert {c for c, _, _ in _found(db, text="refund", metrics=("customer_sentiment>0",))} == {
        "en-other"
    }
    assert _found(db, text="投诉", metrics=("agent_sentiment>=-1",)) == []  # never measured


def test_newest_call_first_and_limit(db) -> None:
    result = search(db, SearchQuery(text="refund", limit=1), masked=True)
    assert [hit.call_id for hit in result.hits] == ["en-other"] and result.truncated


def test_rescored_items_are_read_from_the_latest_scorecard(db) -> None:
    with db.conn:
        db.conn.execute(
            "insert into scorecards (call_id, rubric_id, rubric_version, score, max_score, "
            "passed, created_at, scorecard_json) values ('en-other', 'inbound-service', '2', "
            "0, 100, 0, '', '{}')"
        )
        db.conn.execute(
            "insert into item_results (scorecard_id, item_id, title, result, weight, critical, "
            "reason, evidence_json) values (last_insert_rowid(), 'greeting', 'Greeting', "
            "'fail', 1, 0, '', '[]')"
        )
    assert {c for c, _, _ in _found(db, text="refund", items=("greeting=fail",))} == {
        "en-refund",
        "en-other",
    }


def test_personal_numbers_masked_unless_allowed(db) -> None:
    masked = search(db, SearchQuery(text="call me back"), masked=True).hits[0].text
    assert "0134" in masked and "415 555 0134" not in masked
    plain = search(db, SearchQuery(text="call me back"), masked=False).hits[0].text
    assert "415 555 0134" in plain


def test_saving_a_call_again_replaces_its_index_entries(db) -> None:
    original = CALLS["en-refund"]
    CALLS["en-refund"] = (20, "1001", "en", [(AGENT, "hello"), (CUSTOMER, "cancel it")],
                          Verdict.PASS, 90.0)  # fmt: skip
    try:
        _save(db, "en-refund")  # a failed call retried: its results replaced
    finally:
        CALLS["en-refund"] = original
    assert {c for c, _, _ in _found(db, text="refund")} == {"en-other"}
    assert _found(db, text="cancel") == [("en-refund", 1, "words")]


def test_a_store_indexed_before_search_existed_is_caught_up(db) -> None:
    with db.conn:  # as a store migrated to 013 looks: transcripts, no index
        db.conn.execute("delete from search_turns")
        db.conn.execute("delete from search_calls")
        db.conn.execute("insert into search_fts (search_fts) values ('delete-all')")
    assert catch_up(db) == len(CALLS)
    assert catch_up(db) == 0
    assert ("zh-complaint", 1, "words") in _found(db, text="投诉")


def test_bad_queries_say_what_to_write(db) -> None:
    with pytest.raises(SearchQueryError, match="ITEM=RESULT"):
        search(db, SearchQuery(text="refund", items=("greeting",)), masked=True)
    with pytest.raises(SearchQueryError, match="silence_share"):
        search(db, SearchQuery(text="refund", metrics=("loudness>3",)), masked=True)
    with pytest.raises(SearchQueryError, match="type a word"):
        search(db, SearchQuery(text="!!"), masked=True)


def test_saved_search_is_shared_by_number_and_used_as_a_review_queue(db) -> None:
    lead = User("lena", "supervisor")
    reviewer = User("rita", "reviewer")
    saved = save_search(db, lead, "complaints", SearchQuery(text="投诉", role="customer"))
    assert [s.name for s in list_searches(db, "lena")] == ["complaints"]
    assert list_searches(db, "rita") == []
    opened = get_search(db, saved.search_id)  # the shared link: anyone signed in opens it
    assert opened.query == saved.query
    queue = search_queue(db, opened, masked=True)
    assert [(row.call_id, row.review_status) for row in queue] == [
        ("zh-misheard", "new"),
        ("zh-complaint", "new"),
    ]
    claim(db, queue[0].call_id, reviewer)
    queue = search_queue(db, opened, masked=True)
    assert (queue[0].review_status, queue[0].assignee) == ("in_review", "rita")
    with pytest.raises(SavedSearchError, match="only they"):
        delete_search(db, saved.search_id, reviewer)
    delete_search(db, saved.search_id, lead)
    with pytest.raises(SavedSearchError):
        get_search(db, saved.search_id)


def test_cli_search_json_and_csv(db, tmp_path) -> None:
    path = str(tmp_path / "qa.db")
    runner = CliRunner()
    result = runner.invoke(
        main, ["search", "refund", "--db", path, "--agent", "1001", "--since", "2026-11-01",
               "--role", "customer", "--json"], catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(h["call_id"], h["turn"], h["role"]) for h in lines] == [("en-refund", 1, "customer")]
    result = runner.invoke(main, ["search", "call me", "--db", path, "--csv"])
    rows = result.stdout.splitlines()
    assert rows[0].startswith("call_id,") and "415 555 0134" not in result.stdout
    result = runner.invoke(main, ["search", "call me", "--db", path, "--csv", "--unmasked"])
    assert "415 555 0134" in result.stdout
    result = runner.invoke(main, ["search", "refund", "--db", path, "--item", "greeting"])
    assert result.exit_code == 1 and "ITEM=RESULT" in result.output


@pytest.mark.parametrize(
    "query",
    [
        dict(text="refund", agent="1001", since=date(2026, 11, 1)),
        dict(text="投诉", role="customer", language="zh"),
        dict(text="refund", items=("greeting=fail",), last_turns=3),
        dict(text="投诉", metrics=("silence_share>=0.3",), first_seconds=15),
    ],
)
def test_both_plans_find_the_same_hits(db, monkeypatch, query) -> None:
    # a common phrase on few calls walks the calls' turns; else the index's matches
    import qa.search.query as plans

    monkeypatch.setattr(plans, "_calls_first", lambda *args: True)
    from_calls = _found(db, **query)
    monkeypatch.setattr(plans, "_calls_first", lambda *args: False)
    assert from_calls and from_calls == _found(db, **query)


def test_meaning_search_finds_the_same_request_in_other_words(db) -> None:
    from qa.results.store import load_transcript, save_sentence_vectors
    from sentences import encode_turns, load_encoder

    encoder = load_encoder()
    for call_id in CALLS:  # as the pipeline stores them with each call
        transcript = load_transcript(db, call_id)
        turns = [(turn.index, turn.text) for turn in transcript.turns]
        save_sentence_vectors(db, call_id, encode_turns(encoder, turns))
    result = search(db, SearchQuery(text="please give me my money back", meaning=True), masked=True)
    found = [(hit.call_id, hit.turn) for hit in result.hits]
    assert found[0] in {("en-refund", 1), ("en-other", 1)}
    assert all(hit.match == "meaning" and hit.similarity >= 0.5 for hit in result.hits)
    assert ("en-refund", 0) not in found  # "Thank you for calling" means something else
    only_agent = search(
        db,
        SearchQuery(text="please give me my money back", meaning=True, role="agent"),
        masked=True,
    )
    assert all(hit.role == "agent" for hit in only_agent.hits)
