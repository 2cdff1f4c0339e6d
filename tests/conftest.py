"""Shared fixtures. Tests that need the real speech models use `models_dir`; `make test` fetches
the models before pytest runs, so a missing model is a set-up error, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import runtime

runtime.apply()  # before any test module imports torch or numpy; see qa/runtime.py

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


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
