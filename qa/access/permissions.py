"""Who may do what in the review app: one table of actions and the roles allowed each.

Every check in ``qa`` and ``ui`` goes through :func:`can` or :func:`require`, so the rules live
in one place and the docs (docs/ui.md) describe this table::

    require(user, Action.ASSIGN_REVIEWS)        # PermissionDeniedError for a reviewer
    if can(user.role, Action.SEE_PERSONAL_DATA): ...

Beyond the table, one rule depends on the review itself: a submitted review may be changed by
the reviewer who submitted it, or by a role with ``edit_others_reviews`` (see qa.review.state).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from qa.access.roles import Role, User

__all__ = [
    "PERMISSIONS",
    "Action",
    "PermissionDeniedError",
    "can",
    "require",
    "roles_for",
    "sees_personal_data",
]


class Action(StrEnum):
    VIEW_CALLS = "view_calls"
    VIEW_QUEUES = "view_queues"
    REVIEW_CALLS = "review_calls"
    EDIT_OTHERS_REVIEWS = "edit_others_reviews"
    ASSIGN_REVIEWS = "assign_reviews"
    DISPUTE_REVIEWS = "dispute_reviews"
    VIEW_AUDIT_LOG = "view_audit_log"
    SEE_PERSONAL_DATA = "see_personal_data"
    MANAGE_USERS = "manage_users"
    VIEW_AGENT_RECORDS = "view_agent_records"
    OPEN_COMPLAINTS = "open_complaints"
    MANAGE_COMPLAINTS = "manage_complaints"
    EXPORT_DATA = "export_data"
    AUDIT_IDENTITY = "audit_identity"
    MANAGE_RUBRICS = "manage_rubrics"
    VIEW_OWN_EVALUATIONS = "view_own_evaluations"
    APPEAL_EVALUATIONS = "appeal_evaluations"
    SETTLE_APPEALS = "settle_appeals"
    VIEW_RULE_AGREEMENT = "view_rule_agreement"
    RUN_CALIBRATION = "run_calibration"
    COACH_AGENTS = "coach_agents"


# Everyone but agents: an agent sees their own calls only (qa.review.agent_view), never the lists.
_STAFF = frozenset(Role) - {Role.AGENT}
_REVIEWERS = frozenset({Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN})
_LEADS = frozenset({Role.SUPERVISOR, Role.ADMIN})

# action -> (the roles allowed, what the action is, for messages and docs)
PERMISSIONS: Mapping[Action, tuple[frozenset[Role], str]] = {
    Action.VIEW_CALLS: (_STAFF, "open calls: audio, transcript, scorecard"),
    Action.VIEW_QUEUES: (_STAFF, "see the review queues and worklists"),
    Action.REVIEW_CALLS: (_REVIEWERS, "claim, release and submit reviews"),
    Action.EDIT_OTHERS_REVIEWS: (_LEADS, "change a review another user claimed or submitted"),
    Action.ASSIGN_REVIEWS: (_LEADS, "assign reviews to reviewers"),
    Action.DISPUTE_REVIEWS: (_LEADS, "mark a submitted review disputed"),
    Action.VIEW_AUDIT_LOG: (_STAFF, "read the audit trail of a call"),
    Action.SEE_PERSONAL_DATA: (
        frozenset({Role.AUDITOR, Role.ADMIN}),
        "see ID-card, bank-card, phone numbers and dates of birth unmasked",
    ),
    Action.MANAGE_USERS: (frozenset({Role.ADMIN}), "add users and change their passwords"),
    Action.VIEW_AGENT_RECORDS: (
        frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}),
        "see agents' performance records",
    ),
    Action.OPEN_COMPLAINTS: (_REVIEWERS, "open a complaint case"),
    Action.MANAGE_COMPLAINTS: (_LEADS, "change a complaint case's owner and status"),
    Action.EXPORT_DATA: (
        frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}),
        "export scorecards, reviews, complaints and lists",
    ),
    Action.AUDIT_IDENTITY: (
        frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}),
        "run the identity-verification audit",
    ),
    Action.MANAGE_RUBRICS: (_LEADS, "try drafts of the rubrics and deploy new versions"),
    Action.VIEW_OWN_EVALUATIONS: (
        frozenset({Role.AGENT, Role.ADMIN}),
        "see their own calls and evaluations (an agent linked to a user)",
    ),
    Action.APPEAL_EVALUATIONS: (
        frozenset({Role.AGENT, Role.ADMIN}),
        "acknowledge their evaluations and appeal an item",
    ),
    Action.SETTLE_APPEALS: (_LEADS, "uphold or overturn agents' appeals"),
    Action.VIEW_RULE_AGREEMENT: (
        frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}),
        "see how often reviewers agree with each rule of the machine",
    ),
    Action.RUN_CALIBRATION: (
        _LEADS,
        "start calibration sessions, read their reports and record the agreed answers",
    ),
    Action.COACH_AGENTS: (_LEADS, "assign coaching tasks to agents and complete them"),
}


class PermissionDeniedError(PermissionError):
    """The user's role may not do this; the message names the roles that may."""


def roles_for(action: Action | str) -> frozenset[Role]:
    """The roles allowed ``action``."""
    return PERMISSIONS[Action(action)][0]


def can(role: Role | str, action: Action | str) -> bool:
    """Whether ``role`` may do ``action``."""
    return Role(role) in roles_for(action)


def sees_personal_data(role: Role | str) -> bool:
    """Whether transcripts are shown to ``role`` unmasked (ID, card and phone numbers)."""
    return can(role, Action.SEE_PERSONAL_DATA)


def require(user: User, action: Action | str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user``'s role may do ``action``."""
    action = Action(action)
    if can(user.role, action):
        return
    allowed, what = PERMISSIONS[action]
    names = " or ".join(sorted(role.value for role in allowed))
    raise PermissionDeniedError(
        f"{user.username} ({user.role.value}) may not {what}: that needs the role {names}; "
        "ask an admin if you should have it"
    )
