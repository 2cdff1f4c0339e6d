"""What each user must act on, for the review app's header: computed from the store on each page
load, so a notice goes away the moment the work is done (nothing to mark read)::

    for notice in notifications(db, user, appeals=config.appeals):
        notice.kind, notice.count, notice.text, notice.tab

- an agent: coaching tasks and evaluations to acknowledge, and appeals decided in the last
  appeal window;
- whoever settles appeals (supervisors, admins; only the named QA leads when the site names
  them): open appeals;
- a reviewer: reviews assigned to them and not done, and calibration sessions with items they
  have not scored yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from qa.access.agent_links import agent_of
from qa.access.permissions import Action, can
from qa.access.roles import Role, User
from qa.config import AppealSettings
from qa.review.appeals import AppealStatus, list_appeals
from qa.review.assignment import worklist
from qa.review.calibration import blind_items, list_sessions

__all__ = ["Notice", "notifications"]


@dataclass(frozen=True)
class Notice:
    kind: (
        str  # coaching | acknowledge | appeal_decided | appeals_to_settle | worklist | calibration
    )
    count: int
    text: str
    tab: str  # the tab where it is done


def _agent_notices(db: sqlite_utils.Database, user: User, settings: AppealSettings) -> list[Notice]:
    agent = agent_of(db, user.username)
    if agent is None:
        return []
    (waiting,) = db.execute(
        "select count(*) from reviews r join calls c on c.call_id = r.call_id "
        "where (c.agent = ? or c.agent_name = ?) and r.revision > 0 and r.status in "
        "('done', 'disputed') and not exists (select 1 from evaluation_acks k "
        "where k.call_id = r.call_id and k.revision = r.revision)",
        [agent, agent],
    ).fetchone()
    since = datetime.now(UTC) - timedelta(days=settings.window_days)
    decided = [a for a in list_appeals(db, agent=agent)
               if a.decided_at is not None and a.decided_at >= since]  # fmt: skip
    # Coaching tasks are qa.records.coaching's (an area above this one): counted from the table.
    (tasks,) = db.execute(
        "select count(*) from coaching_tasks where agent = ? and status = 'assigned'", [agent]
    ).fetchone()
    found = []
    if tasks:
        found.append(Notice("coaching", tasks, f"{tasks} coaching task(s) to acknowledge",
                            "Coaching"))  # fmt: skip
    if waiting:
        found.append(Notice("acknowledge", waiting, f"{waiting} evaluation(s) to acknowledge",
                            "My evaluations"))  # fmt: skip
    if decided:
        found.append(Notice("appeal_decided", len(decided),
                            f"{len(decided)} appeal(s) decided", "My evaluations"))  # fmt: skip
    return found


def notifications(
    db: sqlite_utils.Database, user: User, *, appeals: AppealSettings | None = None
) -> list[Notice]:
    """The things ``user`` must act on now (empty: nothing)."""
    settings = appeals or AppealSettings()
    found: list[Notice] = []
    if can(user.role, Action.APPEAL_EVALUATIONS):
        found += _agent_notices(db, user, settings)
    settles = can(user.role, Action.SETTLE_APPEALS) and (
        not settings.settled_by or user.username in settings.settled_by
        or user.role is Role.ADMIN
    )  # fmt: skip
    if settles:
        waiting = len(list_appeals(db, status=AppealStatus.OPEN))
        if waiting:
            found.append(Notice("appeals_to_settle", waiting, f"{waiting} appeal(s) to settle",
                                "Appeals"))  # fmt: skip
    if can(user.role, Action.REVIEW_CALLS):
        todo = len(worklist(db, user.username))
        if todo:
            found.append(Notice("worklist", todo, f"{todo} review(s) assigned to you",
                                "Queues"))  # fmt: skip
        for session in list_sessions(db, user):
            if session.status != "open" or user.username not in session.reviewers:
                continue
            left = sum(1 for item in blind_items(db, user, session.session_id) if item.mine is None)
            if left:
                found.append(Notice("calibration", left, f"calibration #{session.session_id} "
                                    f"{session.title}: {left} item(s) to score",
                                    "Calibration"))  # fmt: skip
    return found
