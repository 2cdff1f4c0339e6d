"""Shared fixtures. Tests that load the real speech models are marked `models` (checked here: an
unmarked test that loads Whisper fails); `make test` fetches the models before pytest runs, so a
missing model is a set-up error, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import runtime

runtime.apply()  # before any test module imports torch or numpy; see qa/runtime.py

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture(autouse=True)
def _real_models_only_when_marked(request: pytest.FixtureRequest, monkeypatch) -> None:
    """Honest markers: a test not marked `models` may not load the real speech models, so
    `-m "not models"` is the fast subset it says it is. Every path to the real models (a run, a
    bench command, `qa transcribe`) loads Whisper; this catches it in the test's own process
    (the child runs of tests/batch_sites.py are started by `models` tests only)."""
    if request.node.get_closest_marker("models") is not None:
        return
    from asr.transcribe import Transcriber

    def refuse(self, *args, **kwargs) -> None:
        pytest.fail(f"{request.node.nodeid} loads the real speech models: mark it `models`")

    monkeypatch.setattr(Transcriber, "__init__", refuse)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A private MariaDB server (Debian mariadb-server) for the whole session, on its own socket
    and 127.0.0.1 port; see tests/mariadb_server.py. Missing server: a set-up error, not a skip."""
    from mariadb_server import MariaDB

    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    yield server
    server.stop()
