"""The rubric language: what loads, what is rejected (with file and line), the published schema
and the documentation of every condition kind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scoring import (
    PhraseLibrary,
    RubricError,
    check_rubric_dir,
    load_phrase_libraries,
    load_rubric,
    load_rubrics,
    rubric_json_schema,
)
from scoring.schema import OPERATOR_KEYS, MatchMode, MetricName, Window

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "rubric_cases"
RUBRICS = REPO / "rubrics"
STABLE_ITEMS = {"greeting", "identity_verification", "closing"}


@pytest.fixture(scope="module")
def shipped_libraries() -> dict[str, PhraseLibrary]:
    return load_phrase_libraries(sorted((RUBRICS / "phrases").glob("*.yaml")))


@pytest.mark.parametrize("path", sorted(CASES.glob("*.ok.yaml")), ids=lambda p: p.name)
def test_ok_cases_load(path: Path, shipped_libraries: dict[str, PhraseLibrary]) -> None:
    rubric = load_rubric(path, shipped_libraries)
    assert rubric.items
    assert rubric.source == str(path)


@pytest.mark.parametrize("path", sorted(CASES.glob("*.fail.yaml")), ids=lambda p: p.name)
def test_fail_cases_are_rejected_with_file_line_and_reason(
    path: Path, shipped_libraries: dict[str, PhraseLibrary]
) -> None:
    text = path.read_text(encoding="utf-8")
    line = re.search(r"^# expect-line: (\d+)$", text, re.MULTILINE)
    expected = re.findall(r"^# expect: (.+)$", text, re.MULTILINE)
    assert line and expected, f"{path.name} must state '# expect-line:' and '# expect:'"
    with pytest.raises(RubricError) as caught:
        load_rubric(path, shipped_libraries)
    message = str(caught.value)
    assert f"{path}:{line.group(1)}:" in message
    for fragment in expected:
        assert fragment in message
    assert all(problem.file == str(path) for problem in caught.value.problems)


def test_the_fail_cases_cover_the_required_mistakes() -> None:
    names = {p.name.removesuffix(".fail.yaml") for p in CASES.glob("*.fail.yaml")}
    assert {"unknown_key", "wrong_type", "two_operators", "unknown_library"} <= names


def test_every_error_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = tmp_path / "two-problems.yaml"
    path.write_text(
        "id: two\nversion: 1\ntitle: T\npass_mark: 80\nitems:\n"
        "  - id: a\n    title: A\n    weight: 1\n    chekc: {phrase: {phrases: [x]}}\n"
        "  - id: b\n    title: B\n    weight: -1\n    check: {phrase: {phrases: [x]}}\n",
        encoding="utf-8",
    )
    with pytest.raises(RubricError) as caught:
        load_rubric(path, {})
    lines = {problem.line for problem in caught.value.problems}
    assert {9, 12} <= lines
    assert "did you mean 'check'?" in str(caught.value)


def test_shipped_rubrics_load_with_the_stable_item_ids() -> None:
    rubrics = {rubric.id: rubric for rubric in load_rubrics(RUBRICS)}
    default = rubrics["inbound-service"]
    ids = {item.id for item in default.items}
    assert ids >= STABLE_ITEMS
    assert {"no_forbidden_phrases", "no_long_silence"} <= ids
    assert next(i for i in default.items if i.id == "identity_verification").critical
    assert [flag.id for flag in default.flags] == ["complaint", "escalation_risk", "do_not_disturb"]
    assert set(default.applies_to.languages) == {"en", "zh"}
    assert "greeting" in default.libraries


def test_load_rubric_finds_the_phrase_libraries_beside_it() -> None:
    rubric = load_rubric(RUBRICS / "inbound-service.yaml")
    assert "transaction" in rubric.libraries


def test_phrase_library_names_must_be_unique(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(
            "libraries:\n  greeting:\n    phrases: {en: [hello]}\n", encoding="utf-8"
        )
    with pytest.raises(RubricError, match="'greeting' is also defined in"):
        load_phrase_libraries(sorted(tmp_path.glob("*.yaml")))


def test_phrase_library_errors_have_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "libraries:\n  greeting:\n    phrases:\n      en: [hello, 'good {morning']\n"
        "  other:\n    phrase: {en: [x]}\n",
        encoding="utf-8",
    )
    with pytest.raises(RubricError) as caught:
        load_phrase_libraries([path])
    message = str(caught.value)
    assert f"{path}:6:" in message and "did you mean 'phrases'?" in message


def test_duplicate_rubric_ids_in_a_directory_are_rejected(tmp_path: Path) -> None:
    for name in ("one.yaml", "two.yaml"):
        (tmp_path / name).write_text((CASES / "minimal.ok.yaml").read_text(), encoding="utf-8")
    with pytest.raises(RubricError, match="rubric id 'minimal' is also used by"):
        load_rubrics(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="no rubric files"):
        load_rubrics(tmp_path)


def test_check_rubric_dir_reports_each_file(tmp_path: Path) -> None:
    (tmp_path / "phrases").mkdir()
    (tmp_path / "phrases" / "p.yaml").write_text(
        "libraries:\n  hello:\n    phrases: {en: [hello]}\n", encoding="utf-8"
    )
    (tmp_path / "good.yaml").write_text(
        "id: good\nversion: 1\ntitle: G\npass_mark: 50\nitems:\n"
        "  - {id: a, title: A, weight: 1, check: {phrase: {library: hello}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "bad.yaml").write_text(
        (CASES / "unknown_key.fail.yaml").read_text(), encoding="utf-8"
    )
    checks = {check.path.name: check for check in check_rubric_dir(tmp_path)}
    assert checks["p.yaml"].ok and checks["p.yaml"].kind == "phrases"
    assert checks["good.yaml"].ok and "good v1" in checks["good.yaml"].summary
    assert not checks["bad.yaml"].ok
    assert checks["bad.yaml"].problems[0].line == 12


def test_published_json_schema_is_current() -> None:
    published = json.loads((REPO / "docs" / "rubric-schema.json").read_text(encoding="utf-8"))
    assert published == json.loads(json.dumps(rubric_json_schema())), (
        "docs/rubric-schema.json is stale: run `qa rubrics schema -o docs/rubric-schema.json`"
    )


def test_json_schema_says_one_operator_per_condition() -> None:
    condition = rubric_json_schema()["$defs"]["Condition"]
    assert condition["minProperties"] == 1 and condition["maxProperties"] == 1
    assert set(condition["properties"]) == set(OPERATOR_KEYS)
    assert condition["additionalProperties"] is False


def test_every_condition_kind_and_option_is_documented() -> None:
    docs = (REPO / "docs" / "rubrics.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,4} `([a-z_]+)`", docs, re.MULTILINE))
    missing = set(OPERATOR_KEYS) - headings
    assert not missing, f"docs/rubrics.md has no '### `kind`' section for: {sorted(missing)}"
    for word in [m.value for m in MatchMode] + [m.value for m in MetricName]:
        assert f"`{word}`" in docs, f"docs/rubrics.md does not mention `{word}`"
    for key in Window.model_fields:
        assert f"`{key}" in docs, f"docs/rubrics.md does not mention window `{key}`"
