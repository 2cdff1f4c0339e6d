"""The records store shared by the agent-records, complaints, export, identity-audit and browser
tests (``build_records_store``): it holds annotated transcripts from
``tests/rubric_cases/transcripts`` scored by the shipped rubrics with the real scorer and saved the
way the pipeline saves them, spread over three ISO weeks of November/December 2026. What the shipped
rubrics decide for them (checked in tests/records/test_agent_records.py):

    call                      agent   day (New York)  score  notes
    c1-good-en                Alice   Mon 16 Nov      100    identity verified before the change
    c2-no-id-en               Bob     Fri 20 Nov        0    roaming cancelled, then date of birth
    c3-complaint-en           Alice   Fri 20 Nov      100    complaint (high)
    c4-good-zh                Wang    Fri 20 Nov      100    identity verified before the change
    c5-complaint-zh           Wang    Tue 24 Nov      100    complaint (high)
    c6-no-greeting-en         Bob     Wed 25 Nov    61.54    no greeting, agent hung up first
    c8-dnd-survey-zh          Wang    Thu 26 Nov       88    outbound; do-not-disturb: survey
    c9-dnd-pitch-en           Alice   Mon 30 Nov        0    outbound; do-not-disturb: marketing
    c7-late-verification-en   Bob     Tue  1 Dec        0    plan switched, then account PIN

c9 starts at 02:00 UTC on 1 December: still 30 November in New York.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from calldata import Direction
from qa.access.roles import Role
from qa.access.users import add_user, get_user
from qa.db import open_db
from qa.results.store import save_call, save_results
from qa.review.state import Decision, ItemChoice, effective_scorecards, rubric_pass_marks
from qa.review.submit import submit_review
from scoring import load_case, load_rubrics, score_call, select_rubrics

REPO = Path(__file__).resolve().parent.parent  # tests/ -> the repository
TRANSCRIPTS = REPO / "tests" / "rubric_cases" / "transcripts"
NEW_YORK = "America/New_York"
ALICE, BOB, WANG = ("1001", "Alice Smith"), ("1002", "Bob Jones"), ("1003", "Wang Fang")
# call id -> (annotated case, agent, start UTC, the customer's number)
STORED = {
    "c1-good-en": ("good-en", ALICE, datetime(2026, 11, 16, 15, 0), "4155550101"),
    "c2-no-id-en": ("no-id-en", BOB, datetime(2026, 11, 20, 16, 20), "4155550102"),
    "c3-complaint-en": ("complaint-en", ALICE, datetime(2026, 11, 20, 19, 30), "4155550103"),
    "c4-good-zh": ("good-zh", WANG, datetime(2026, 11, 20, 20, 5), "13800138000"),
    "c5-complaint-zh": ("complaint-zh", WANG, datetime(2026, 11, 24, 21, 40), "13900139000"),
    "c6-no-greeting-en": ("no-greeting-en", BOB, datetime(2026, 11, 25, 15, 2), "4155550106"),
    "c7-late-verification-en": (
        "late-verification-en", BOB, datetime(2026, 12, 1, 15, 0), "4155550107"),
    "c8-dnd-survey-zh": ("outbound-dnd-survey-zh", WANG, datetime(2026, 11, 26, 14, 0),
                         "13700137000"),
    "c9-dnd-pitch-en": ("outbound-dnd-pitch-en", ALICE, datetime(2026, 12, 1, 2, 0),
                        "4155550109"),
}  # fmt: skip
REVIEWER, SUPERVISOR = "rita", "sam"
PASSWORD = "a long enough password"
REVIEW_COMMENT = "Agent asked for the PIN after the switch; customer called back on 415 555 0107."


_BUILT: dict[bool, Path] = {}  # one store of each kind per test session, copied for each test


def build_records_store(root: Path, *, reviewed: bool = False) -> Path:
    """The store described above, as ``root/qa.db`` (users rita, a reviewer, and sam, a
    supervisor). ``reviewed``: rita has reviewed c7 and confirmed every machine verdict, with
    a comment holding a phone number. Returns the database path."""
    if reviewed not in _BUILT:
        folder = Path(tempfile.mkdtemp(prefix="records-store-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _BUILT[reviewed] = _build(folder, reviewed=reviewed)
    root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(_BUILT[reviewed], root / "qa.db"))


def _build(root: Path, *, reviewed: bool) -> Path:
    rubrics = load_rubrics(REPO / "rubrics")
    db_path = root / "qa.db"
    db = open_db(db_path)
    for call_id, (name, (agent, agent_name), start, number) in STORED.items():
        case = load_case(TRANSCRIPTS / f"{name}.yaml")
        outbound = case.call.direction == Direction.OUTBOUND
        call = case.call.model_copy(
            update={
                "call_id": call_id,
                "recordings": (f"2026/{call_id}.wav",),
                "start": start.replace(tzinfo=UTC),
                "agent": agent,
                "agent_name": agent_name,
                "caller": agent if outbound else number,
                "destination": number if outbound else case.call.queue,
            }
        )
        cards = [
            score_call(rubric, case.transcript, call)
            for rubric in select_rubrics(rubrics, call, case.transcript.language)
        ]
        save_call(db, call, root / "store", status="pending")
        save_results(db, call_id, case.transcript, cards)
    add_user(db, REVIEWER, PASSWORD, Role.REVIEWER)
    add_user(db, SUPERVISOR, PASSWORD, Role.SUPERVISOR)
    if reviewed:
        (card,) = effective_scorecards(db, ["c7-late-verification-en"])["c7-late-verification-en"]
        choices = [ItemChoice(card.scorecard_id, item.id, Decision.CONFIRMED)
                   for item in card.machine.items]  # fmt: skip
        marks = rubric_pass_marks(REPO / "rubrics")
        submit_review(db, "c7-late-verification-en", get_user(db, REVIEWER), choices,
                      comment=REVIEW_COMMENT, pass_marks=marks)  # fmt: skip
    db.close()
    return db_path
