"""Complaint cases: opened from flags or by a reviewer, owned, worked, escalated on exact dates.

The store is test_performance's: complaint calls c3-complaint-en (Alice, 2026-11-20 19:30 UTC,
high) and c5-complaint-zh (Wang, 2026-11-24 21:40 UTC, high); the rest raise no complaint. Their
cases reach the store with the night's run at RECORDED (2026-11-25 02:00 UTC), which starts the
four hours to tell the customer who owns the case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from records_store import PASSWORD, REVIEWER, SUPERVISOR, build_records_store

from qa.access.permissions import PermissionDeniedError
from qa.access.roles import Role
from qa.access.users import add_user, get_user
from qa.db import migrate, open_db
from qa.records.complaints import (
    ESCALATIONS,
    CaseError,
    CaseStatus,
    Clock,
    case_events,
    confirm_ownership,
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
RECORDED = datetime(2026, 11, 25, 2, tzinfo=UTC)  # the nightly run that opened the cases
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
    opened = sync_complaint_cases(db, at=RECORDED)
    assert sorted(c.call_id for c in opened) == ["c3-complaint-en", "c5-complaint-zh"]
    assert sync_complaint_cases(db, at=RECORDED) == []  # a backfill is safe to repeat
    assert open_cases_from_flags(db, "c3-complaint-en") == []  # so is the pipeline's call
    assert open_cases_from_flags(db, "c1-good-en") == []  # no complaint, no case
    case = _case(db)
    assert (case.source, case.flag_id, case.severity, case.status) == (
        "flag", "complaint", "high", CaseStatus.OPEN)  # fmt: skip
    assert (case.owner, case.agent, case.opened_at) == ("", "1001", COMPLAINED)
    assert "formal complaint" in case.summary  # the customer's words that raised the flag
    assert [e.action for e in case_events(db, case.case_id)] == ["opened"]


def test_the_escalation_rules_are_the_source_documents(db):
    assert [(r.key, r.milestone.value, r.escalate_to, r.clock) for r in ESCALATIONS] == [
        ("4h", "ownership", "supervisor", Clock.RECORDED),
        ("3d", "reply", "direct manager", Clock.COMPLAINT),
        ("7d", "handling", "branch head", Clock.COMPLAINT),
        ("15d", "resolution", "company president", Clock.COMPLAINT),
        ("20d", "resolution", "chairman", Clock.COMPLAINT)]  # fmt: skip


def test_an_untouched_case_escalates_on_exact_dates(db):
    sync_complaint_cases(db, at=RECORDED)
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
    assert (upcoming.escalation.key, upcoming.due) == ("3d", COMPLAINED + timedelta(days=3))


def test_milestones_stop_the_escalation(db):
    sync_complaint_cases(db, at=datetime(2026, 11, 21, 2, tzinfo=UTC))  # the night after c3
    sam = get_user(db, SUPERVISOR)
    case = set_owner(db, _case(db).case_id, REVIEWER, by=sam, note="Rita calls back")
    # The owner tells the customer she owns the case the morning it is recorded, replies on day
    # 2 and starts handling on day 5 (late: the branch-head deadline is day 7, the reply
    # deadline was met).
    case = confirm_ownership(db, case.case_id, by=get_user(db, REVIEWER),
                             at=datetime(2026, 11, 21, 5, tzinfo=UTC))  # fmt: skip
    case = record_reply(db, case.case_id, by=get_user(db, REVIEWER),
                        at=datetime(2026, 11, 22, 10, tzinfo=UTC))  # fmt: skip
    assert _escalated_to(case, datetime(2026, 11, 24, tzinfo=UTC)) is None
    assert _escalated_to(case, datetime(2026, 11, 27, 19, 30, tzinfo=UTC)) == "branch head"
    case = set_status(db, case.case_id, "in_progress", by=sam,
                      at=datetime(2026, 11, 28, 9, tzinfo=UTC))  # fmt: skip
    states = [d.state for d in case.deadlines(datetime(2026, 11, 30, tzinfo=UTC))]
    assert states == ["met", "met", "met late", "pending", "pending"]
    assert _escalated_to(case, datetime(2026, 12, 5, 19, 30, tzinfo=UTC)) == "company president"
    case = set_status(db, case.case_id, CaseStatus.RESOLVED, by=sam, note="refund of $40",
                      at=datetime(2026, 12, 6, tzinfo=UTC))  # fmt: skip
    assert not case.active and case.escalation(datetime(2027, 1, 1, tzinfo=UTC)) is None
    assert [d.state for d in case.deadlines()] == ["met", "met", "met late", "met late", "met"]
    history = [(e.action, e.before, e.after, e.by) for e in case_events(db, case.case_id)]
    assert history == [
        ("opened", "", "open", "(automatic)"), ("owner", "", REVIEWER, SUPERVISOR),
        ("ownership", "", "2026-11-21T05:00:00+00:00", REVIEWER),
        ("reply", "", "2026-11-22T10:00:00+00:00", REVIEWER),
        ("status", "open", "in_progress", SUPERVISOR),
        ("status", "in_progress", "resolved", SUPERVISOR)]  # fmt: skip
    # Re-opening clears the resolution: the clock, still from the complaint, runs again.
    case = set_status(db, case.case_id, "in_progress", by=sam, note="customer called again")
    assert case.resolved_at is None and case.active


def test_the_overdue_list_is_most_escalated_first(db):
    sync_complaint_cases(db, at=RECORDED)
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


def test_the_customer_is_told_who_owns_the_case_within_four_hours_of_it_being_recorded(db):
    """The source documents: confirm with the customer within 4 hours that someone owns their
    case. The night's run finds yesterday's complaint, so the clock starts when the case is
    recorded (RECORDED), not at the call: an hour after the call would have been too late
    before anyone could see the case."""
    sync_complaint_cases(db, at=RECORDED)
    case = _case(db, "c5-complaint-zh")  # complained 2026-11-24 21:40, recorded 02:00 next day
    due = RECORDED + timedelta(hours=4)
    assert case.next_deadline(RECORDED).escalation.key == "4h"
    assert case.next_deadline(RECORDED).due == due
    assert _escalated_to(case, due - SECOND) is None
    assert _escalated_to(case, due) == "supervisor"
    assert [(o.case.call_id, o.escalation.key) for o in overdue_cases(db, due)] == [
        ("c3-complaint-en", "3d"),  # its reply was due on the 23rd: that outranks the 4 hours
        ("c5-complaint-zh", "4h"),
    ]
    rita, sam = get_user(db, REVIEWER), get_user(db, SUPERVISOR)
    with pytest.raises(CaseError, match="owner first"):
        confirm_ownership(db, case.case_id, by=sam)  # nobody owns it yet: nothing to tell
    case = set_owner(db, case.case_id, REVIEWER, by=sam)
    add_user(db, "ola", PASSWORD, Role.REVIEWER)
    with pytest.raises(PermissionDeniedError):
        confirm_ownership(db, case.case_id, by=get_user(db, "ola"))  # not hers
    case = confirm_ownership(db, case.case_id, by=rita, note="called back, told her I own it",
                             at=due - timedelta(minutes=30))  # fmt: skip
    assert case.ownership_confirmed_at == due - timedelta(minutes=30)
    assert case.deadlines(due)[0].state == "met"
    assert _escalated_to(case, due) is None
    again = confirm_ownership(db, case.case_id, by=sam, at=due + timedelta(hours=1))
    assert again.ownership_confirmed_at == case.ownership_confirmed_at  # the first one counts


def test_a_case_recorded_before_its_call_ended_counts_from_the_call(db):
    """A clock never starts before the complaint: a case recorded earlier (a clock skew, a
    backdated import) gets its four hours from the call's start."""
    sync_complaint_cases(db, at=COMPLAINED - timedelta(days=1))
    case = _case(db)
    assert case.deadlines(COMPLAINED)[0].due == COMPLAINED + timedelta(hours=4)


def test_a_store_from_before_the_four_hour_rule_keeps_its_cases_honest(db):
    """Upgrading a store whose cases predate the rule: a recorded reply was how an owner was
    confirmed, so it counts as the confirmation; the clock starts at the case's 'opened' event
    (when it reached the store), so no old case is suddenly four hours late from its call."""
    sync_complaint_cases(db, at=RECORDED)
    sam = get_user(db, SUPERVISOR)
    replied = set_owner(db, _case(db).case_id, REVIEWER, by=sam)
    record_reply(db, replied.case_id, by=sam, at=RECORDED + timedelta(hours=1))
    # the store as it was before migration 020
    db.execute("alter table complaint_cases drop column recorded_at")
    db.execute("alter table complaint_cases drop column ownership_confirmed_at")
    db.execute("delete from _migrations where name = '020_case_ownership'")
    db.conn.commit()
    assert migrate(db) == ["020_case_ownership"]
    cases = {case.call_id: case for case in list_cases(db)}
    assert {c: case.recorded_at for c, case in cases.items()} == {
        "c3-complaint-en": RECORDED, "c5-complaint-zh": RECORDED}  # fmt: skip
    assert cases["c3-complaint-en"].ownership_confirmed_at == RECORDED + timedelta(hours=1)
    assert cases["c5-complaint-zh"].ownership_confirmed_at is None
