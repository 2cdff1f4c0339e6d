"""The identity-verification audit: every call with a transaction, verified before it or not, with
the transaction and the verification quoted with their times, and the reviewer's decision.

Over test_performance's store, where rita reviewed c7 (late verification) and confirmed the
machine's fail. Calls with a transaction: c1 and c4 (verified first), c2 (roaming cancelled,
then only a date of birth asked: never fully verified) and c7 (plan switched, then the PIN).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from records_store import REVIEWER, build_records_store

from calldata import Role, Verdict
from qa.cli import main
from qa.db import open_db
from qa.records.identity_audit import identity_audit


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_records_store(tmp_path_factory.mktemp("audit"), reviewed=True)


def test_every_call_with_a_transaction_and_only_those(db_path):
    checks = identity_audit(open_db(db_path))
    assert [(c.call_id, c.verified_before, c.finding) for c in checks] == [
        ("c1-good-en", True, "verified before the transaction"),
        ("c2-no-id-en", False, "never fully verified"),
        ("c4-good-zh", True, "verified before the transaction"),
        ("c7-late-verification-en", False, "verified only after the transaction"),
    ]


def test_the_transaction_before_id_call_with_its_evidence(db_path):
    (check,) = [c for c in identity_audit(open_db(db_path)) if c.call_id == "c2-no-id-en"]
    assert (check.machine_result, check.result, check.decision) == (Verdict.FAIL, Verdict.FAIL,
                                                                      None)  # fmt: skip
    (transaction,) = check.transaction
    assert (transaction.start, transaction.speaker) == (9.4, Role.AGENT)
    assert "I have canceled the international roaming" in transaction.text
    (step,) = check.verification  # a date of birth alone is not a verification
    assert (step.start, step.text.strip()) == (
        16.5,
        "Oh, right. Can you tell me your date of birth?",
    )
    assert not check.verification_complete
    assert check.transaction_at == 9.4 and check.verified_at == 16.5


def test_a_verified_call_shows_the_verification_before_the_transaction(db_path):
    (check,) = [c for c in identity_audit(open_db(db_path)) if c.call_id == "c4-good-zh"]
    assert check.verified_at == 9.4 and check.transaction_at == 19.3
    assert [e.text for e in check.verification][1] == "我的服务秘码是8866"
    assert check.transaction[0].text == "已经为您开通国际漫游,稍后您会收到短信通知"


def test_the_reviewers_decision_is_shown(db_path):
    checks = identity_audit(open_db(db_path), since=date(2026, 12, 1))
    (check,) = checks
    assert check.call_id == "c7-late-verification-en"
    assert (check.decision.decision.value, check.decision.reviewer) == ("confirmed", REVIEWER)
    assert (
        check.verification[0].text.strip() == "Oh, could you also confirm your account PIN for me?"
    )


def test_an_unknown_rubric_leaves_the_evidence_unsplit(db_path, tmp_path):
    checks = identity_audit(open_db(db_path), rubrics_dir=tmp_path)  # no rubrics there
    (check,) = [c for c in checks if c.call_id == "c2-no-id-en"]
    assert check.transaction == () and len(check.verification) == 2  # the stored evidence
    assert check.finding == "never fully verified"


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_qa_audit_identity_table_csv_and_json(db_path):
    table = _cli("audit", "identity", "--db", str(db_path), "--since", "2026-11-20")
    assert "c1-good-en" not in table  # before --since
    assert "NO: never fully verified" in table and "confirmed by rita" in table
    assert "0:09 agent: “Okay, I have canceled the international roaming" in table
    assert "3 call(s) with a transaction; 2 not verified before it" in table
    bob = ["--format", "csv", "--agent", "Bob Jones"]
    rows = list(csv.DictReader(io.StringIO(_cli("audit", "identity", "--db", str(db_path), *bob))))
    assert [(r["call_id"], r["verified_before"], r["decision"]) for r in rows] == [
        ("c2-no-id-en", "false", ""),
        ("c7-late-verification-en", "false", "confirmed"),
    ]
    assert rows[0]["transaction_at"] == "9.4" and rows[0]["verified_at"] == "16.5"
    document = json.loads(_cli("audit", "identity", "--db", str(db_path), "--format", "json",
                               "--until", "2026-11-16"))  # fmt: skip
    assert [r["call_id"] for r in document["records"]] == ["c1-good-en"]
    assert document["records"][0]["verification"].startswith("0:10 agent: “I can help with that.")
