"""What every tab shares: where the store is, where playable audio goes, who is asking.

Nothing here holds per-user data: each handler opens the store for itself and learns the user
from the request, so two reviewers never see each other's state. The one thing shared by every
user is :class:`QueueRefresh` (when the review queues were last brought up to date), behind a
lock.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast
from zoneinfo import ZoneInfo

import gradio as gr
import sqlite_utils

from qa.access.permissions import Action, PermissionDeniedError, require
from qa.access.roles import User
from qa.access.users import get_user
from qa.config import AgreementSettings, AppealSettings, ReviewSettings, SamplingPlan
from qa.db import open_db
from qa.review.queues import RefreshSummary, queues_mark, refresh_queues

logger = logging.getLogger(__name__)


class QueueRefresh:
    """When the review queues were last brought up to date: what they were computed from
    (qa.review.queues.queues_mark: the newest scorecard, review submission and sentiment figures).

    One per app, shared by every user's requests (up to four run at once), so the mark is read
    and set under a lock, and two loads never refresh the queues at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: tuple[object, ...] | None = None

    def refresh(
        self,
        db: sqlite_utils.Database,
        settings: ReviewSettings,
        zone: ZoneInfo,
        agreement: AgreementSettings | None = None,
    ) -> RefreshSummary:
        """Refresh the queues (qa.review.queues.refresh_queues; the rules ``agreement`` trusts
        queue nothing) when a scorecard, a review or sentiment figures were saved since the last
        refresh; else do nothing: the queues change only with those."""
        with self._lock:
            mark = queues_mark(db)
            if mark == self._seen:
                return RefreshSummary({})
            summary = refresh_queues(db, settings, zone, agreement)
            self._seen = mark
            return summary


def permitted(user: User, action: Action) -> User:
    """``user``, when their role may do ``action``; else a gr.Error saying who may (the check is
    qa.access.permissions'). Every handler makes it on the server, whoever calls it."""
    try:
        require(user, action)
    except PermissionDeniedError as denied:
        logger.warning("refused %s: %s", user.username, denied)
        raise gr.Error(str(denied)) from None
    return user


@dataclass(frozen=True)
class AppContext:
    """The store file, the folder playable audio is written to (a private temp folder), and
    the site's review settings: queue thresholds, its time zone, its rubrics folder and the
    rubrics' pass marks; and :class:`QueueRefresh`, the one piece of state every user shares."""

    db_path: Path
    audio_dir: Path
    review: ReviewSettings = field(default_factory=ReviewSettings)
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    pass_marks: Mapping[tuple[str, str], float] = field(default_factory=dict)
    rubrics_dir: Path | None = None  # None: the shipped rubrics
    queues: QueueRefresh = field(default_factory=QueueRefresh, compare=False, repr=False)
    appeals: AppealSettings = field(default_factory=AppealSettings)  # [appeals] of the config
    agreement: AgreementSettings = field(default_factory=AgreementSettings)  # [agreement]
    sampling: SamplingPlan = field(default_factory=SamplingPlan)  # [sampling]

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

    def allowed(self, request: gr.Request | None, action: Action) -> User:
        """The logged-in user, when their role may do ``action``; else a gr.Error saying who
        may (the check is qa.access.permissions', made on the server for every request)."""
        return permitted(self.viewer(request), action)


def refused(message: str, outputs: int) -> list[Any]:
    """Tell the user why their action was refused (a warning toast) and leave the ``outputs``
    as they are: a refusal is not an error of the app, so no output is marked failed."""
    gr.Warning(message)
    return [gr.skip()] * outputs


P = ParamSpec("P")
R = TypeVar("R")


def keeps_page(outputs: int | None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a handler's refusals (a gr.Error raised inside: a role check, a bad day, a case the
    library refuses) leave the page as it was: the message as a warning toast and every output
    skipped, so no output turns into an error placeholder. ``outputs`` is how many the handler
    fills (None: one, returned bare rather than in a list).

    Usage::

        @keeps_page(3)
        def agent_view(ctx, user, ...) -> list[Any]: ...
    """

    def wrap(handler: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(handler)
        def kept(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return handler(*args, **kwargs)
            except gr.Error as refusal:
                skipped = refused(str(refusal.message), outputs or 1)
                return cast(R, skipped[0] if outputs is None else skipped)

        return kept

    return wrap
