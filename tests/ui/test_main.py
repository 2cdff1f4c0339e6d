"""``python -m ui DB --tabs ...``: serves the tabs named, and refuses a choice that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

import ui.__main__ as entry


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    calls: list[dict] = []
    monkeypatch.setattr(entry, "serve", lambda db, **options: calls.append({"db": db, **options}))
    return calls


def test_it_serves_the_tabs_named(tmp_path: Path, served: list[dict]) -> None:
    db = tmp_path / "qa.db"
    db.touch()
    entry.main([str(db), "--tabs", "calls, queues", "--port", "7861"])
    assert served == [
        {"db": db, "host": "127.0.0.1", "port": 7861, "tabs": ["calls", "queues"],
         "config": served[0]["config"]}
    ]  # fmt: skip
    entry.main([str(db)])
    assert served[1]["tabs"] is None  # every tab


@pytest.mark.parametrize(
    ("tabs", "message"),
    [("callz", "choose tabs from calls, queues"), ("queues", "opens calls in the calls tab")],
)
def test_it_refuses_tabs_that_cannot_be_served(
    tmp_path: Path, served: list[dict], capsys: pytest.CaptureFixture, tabs: str, message: str
) -> None:
    db = tmp_path / "qa.db"
    db.touch()
    with pytest.raises(SystemExit) as exit_:
        entry.main([str(db), "--tabs", tabs])
    assert exit_.value.code == 2 and message in capsys.readouterr().err and served == []
