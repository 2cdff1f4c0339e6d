"""Complaint cases: opened from flags or by a reviewer, owned, worked, escalated on exact dates.

The store is test_performance's: complaint calls c3-complaint-en (Alice, 2026-11-20 19:30 UTC,
high) and c5-complaint-zh (Wang, 2026-11-24 21:40 UTC, high); the rest raise no complaint.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store

from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role
from qa.access.users import add_user, get_user
from qa.db import open_db
from qa.records.complaints import (
    ESCALATIONS,
    CaseError,
    CaseStatus,
    case_events,
    list_cases,
    open_case,
    open_cases_from_flags,
    overdue_cases,
    record_reply,
    set_owner,
    set_status,
    sync_complaint_cases,
)

COMPLAINED = datetime(2026, 11, 20, 19, 30, tzinfo=UTC)  # c3-complaint-en's start
SECOND = timedelta(seconds=1)


@pytest.fixture
def db(tmp_path: Path):
    store = open_db(build_records_store(tmp_path))
    yield store
    store.close()


def _case(db, call_id: str = "c3-complaint-en"):
    (case,) = list_cases(db, call_id=call_id)
    return case


def _escalated_to(case, now: datetime) -> str | None:
    escalation = case.escalation(now)
    return escalation.escalate_to if escalation else None


def test_a_case_is_opened_for_each_complaint_flag_once(db):
    opened = sync_complaint_cases(db)
    assert sorted(c.call_id for c in opened) == ["c3-complaint-en", "c5-complaint-zh"]
    assert sync_complaint_cases(db) == []  # a backfill is safe to repeat
    assert open_cases_from_flags(db, "c3-complaint-en") == []  # so is the pipeline's call
    assert open_cases_from_flags(db, "c1-good-en") == []  # no complaint, no case
    case = _case(db)
    assert (case.source, case.flag_id, case.severity, case.status) == (
        "flag", "complaint", "high", CaseStatus.OPEN)  # fmt: skip
    assert (case.owner, case.agent, case.opened_at) == ("", "1001", COMPLAINED)
    assert "formal complaint" in case.summary  # the customer's words that raised the flag
    assert [e.action for e in case_events(db, case.case_id)] == ["opened"]


def test_the_escalation_rules_are_the_source_documents(db):
    assert [(r.days, r.milestone.value, r.escalate_to) for r in ESCALATIONS] == [
        (3, "reply", "direct manager"), (7, "handling", "branch head"),
        (15, "resolution", "company president"), (20, "resolution", "chairman")]  # fmt: skip


def test_an_untouched_case_escalates_on_exact_dates(db):
    sync_complaint_cases(db)
    case = _case(db)
    steps = [
        (datetime(2026, 11, 23, 19, 30, tzinfo=UTC) - SECOND, None),
        (datetime(2026, 11, 23, 19, 30, tzinfo=UTC), "direct manager"),
        (datetime(2026, 11, 27, 19, 30, tzinfo=UTC) - SECOND, "direct manager"),
        (datetime(2026, 11, 27, 19, 30, tzinfo=UTC), "branch head"),
        (datetime(2026, 12, 5, 19, 30, tzinfo=UTC), "company president"),
        (datetime(2026, 12, 10, 19, 30, tzinfo=UTC) - SECOND, "company president"),
        (datetime(2026, 12, 10, 19, 30, tzinfo=UTC), "chairman"),
    ]
    assert [_escalated_to(case, now) for now, _ in steps] == [level for _, level in steps]
    upcoming = case.next_deadline(datetime(2026, 11, 21, tzinfo=UTC))
    assert (upcoming.escalation.days, upcoming.due) == (3, COMPLAINED + timedelta(days=3))


def test_milestones_stop_the_escalation(db):
    sync_complaint_cases(db)
    sam = get_user(db, SUPERVISOR)
    case = set_owner(db, _case(db).case_id, REVIEWER, by=sam, note="Rita calls back")
    # The owner replies on day 2 and starts handling on day 5 (late: the branch-head deadline
    # is day 7, the reply deadline was met).
    case = record_reply(db, case.case_id, by=get_user(db, REVIEWER),
                        at=datetime(2026, 11, 22, 10, tzinfo=UTC))  # fmt: skip
    assert _escalated_to(case, datetime(2026, 11, 24, tzinfo=UTC)) is None
    assert _escalated_to(case, datetime(2026, 11, 27, 19, 30, tzinfo=UTC)) == "branch head"
    case = set_status(db, case.case_id, "in_progress", by=sam,
                      at=datetime(2026, 11, 28, 9, tzinfo=UTC))  # fmt: skip
    states = [d.state for d in case.deadlines(datetime(2026, 11, 30, tzinfo=UTC))]
    assert states == ["met", "met late", "pending", "pending"]
    assert _escalated_to(case, datetime(2026, 12, 5, 19, 30, tzinfo=UTC)) == "company president"
    case = set_status(db, case.case_id, CaseStatus.RESOLVED, by=sam, note="refund of $40",
                      at=datetime(2026, 12, 6, tzinfo=UTC))  # fmt: skip
    assert not case.active and case.escalation(datetime(2027, 1, 1, tzinfo=UTC)) is None
    assert [d.state for d in case.deadlines()] == ["met", "met late", "met late", "met"]
    history = [(e.action, e.before, e.after, e.by) for e in case_events(db, case.case_id)]
    assert history == [
        ("opened", "", "open", "(automatic)"), ("owner", "", REVIEWER, SUPERVISOR),
        ("reply", "", "2026-11-22T10:00:00+00:00", REVIEWER),
        ("status", "open", "in_progress", SUPERVISOR),
        ("status", "in_progress", "resolved", SUPERVISOR)]  # fmt: skip
    # Re-opening clears the resolution: the clock, still from the complaint, runs again.
    case = set_status(db, case.case_id, "in_progress", by=sam, note="customer called again")
    assert case.resolved_at is None and case.active


def test_the_overdue_list_is_most_escalated_first(db):
    sync_complaint_cases(db)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    overdue = overdue_cases(db, now)
    assert [(o.case.call_id, o.escalation.escalate_to, o.due) for o in overdue] == [
        ("c3-complaint-en", "branch head", COMPLAINED + timedelta(days=7)),
        ("c5-complaint-zh", "direct manager", datetime(2026, 11, 27, 21, 40, tzinfo=UTC)),
    ]
    assert overdue[1].overdue_by(now) == timedelta(days=3, hours=14, minutes=20)
    assert overdue_cases(db, datetime(2026, 11, 23, tzinfo=UTC)) == []
    sam = get_user(db, SUPERVISOR)
    set_status(db, overdue[0].case.case_id, "closed", by=sam, note="withdrawn by the customer")
    assert [o.case.call_id for o in overdue_cases(db, now)] == ["c5-complaint-zh"]


def test_a_reviewer_opens_a_case_and_only_leads_manage_it(db):
    rita, sam = get_user(db, REVIEWER), get_user(db, SUPERVISOR)
    case = open_case(db, "c6-no-greeting-en", by=rita,
                     summary="customer says the agent was curt and hung up")  # fmt: skip
    assert (case.source, case.opened_by, case.status) == ("reviewer", REVIEWER, CaseStatus.OPEN)
    assert case.opened_at == datetime(2026, 11, 25, 15, 2, tzinfo=UTC)  # the call's start
    with pytest.raises(PermissionDeniedError, match="supervisor"):
        set_owner(db, case.case_id, REVIEWER, by=rita)
    with pytest.raises(PermissionDeniedError):
        set_status(db, case.case_id, "in_progress", by=rita)
    with pytest.raises(PermissionDeniedError):
        record_reply(db, case.case_id, by=rita)  # not hers
    add_user(db, "aude", PASSWORD, Role.AUDITOR)
    with pytest.raises(PermissionDeniedError):
        open_case(db, "c6-no-greeting-en", by=get_user(db, "aude"), summary="x")
    with pytest.raises(CaseError, match="no user 'nobody'"):
        set_owner(db, case.case_id, "nobody", by=sam)
    with pytest.raises(CaseError, match="note is required"):
        set_status(db, case.case_id, "resolved", by=sam)
    with pytest.raises(CaseError, match="summary is required"):
        open_case(db, "c6-no-greeting-en", by=rita, summary="  ")
    assert set_owner(db, case.case_id, REVIEWER, by=sam).owner == REVIEWER
    assert record_reply(db, case.case_id, by=rita).replied_at is not None  # the owner may
    assert [c.call_id for c in list_cases(db, owner=REVIEWER)] == ["c6-no-greeting-en"]
