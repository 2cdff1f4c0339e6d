"""Scoring's compiled modules (scoring/native.py): used when `make setup` built them from these
sources, never when the sources changed since, and giving the verdicts plain Python gives."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scoring
from scoring import load_case, load_rubrics, score_call
from scoring.native import COMPILED, MANIFEST, PURE_PYTHON_VARIABLE, fingerprint, use_compiled

REPO = Path(__file__).resolve().parents[2]
CASES = sorted((REPO / "tests" / "rubric_cases" / "transcripts").glob("*.yaml"))


def _scorecards() -> str:
    """Every annotated fixture scored with the rubric it names, as JSON lines."""
    rubrics = {rubric.id: rubric for rubric in load_rubrics(REPO / "rubrics")}
    lines = []
    for path in CASES:
        case = load_case(path)
        card = score_call(rubrics[case.rubric], case.transcript, case.call)
        lines.append(card.model_dump_json())
    return "\n".join(lines)


def test_make_setup_compiles_the_per_call_modules_and_scoring_imports_them() -> None:
    suffix = fingerprint()["extension"]
    plain = os.environ.get(PURE_PYTHON_VARIABLE) == "1"  # asked for: the sources, none compiled
    for name in COMPILED:
        module = importlib.import_module(f"scoring.{name}")
        assert str(module.__file__).endswith(".py" if plain else suffix), (
            f"scoring.{name} runs as plain Python ({module.__file__}): run `make setup` "
            "(scripts/compile-scoring.py) to compile it"
        )
    assert scoring.__path__[0].endswith("_compiled") is not plain


def test_compiled_modules_give_the_scorecards_plain_python_gives() -> None:
    compiled = _scorecards()  # compiled unless CALLQA_PURE_PYTHON=1 (the test above says which)
    child = (  # this file's _scorecards, in a process running scoring as plain Python
        "import importlib.util as u, scoring.index as i; assert i.__file__.endswith('.py'); "
        f"s = u.spec_from_file_location('t', {str(Path(__file__))!r}); m = u.module_from_spec(s); "
        "s.loader.exec_module(m); print(m._scorecards())"
    )
    plain = subprocess.run(
        [sys.executable, "-c", child], cwd=REPO, capture_output=True, text=True, check=True,
        env={**os.environ, PURE_PYTHON_VARIABLE: "1", "PYTHONPATH": str(REPO)},
    ).stdout.strip()  # fmt: skip
    assert len(CASES) > 20
    assert compiled == plain


def test_a_build_from_other_sources_is_never_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PURE_PYTHON_VARIABLE, raising=False)
    stale = {**fingerprint(), "sources": "0" * 64}
    (tmp_path / MANIFEST).write_text(json.dumps(stale), encoding="utf-8")
    path = ["/src/scoring"]
    with caplog.at_level(logging.WARNING, logger="scoring.native"):
        assert not use_compiled(path, tmp_path)
    assert path == ["/src/scoring"]
    assert "built from other sources" in caplog.text
    assert "make setup" in caplog.text


def test_a_build_from_these_sources_goes_first_on_the_package_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PURE_PYTHON_VARIABLE, raising=False)
    (tmp_path / MANIFEST).write_text(json.dumps(fingerprint()), encoding="utf-8")
    path = ["/src/scoring"]
    assert use_compiled(path, tmp_path)
    assert path == [str(tmp_path), "/src/scoring"]


def test_no_build_or_plain_python_asked_for_runs_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ["/src/scoring"]
    assert not use_compiled(path, tmp_path)  # nothing built there
    (tmp_path / MANIFEST).write_text(json.dumps(fingerprint()), encoding="utf-8")
    monkeypatch.setenv(PURE_PYTHON_VARIABLE, "1")
    assert not use_compiled(path, tmp_path)
    assert path == ["/src/scoring"]
