"""What an agent sees: their own calls and evaluations, personal numbers masked.

An agent is a user of role ``agent`` linked to an agent identity (qa.access.agent_links). Every
function here takes the user and answers for their calls only; a call that is not theirs is
refused with the same message as a call that does not exist::

    rows = own_calls(db, alice)                  # CallRow, newest first, with what follows up
    detail = own_call(db, alice, call_id)        # masked CallDetail, without queues

Before a call is evaluated (a review submitted), the agent sees the machine's scorecard marked
as not reviewed; the queues a call is in (why it was picked) are never shown to them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import sqlite_utils

from qa.access.roles import User
from qa.review.appeals import (
    Appeal,
    FollowUp,
    check_own_call,
    follow_up,
    list_appeals,
    own_agent,
)
from qa.review.call_view import CallDetail, CallRow, PlayableAudio, call_detail, list_calls
from qa.review.call_view import playable_audio as _playable_audio

__all__ = ["OwnCall", "own_call", "own_call_audio", "own_calls"]


@dataclass(frozen=True)
class OwnCall:
    """One of the agent's calls in their list: the call and what followed its evaluation
    (None: not evaluated yet)."""

    row: CallRow
    follow_up: FollowUp | None

    @property
    def call_id(self) -> str:
        return self.row.call_id


def own_calls(db: sqlite_utils.Database, user: User, *, limit: int | None = 500) -> list[OwnCall]:
    """The agent's calls, newest first (PermissionDeniedError for other roles or a user not
    linked to an agent)."""
    agent = own_agent(db, user)
    rows = list_calls(db, agent=agent, limit=limit)
    follow = follow_up(db, [row.call_id for row in rows])
    return [OwnCall(row, follow.get(row.call_id)) for row in rows]


def own_call(
    db: sqlite_utils.Database, user: User, call_id: str
) -> tuple[CallDetail, tuple[Appeal, ...]]:
    """One of the agent's calls, masked, without the queues it is in; and its appeals."""
    check_own_call(db, user, call_id)
    detail = call_detail(db, call_id, viewer_role=user.role)
    return replace(detail, queues=()), tuple(list_appeals(db, call_id=call_id))


def own_call_audio(
    db: sqlite_utils.Database, user: User, call_id: str, dest_dir: Path
) -> PlayableAudio:
    """The playable recording of one of the agent's calls (qa.review.call_view.playable_audio)."""
    check_own_call(db, user, call_id)
    return _playable_audio(db, call_id, dest_dir)
