"""``qa rescore``: a changed rubric applied to stored transcripts, without audio or models.

The store is filled the way the pipeline fills it (``qa.results.store.save_call`` /
``save_results``) with annotated transcripts from ``tests/rubric_cases/transcripts`` scored by an
*earlier* version of the shipped inbound rubric — one that did not yet check who hung up — so
re-scoring with the shipped version has known effects.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from calldata import Call, Transcript, Word
from qa.cli import main
from qa.db import open_db
from qa.results.rescore import find_rubric, rescore, transcript_for_scoring
from qa.results.store import call_scores, load_transcript, save_call, save_results
from scoring import (
    NormalizedTexts,
    Rubric,
    load_case,
    load_rubrics,
    normalize_text,
    score_call,
    select_rubrics,
)

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPTS = REPO / "tests" / "rubric_cases" / "transcripts"
# call id → (fixture, start day in November 2026)
STORED = {
    "c-good-en": ("good-en", 18),
    "c-no-greeting-en": ("no-greeting-en", 19),  # the agent hangs up first
    "c-complaint-zh": ("complaint-traditional-zh", 20),  # the agent hangs up first
    "c-good-zh": ("good-zh", 21),
    "c-outbound-en": ("outbound-good-en", 21),  # not for the inbound rubric
}


def _stored(call_id: str, name: str, day: int) -> tuple[Call, Transcript]:
    """An annotated case as the pipeline would have stored it: with word timings, on its day."""
    case = load_case(TRANSCRIPTS / f"{name}.yaml")
    call = case.call.model_copy(
        update={
            "call_id": call_id,
            "recordings": (f"2026/11/{day}/{call_id}.wav",),
            "start": datetime(2026, 11, day, 10, tzinfo=UTC),
        }
    )
    turns = tuple(
        turn.model_copy(
            update={
                "words": tuple(
                    Word(start=turn.start, end=turn.end, text=word, probability=0.9)
                    for word in turn.text.split()
                )
            }
        )
        for turn in case.transcript.turns
    )
    return call, case.transcript.model_copy(update={"turns": turns})


@pytest.fixture(scope="module")
def old_rubrics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rubrics with inbound-service as it was in version 1 (who hung up unchecked)."""
    folder = tmp_path_factory.mktemp("rubrics-v1")
    shutil.copytree(REPO / "rubrics", folder, dirs_exist_ok=True)
    path = folder / "inbound-service.yaml"
    text = path.read_text(encoding="utf-8")
    old = text.replace('version: "8"', 'version: "1"').replace(
        "      not: {meta: {hangup_by: agent}}\n", "      not: {meta: {direction: internal}}\n", 1
    )
    assert old != text and 'version: "1"' in old
    path.write_text(old, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def scored_store(tmp_path_factory: pytest.TempPathFactory, old_rubrics: Path) -> Path:
    """A results store holding the calls above, scored with the version-1 rubrics: built once
    per module (scoring it takes seconds); tests get their own copy from ``store``."""
    folder = tmp_path_factory.mktemp("rescore-store")
    db_path = folder / "qa.db"
    db = open_db(db_path)
    rubrics = load_rubrics(old_rubrics)
    for call_id, (name, day) in STORED.items():
        call, transcript = _stored(call_id, name, day)
        save_call(db, call, folder, status="pending")
        cards = [
            score_call(rubric, transcript, call)
            for rubric in select_rubrics(rubrics, call, transcript.language)
        ]
        save_results(db, call_id, transcript, cards)
    db.conn.close()
    return db_path


@pytest.fixture
def store(scored_store: Path, tmp_path: Path) -> Path:
    """This test's own copy of the scored store (re-scoring writes to it)."""
    db_path = tmp_path / "qa.db"
    for suffix in ("", "-wal", "-shm"):  # closed cleanly there is only the main file
        source = scored_store.with_name(scored_store.name + suffix)
        if source.exists():
            shutil.copy2(source, db_path.with_name(db_path.name + suffix))
    return db_path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rescore", *args], catch_exceptions=False)
    return result.exit_code, result.output


def _versions(db_path: Path) -> dict[str, set[str]]:
    db = open_db(db_path)
    rows = db.execute(
        "select call_id, rubric_version from scorecards where rubric_id = 'inbound-service'"
    ).fetchall()
    db.conn.close()
    found: dict[str, set[str]] = {}
    for call_id, version in rows:
        found.setdefault(call_id, set()).add(version)
    return found


def test_rescore_writes_new_version_scorecards_and_reports_changes(store: Path) -> None:
    code, output = _run("--rubric", "inbound-service", "--db", str(store))
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == (
        "re-scored 4 call(s) with inbound-service v8 "
        "(5 stored; 0 already had v8, 1 not for this rubric)"
    )
    assert lines[1].startswith(
        "2 verdict(s) changed in 2 of 4 call(s) scored before with another version; "
        "pass/fail changed in 0"  # who hangs up weighs 5 of 100: both calls failed already
    )
    assert "  c-no-greeting-en  item customer_hangs_up_first: pass → fail" in lines
    assert "  c-complaint-zh  item customer_hangs_up_first: pass → fail" in lines
    # every scorecard keeps the version it was made with; the old ones stay
    assert _versions(store) == {
        "c-good-en": {"1", "8"},
        "c-no-greeting-en": {"1", "8"},
        "c-complaint-zh": {"1", "8"},
        "c-good-zh": {"1", "8"},
    }
    db = open_db(store)
    latest = {(row.call_id, row.rubric): row for row in call_scores(db)}
    db.conn.close()
    rescored = latest[("c-no-greeting-en", "inbound-service")]
    assert rescored.rubric_version == "8"
    item = next(i for i in rescored.items if i.id == "customer_hangs_up_first")
    assert item.result.value == "fail" and item.reason == "hangup_by is agent"
    closing = next(i for i in rescored.items if i.id == "closing")
    assert closing.result.value == "pass" and closing.evidence  # the closing words are quoted
    # the outbound call keeps only the scorecard of its own rubric
    assert latest[("c-outbound-en", "outbound-sales")].rubric_version == "7"
    assert ("c-outbound-en", "inbound-service") not in latest


def test_a_call_stored_before_normalised_texts_gets_them_stored_when_rescored(store: Path) -> None:
    db = open_db(store)
    assert db.execute("select count(*) from normalized_texts").fetchone()[0] == 0
    db.conn.close()
    code, output = _run("--rubric", "inbound-service", "--db", str(store))
    assert code == 0, output
    db = open_db(store)
    stored = dict(db.execute("select call_id, data from normalized_texts").fetchall())
    assert set(stored) == {"c-good-en", "c-no-greeting-en", "c-complaint-zh", "c-good-zh"}
    for call_id, data in stored.items():
        transcript = load_transcript(db, call_id, words=False)
        assert transcript is not None
        texts = NormalizedTexts.from_json(data).usable()  # made by the normalisation in use
        assert texts == {turn.text: normalize_text(turn.text) for turn in transcript.turns}
    db.conn.close()


def test_rescoring_again_changes_nothing_and_says_to_bump_the_version(store: Path) -> None:
    assert _run("--rubric", "inbound-service", "--db", str(store))[0] == 0
    code, output = _run("--rubric", "inbound-service", "--db", str(store))
    assert code == 0
    assert output.splitlines()[0].startswith("re-scored 0 call(s) with inbound-service v8")
    assert "4 already had v8" in output and "bump its version" in output


def test_since_limits_the_calls_by_start_date(store: Path) -> None:
    code, output = _run(
        "--rubric", "inbound-service", "--db", str(store), "--since", "2026-11-20", "--json"
    )
    assert code == 0
    summary = json.loads(output)
    assert summary["stored"] == 3 and summary["rescored"] == 2  # complaint-zh and good-zh
    assert summary["not_applicable"] == 1 and summary["since"].startswith("2026-11-20")
    assert [(c["call_id"], c["id"], c["before"], c["after"]) for c in summary["changes"]] == [
        ("c-complaint-zh", "customer_hangs_up_first", "pass", "fail")
    ]
    assert _versions(store)["c-good-en"] == {"1"}  # before --since: untouched


def test_dry_run_writes_nothing(store: Path) -> None:
    code, output = _run("--rubric", "inbound-service", "--db", str(store), "--dry-run", "--json")
    assert code == 0
    summary = json.loads(output)
    assert summary["dry_run"] and summary["rescored"] == 4 and summary["verdicts_changed"] == 2
    assert all(versions == {"1"} for versions in _versions(store).values())
    db = open_db(store)  # nor what the calls, stored before them, lack: vectors, normalised texts
    assert db.execute("select count(*) from sentence_vectors").fetchone()[0] == 0
    assert db.execute("select count(*) from normalized_texts").fetchone()[0] == 0
    db.conn.close()


def test_a_rubric_new_to_the_store_scores_every_call_it_applies_to(
    store: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "rubrics"
    shutil.copytree(REPO / "rubrics", folder)
    (folder / "closing-only.yaml").write_text(
        "id: closing-only\nversion: 1\ntitle: Closing\npass_mark: 50\nitems:\n"
        "  - {id: bye, title: Bye, weight: 1, check: {phrase: {role: agent, library: goodbye}}}\n",
        encoding="utf-8",
    )
    code, output = _run("--rubric", "closing-only", "--db", str(store), "--rubrics", str(folder))
    assert code == 0, output
    assert output.splitlines()[0].startswith("re-scored 5 call(s) with closing-only v1")
    assert "5 scored with this rubric for the first time" in output


def test_unknown_rubric_and_broken_rubrics_are_one_clear_line(store: Path, tmp_path: Path) -> None:
    code, output = _run("--rubric", "nope", "--db", str(store))
    assert code == 1
    assert "no rubric with id 'nope' (known: inbound-service, outbound-sales)" in output
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "bad.yaml").write_text("id: bad\nversion: 1\n", encoding="utf-8")
    code, output = _run("--rubric", "bad", "--db", str(store), "--rubrics", str(folder))
    assert code == 1 and "run qa rubrics check" in output and "missing required key" in output


def test_a_call_that_cannot_be_scored_is_reported_and_the_rest_go_on(store: Path) -> None:
    db = open_db(store)
    with db.conn:
        db.conn.execute(
            "update transcripts set transcript_json = '{\"turns\": 3}' where call_id = 'c-good-en'"
        )
    rubric = find_rubric(load_rubrics(REPO / "rubrics"), "inbound-service")
    summary = rescore(db, rubric)
    db.conn.close()
    assert [call_id for call_id, _ in summary.failed] == ["c-good-en"]
    assert summary.rescored == 3
    code, output = _run("--rubric", "inbound-service", "--db", str(store))
    assert code == 1 and "FAILED 1:" in output and "c-good-en" in output


def test_stored_transcripts_are_loaded_without_word_timings() -> None:
    call, stored = _stored("x", "good-en", 20)
    loaded = transcript_for_scoring(stored.model_dump_json())
    assert all(turn.words == () for turn in loaded.turns)
    assert loaded.model_copy(update={"turns": ()}) == stored.model_copy(update={"turns": ()})
    assert [(t.text, t.start, t.role) for t in loaded.turns] == [
        (t.text, t.start, t.role) for t in stored.turns
    ]
    rubric: Rubric = find_rubric(load_rubrics(REPO / "rubrics"), "inbound-service")
    assert score_call(rubric, loaded, call) == score_call(rubric, stored, call)


def test_any_valid_transcript_json_loads_the_same_without_its_words() -> None:
    """Loading skips word lists by slicing the JSON; JSON from another writer (keys in another
    order, indented) or word texts that look like JSON still give the transcript stored."""
    _, stored = _stored("x", "good-en", 20)
    turns = [turn.model_copy(update={"words": ()}) for turn in stored.turns]
    expected = stored.model_copy(update={"turns": tuple(turns)})
    data = json.loads(stored.model_dump_json())
    data["turns"][0]["words"][0]["text"] = ']},{"index":7,"words":[ }]}'
    data["turns"][1]["words"] = []
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    words_first = [{"words": t.pop("words"), **t} for t in json.loads(compact)["turns"]]
    for text in (
        compact,
        json.dumps(data, indent=2),
        json.dumps({**data, "turns": words_first}, separators=(",", ":")),
    ):
        assert transcript_for_scoring(text) == expected
    numbered = [{**t, "index": 10 * t["index"]} for t in json.loads(compact)["turns"]]
    loaded = transcript_for_scoring(json.dumps({**data, "turns": numbered}))
    assert [t.index for t in loaded.turns] == [10 * t.index for t in expected.turns]


# --- qa rubrics try: a draft on stored calls, nothing written ------------------------------------


def _draft_rubrics(folder: Path) -> Path:
    """The shipped rubrics as a draft v9 with ONE phrase changed: "i can help with that" made
    forbidden (the good English call's agent says it)."""
    shutil.copytree(REPO / "rubrics", folder, dirs_exist_ok=True)
    rubric = folder / "inbound-service.yaml"
    rubric.write_text(
        rubric.read_text(encoding="utf-8").replace('version: "8"', 'version: "9"'),
        encoding="utf-8",
    )
    library = folder / "phrases" / "service.yaml"
    text = library.read_text(encoding="utf-8")
    changed = text.replace('        - "shut up"\n', '        - "i can help with that"\n', 1)
    assert changed != text
    library.write_text(changed, encoding="utf-8")
    return rubric


def _change_set(changes) -> set[tuple[str, str, str, str, str]]:
    return {(c["call_id"], c["what"], c["id"], c["before"], c["after"]) for c in changes}


def test_rubrics_try_reports_exactly_what_a_rescore_changes(store: Path, tmp_path: Path) -> None:
    draft = _draft_rubrics(tmp_path / "draft")
    before = store.read_bytes()
    tried = CliRunner().invoke(
        main, ["rubrics", "try", str(draft), "--db", str(store), "--json"], catch_exceptions=False
    )
    assert tried.exit_code == 0, tried.output
    report = json.loads(tried.output)
    assert store.read_bytes() == before  # nothing written
    # the real re-score, on a copy of the same store
    copy = tmp_path / "copy.db"
    shutil.copy2(store, copy)
    code, output = _run("--rubric", "inbound-service", "--db", str(copy), "--rubrics",
                        str(draft.parent), "--json")  # fmt: skip
    assert code == 0, output
    rescored = json.loads(output)
    assert _change_set(report["changes"]) == _change_set(rescored["changes"])
    assert ("c-good-en", "item", "no_forbidden_phrases", "pass", "fail") in _change_set(
        report["changes"]
    )
    assert report["scored"] == rescored["rescored"] == 4
    by_item = {(row["what"], row["id"]): row["changes"] for row in report["by_item"]}
    assert by_item[("item", "no_forbidden_phrases")] == {"pass→fail": 1}
    example = next(e for e in report["examples"] if e["id"] == "no_forbidden_phrases")["calls"][0]
    assert example["call_id"] == "c-good-en"
    assert any("I can help with that" in quote for quote in example["evidence"])


def test_rubrics_try_counts_agreement_with_reviewers(store: Path, tmp_path: Path) -> None:
    from qa.access.roles import User
    from qa.review.state import Decision, ItemChoice
    from qa.review.submit import submit_review

    db = open_db(store)
    rows = db.execute(
        "select s.id, i.item_id from scorecards s join item_results i on i.scorecard_id = s.id "
        "where s.call_id = 'c-good-en'"
    ).fetchall()
    # the reviewer confirms every machine verdict of the good call (no forbidden wording)
    choices = [ItemChoice(card, item, Decision.CONFIRMED) for card, item in rows]
    submit_review(db, "c-good-en", User("sam", "supervisor"), choices)
    db.conn.close()
    draft = _draft_rubrics(tmp_path / "draft")
    result = CliRunner().invoke(main, ["rubrics", "try", str(draft), "--db", str(store)])
    assert result.exit_code == 0, result.output
    assert "no_forbidden_phrases: 1 reviewed; deployed agrees 1, draft agrees 0" in result.output
    assert "item no_forbidden_phrases: pass→fail 1" in result.output
