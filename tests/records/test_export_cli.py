"""`qa export`: scorecards, reviews, complaints and the do-not-disturb list as CSV and JSON.

Over test_performance's store with rita's review of c7 (every verdict confirmed, with a comment
holding a phone number). CSV and JSON of one export must hold the same values; personal numbers
are masked unless --unmasked.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_store import REVIEW_COMMENT, REVIEWER, build_records_store

from qa.cli import main


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_records_store(tmp_path_factory.mktemp("export"), reviewed=True)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _both(db_path: Path, kind: str, *extra: str) -> tuple[list[dict], dict]:
    rows = list(csv.DictReader(io.StringIO(_cli("export", kind, "--db", str(db_path), *extra))))
    document = json.loads(_cli("export", kind, "--db", str(db_path), "--format", "json", *extra))
    return rows, document


def _as_csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("kind", ["scorecards", "reviews", "complaints", "dnd", "identity"])
def test_csv_and_json_hold_the_same_records(db_path, kind):
    rows, document = _both(db_path, kind)
    assert document["export"] == kind and document["masked"] is True
    assert rows and list(rows[0]) == document["columns"]
    assert rows == [
        {column: _as_csv(record[column]) for column in document["columns"]}
        for record in document["records"]
    ]


def test_scorecards_export_one_row_per_item_with_the_counted_verdict(db_path):
    rows, _ = _both(db_path, "scorecards", "--since", "2026-12-01", "--until", "2026-12-01")
    assert {row["call_id"] for row in rows} == {"c7-late-verification-en", "c9-dnd-pitch-en"}
    identity = next(r for r in rows if r["item"] == "identity_verification")
    assert (identity["result"], identity["machine_result"], identity["decision"]) == (
        "fail", "fail", "confirmed")  # fmt: skip
    assert (identity["reviewer"], identity["reviewed"], identity["critical"]) == (
        REVIEWER, "true", "true")  # fmt: skip
    assert "0:07 agent: “Sure. Done, I've switched you to the unlimited plan.”" in identity[
        "evidence"]  # fmt: skip
    pitch = [r for r in rows if r["call_id"] == "c9-dnd-pitch-en"]
    assert pitch[0]["flags"] == "do_not_disturb (high, marketing); escalation_risk (high)"
    assert pitch[0]["reviewed"] == "false" and pitch[0]["decision"] == ""


def test_reviews_export_masks_numbers_in_comments_unless_unmasked(db_path):
    rows, _ = _both(db_path, "reviews")
    assert {row["call_id"] for row in rows} == {"c7-late-verification-en"}
    assert len(rows) == 8  # every item of the inbound rubric was decided
    assert all(r["decision"] == "confirmed" and r["changed"] == "false" for r in rows)
    comment = rows[0]["review_comment"]
    assert "415 555 0107" not in comment and "[phone ···0107]" in comment
    unmasked, document = _both(db_path, "reviews", "--unmasked")
    assert unmasked[0]["review_comment"] == REVIEW_COMMENT and document["masked"] is False


def test_dnd_export_lists_the_kind_of_call_refused(db_path):
    rows, _ = _both(db_path, "dnd")
    assert [(r["call_id"], r["kind"], r["customer_number"]) for r in rows] == [
        ("c8-dnd-survey-zh", "survey", "[phone ···7000]"),
        ("c9-dnd-pitch-en", "marketing", "[phone ···0109]"),
    ]
    assert rows[1]["quote"] == "Take me off your list and stop calling me."
    assert rows[1]["quote_at"] == "0:09" and rows[1]["direction"] == "outbound"
    unmasked, _ = _both(db_path, "dnd", "--unmasked", "--agent", "Wang Fang")
    assert [(r["customer_number"], r["kind"]) for r in unmasked] == [("13700137000", "survey")]


def test_complaints_export_opens_missing_cases_and_shows_escalation(db_path, tmp_path):
    out = tmp_path / "reports" / "complaints.csv"
    result = CliRunner().invoke(
        main, ["export", "complaints", "--db", str(db_path), "-o", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0 and "wrote 2 complaints row(s)" in result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["call_id"], r["status"], r["source"]) for r in rows] == [
        ("c3-complaint-en", "open", "flag"), ("c5-complaint-zh", "open", "flag")]  # fmt: skip
    assert rows[0]["opened_at"] == "2026-11-20T19:30:00+00:00"


def test_a_cell_that_would_be_a_spreadsheet_formula_is_defused():
    from qa.records.export import ExportKind, ExportTable

    table = ExportTable(ExportKind.DND, ("quote",), ({"quote": "=HYPERLINK(1)"},), True)
    stream = io.StringIO()
    table.write_csv(stream)
    assert stream.getvalue() == "quote\n'=HYPERLINK(1)\n"


def test_export_refuses_an_unknown_kind(db_path):
    result = CliRunner().invoke(main, ["export", "calls", "--db", str(db_path)])
    assert result.exit_code == 2 and "scorecards" in result.output
