"""``qa rubrics check / explain / schema`` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli.rubrics import rubrics
from scoring import rubric_json_schema

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "rubric_cases"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_passes_on_the_shipped_rubrics(runner: CliRunner) -> None:
    result = runner.invoke(rubrics, ["check", str(REPO / "rubrics")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == len(list((REPO / "rubrics").rglob("*.yaml")))
    assert all(line.startswith("ok ") for line in lines)
    assert any("rubric inbound-service v8: 8 items, 3 flags" in line for line in lines)
    assert any("rubric outbound-sales v7: 9 items, 3 flags" in line for line in lines)
    assert any("intents: transaction_done, identity_check" in line for line in lines)


def test_check_defaults_to_the_shipped_rubrics(runner: CliRunner) -> None:
    result = runner.invoke(rubrics, ["check"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "inbound-service" in result.output


def test_check_fails_with_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    shutil.copytree(REPO / "rubrics", tmp_path, dirs_exist_ok=True)
    bad = tmp_path / "typo.yaml"
    shutil.copy(CASES / "unknown_key.fail.yaml", bad)
    result = runner.invoke(rubrics, ["check", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"FAIL  {bad}" in result.output
    assert f"{bad}:12: items[0].check.phrase.phrses: unknown key 'phrses'" in result.output
    assert "did you mean 'phrases'?" in result.output
    assert "ok    " in result.output  # the good files are still listed
    files = len(list((REPO / "rubrics").rglob("*.yaml"))) + 1
    assert f"1 of {files} files have problems" in result.output


def test_check_reports_a_broken_phrase_library(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "phrases").mkdir()
    (tmp_path / "phrases" / "p.yaml").write_text("libraries:\n  x: {phrases: {en: hi}}\n")
    shutil.copy(CASES / "minimal.ok.yaml", tmp_path / "minimal.yaml")
    result = runner.invoke(rubrics, ["check", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"{tmp_path / 'phrases' / 'p.yaml'}:2:" in result.output
    assert "should be a list" in result.output


def test_check_of_a_missing_directory_fails(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(rubrics, ["check", str(tmp_path / "nope")], catch_exceptions=False)
    assert result.exit_code == 1
    assert "no such rubric directory" in result.output


def test_explain_by_id_shows_items_conditions_and_phrases(runner: CliRunner) -> None:
    result = runner.invoke(
        rubrics,
        ["explain", "inbound-service", "--dir", str(REPO / "rubrics")],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("inbound-service v8 — Inbound customer service")
    assert "identity_verification  weight 25 (25% when all apply)  CRITICAL" in out
    assert "applies if (else N/A):" in out and "happens earlier than the first match of:" in out
    assert "agent says a phrase from greeting in the first 2 agent turns" in out
    assert "metric longest_silence <= 30" in out
    assert "complaint  Customer complaint or escalation (default severity medium)" in out
    assert "zh: '安科电信', '安科'" in out
    assert "agent says something meaning intent transaction_done" in out
    assert "Intent libraries:" in out and "transaction_done — The agent changed" in out


def test_explain_by_path(runner: CliRunner) -> None:
    path = CASES / "all_kinds.ok.yaml"
    libraries = REPO / "rubrics"
    result = runner.invoke(
        rubrics, ["explain", str(libraries / "inbound-service.yaml")], catch_exceptions=False
    )
    assert result.exit_code == 0 and "greeting" in result.output
    broken = runner.invoke(rubrics, ["explain", str(path)], catch_exceptions=False)
    assert broken.exit_code == 1  # no phrases/ beside it: its libraries are unknown
    assert "unknown phrase library 'greeting'" in broken.output


def test_explain_unknown_id_lists_the_known_ones(runner: CliRunner) -> None:
    result = runner.invoke(
        rubrics, ["explain", "outbound", "--dir", str(REPO / "rubrics")], catch_exceptions=False
    )
    assert result.exit_code == 1
    assert "no rubric with id 'outbound'" in result.output and "inbound-service" in result.output


def test_schema_writes_the_json_schema(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "schema.json"
    result = runner.invoke(rubrics, ["schema", "-o", str(target)], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(
        json.dumps(rubric_json_schema())
    )
    printed = runner.invoke(rubrics, ["schema"], catch_exceptions=False)
    assert json.loads(printed.output)["title"] == "callqa rubric"
