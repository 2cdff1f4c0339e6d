"""What every tab shares: where the store is, where playable audio goes, who is asking.

Nothing here holds per-user data: each handler opens the store for itself and learns the user
from the request, so two reviewers never see each other's state.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import sqlite_utils

from qa.db import open_db
from qa.users import User, get_user

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppContext:
    """The store file and the folder playable audio is written to (a private temp folder)."""

    db_path: Path
    audio_dir: Path

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite_utils.Database]:
        """The store, opened for one handler and closed after it (SQLite connections are not
        shared between Gradio's worker threads)."""
        db = open_db(self.db_path)
        try:
            yield db
        finally:
            db.close()

    def prune_audio(self, max_age_s: float = 900.0) -> None:
        """Delete playable audio written more than ``max_age_s`` ago: Gradio has long copied
        it to its own cache by then, and call audio should not pile up in the temp folder."""
        cutoff = time.time() - max_age_s
        for path in self.audio_dir.glob("*.wav"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:
                continue  # another handler pruned it first

    def viewer(self, request: gr.Request | None) -> User:
        """The logged-in user making ``request``; a gr.Error when there is none."""
        username = getattr(request, "username", None)
        if not username:
            raise gr.Error("Log in first: this app serves logged-in users only.")
        with self.db() as db:
            user = get_user(db, username)
        if user is None:
            raise gr.Error(f"The account {username!r} no longer exists; ask an admin.")
        return user
