"""The SQLite store: one file, WAL mode, named migrations applied in order and recorded.

Usage::

    db = open_db("var/qa.db")      # creates the file and applies pending migrations

Migrations are append-only: never edit one that has shipped, add a new one. Each runs in a
transaction with its name recorded in ``_migrations``, so re-running is safe.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from sqlite_utils.db import Table

logger = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]


def _m001_calls_and_results(db: sqlite_utils.Database) -> None:
    table(db, "calls").create(
        {
            "call_id": str,
            "store_root": str,  # absolute path of the store the recordings are relative to
            "recordings": str,  # JSON list of paths relative to store_root
            "start": str,  # ISO 8601, UTC
            "direction": str,
            "queue": str,
            "agent": str,
            "agent_name": str,
            "caller": str,
            "destination": str,
            "disposition": str,
            "duration": float,
            "billsec": float,
            "hangup_by": str,
            "language": str,
            "status": str,  # pending | done | failed | skipped
            "error": str,  # why it failed or was skipped, with what to do
            "audio_seconds": float,
            "updated_at": str,
        },
        pk="call_id",
    )
    table(db, "calls").create_index(["agent", "start"])
    table(db, "calls").create_index(["status"])
    table(db, "transcripts").create(
        {
            "call_id": str,
            "language": str,
            "duration": float,
            "channel_mode": str,
            "role_confidence": float,
            "confidence": float,
            "model": str,
            "transcript_json": str,  # calldata.Transcript
            "created_at": str,
        },
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "scorecards").create(
        {
            "id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "score": float,
            "max_score": float,
            "passed": int,
            "created_at": str,
            "scorecard_json": str,  # calldata.Scorecard
        },
        pk="id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "scorecards").create_index(["call_id", "rubric_id", "rubric_version"], unique=True)
    table(db, "item_results").create(
        {
            "scorecard_id": int,
            "item_id": str,
            "title": str,
            "result": str,  # pass | fail | na
            "weight": float,
            "critical": int,
            "reason": str,
            "evidence_json": str,  # list of calldata.Evidence
        },
        pk=("scorecard_id", "item_id"),
        foreign_keys=[("scorecard_id", "scorecards", "id")],
    )
    table(db, "flags").create(
        {
            "scorecard_id": int,
            "call_id": str,
            "flag_id": str,
            "title": str,
            "severity": str,
            "evidence_json": str,
        },
        pk=("scorecard_id", "flag_id"),
        foreign_keys=[("scorecard_id", "scorecards", "id"), ("call_id", "calls", "call_id")],
    )
    table(db, "flags").create_index(["call_id"])


def _m002_pipeline_runs(db: sqlite_utils.Database) -> None:
    table(db, "runs").create(
        {
            "run_id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | finished | crashed
            "options_json": str,
            "found": int,
            "done": int,
            "skipped": int,
            "failed": int,
            "audio_seconds": float,
            "wall_seconds": float,
        },
        pk="run_id",
    )
    table(db, "run_calls").create(
        {
            "run_id": int,
            "call_id": str,
            "status": str,  # done | skipped | failed
            "stage": str,  # ingest | transcribe | score | save
            "reason": str,
            "audio_seconds": float,
            "seconds": float,
        },
        pk=("run_id", "call_id"),
        foreign_keys=[("run_id", "runs", "run_id")],
    )


def _m003_users(db: sqlite_utils.Database) -> None:
    table(db, "users").create(
        {
            "username": str,
            "password_hash": str,
            "role": str,  # reviewer | supervisor | auditor | admin
            "created_at": str,
        },
        pk="username",
    )


def _m004_flag_kind(db: sqlite_utils.Database) -> None:
    # What a flag is about, beyond its id: e.g. the kind of call a do-not-disturb request refuses.
    table(db, "flags").add_column("kind", str, not_null_default="")


def _m005_ingest_ledger(db: sqlite_utils.Database) -> None:
    # What ingest has seen in each store (qa/ingest/ledger.py), so that a nightly run examines
    # only what is new or changed and never takes a recording twice; and the queue_log facts a
    # call now carries.
    table(db, "ingest_files").create(
        {
            "store_root": str,
            "path": str,  # relative to store_root
            "size": int,
            "mtime_ns": int,
            "action": str,  # take | defer | skip | fail
            "reason": str,
            "call_id": str,
            "seen_at": str,
        },
        pk=("store_root", "path"),
    )
    table(db, "ingest_files").create_index(["store_root", "action"])
    # a recording's identity (name:<stem>, sha256:<hex>) → its call
    table(db, "ingest_keys").create(
        {"store_root": str, "key": str, "call_id": str},  # call_id null: never answered
        pk=("store_root", "key"),
    )
    table(db, "ingest_calls").create(
        {
            "store_root": str,
            "call_id": str,
            "uniqueid": str,
            "start": str,
            "call_json": str,  # calldata.Call as ingest took it
            "taken_at": str,
        },
        pk=("store_root", "call_id"),
    )
    table(db, "ingest_calls").create_index(["store_root", "uniqueid"])
    table(db, "ingest_folders").create(
        {"store_root": str, "path": str, "mtime_ns": int}, pk=("store_root", "path")
    )
    table(db, "ingest_scans").create(
        {
            "scan_id": int,
            "store_root": str,
            "started_at": str,
            "seconds": float,
            "examined": int,
            "known": int,
            "taken": int,
            "deferred": int,
            "skipped": int,
            "failed": int,
        },
        pk="scan_id",
    )
    for column, kind in (
        ("linkedid", str),
        ("hold_seconds", float),
        ("talk_seconds", float),
        ("transferred", int),
    ):
        table(db, "calls").add_column(column, kind)


def _m007_complaint_cases(db: sqlite_utils.Database) -> None:
    # A complaint is a case people work on: opened from a complaint flag or by a reviewer, with an
    # owner, a status and the milestones the escalation deadlines are measured against.
    table(db, "complaint_cases").create(
        {
            "case_id": int,
            "call_id": str,
            "source": str,  # flag | reviewer
            "flag_id": str,  # the flag that opened it ('' when a reviewer did)
            "severity": str,
            "summary": str,
            "owner": str,  # username; '' while unassigned
            "status": str,  # open | in_progress | resolved | closed
            "opened_at": str,  # ISO 8601 UTC: when the customer complained (the call's start)
            "opened_by": str,
            "replied_at": str,  # first reply to the customer
            "handling_since": str,  # someone started handling it
            "resolved_at": str,
            "closed_at": str,
            "updated_at": str,
        },
        pk="case_id",
        not_null={"call_id", "source", "status", "opened_at"},
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "complaint_cases").create_index(["status"])
    table(db, "complaint_cases").create_index(["call_id"])
    # One flag-opened case per call, so opening cases from flags is safe to repeat.
    db.execute(
        "create unique index complaint_cases_one_per_flagged_call "
        "on complaint_cases (call_id) where source = 'flag'"
    )
    table(db, "complaint_events").create(
        {
            "event_id": int,
            "case_id": int,
            "at": str,
            "by_user": str,
            "action": str,  # opened | owner | status | reply | note
            "before": str,
            "after": str,
            "note": str,
        },
        pk="event_id",
        foreign_keys=[("case_id", "complaint_cases", "case_id")],
    )
    table(db, "complaint_events").create_index(["case_id"])


def _m006_reviews(db: sqlite_utils.Database) -> None:
    # Human review next to the machine's results, never over them: one review per call (its
    # status and who has it), the item decisions and human scorecards of its latest submission,
    # the calls each review queue picked, an audit log of every change, and failed logins.
    table(db, "reviews").create(
        {
            "review_id": int,
            "call_id": str,
            "status": str,  # new | in_review | done | disputed
            "assignee": str,  # username; null while unassigned
            "assigned_by": str,
            "assigned_at": str,
            "submitted_by": str,  # who submitted the latest human result
            "submitted_at": str,
            "comment": str,  # the reviewer's free comment on the call
            "revision": int,  # submissions so far
            "created_at": str,
            "updated_at": str,
        },
        pk="review_id",
        not_null={"call_id", "status"},
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "reviews").create_index(["call_id"], unique=True)
    table(db, "reviews").create_index(["assignee", "status"])
    table(db, "queue_entries").create(
        {
            "queue": str,  # complaints | critical | low_score | low_confidence | sample
            "call_id": str,
            "reason": str,  # why the call is in the queue, for the reviewer
            "day": str,  # the call's local day (YYYY-MM-DD)
            "added_at": str,
        },
        pk=("queue", "call_id"),
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "queue_entries").create_index(["call_id"])
    table(db, "review_items").create(
        {
            "review_id": int,
            "scorecard_id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "item_id": str,
            "decision": str,  # confirmed | rejected | overridden
            "machine_verdict": str,  # pass | fail | na
            "verdict": str,  # the human verdict
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("review_id", "scorecard_id", "item_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_items").create_index(["scorecard_id"])
    table(db, "review_scorecards").create(
        {
            "review_id": int,
            "scorecard_id": int,  # the machine scorecard the human result is for
            "call_id": str,
            "pass_mark": float,  # the mark the human score was judged against (null: not needed)
            "score": float,
            "max_score": float,
            "passed": int,
            "reviewer": str,
            "submitted_at": str,
            "scorecard_json": str,  # calldata.Scorecard with the human verdicts
        },
        pk=("review_id", "scorecard_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_scorecards").create_index(["scorecard_id"], unique=True)
    table(db, "audit_log").create(
        {
            "entry_id": int,
            "at": str,  # ISO 8601 UTC
            "actor": str,  # username
            "action": str,  # e.g. review.submit, item.override, review.assign, user.add
            "call_id": str,
            "review_id": int,
            "target": str,  # what changed, e.g. 'inbound-service/greeting'
            "before": str,
            "after": str,
            "reason": str,  # why: the comment given
        },
        pk="entry_id",
    )
    table(db, "audit_log").create_index(["call_id"])
    table(db, "audit_log").create_index(["at"])
    table(db, "login_failures").create(
        {"failure_id": int, "username": str, "client": str, "at": str}, pk="failure_id"
    )
    table(db, "login_failures").create_index(["username", "client", "at"])


def _m008_run_reports(db: sqlite_utils.Database) -> None:
    # Each run's machine-readable report (qa runs), where it ran, and the run lock (qa.run.lock):
    # one row while a run holds the database, with a heartbeat that tells a stale lock.
    table(db, "runs").add_column("report_json", str)
    table(db, "runs").add_column("host", str)
    table(db, "runs").add_column("pid", int)
    table(db, "run_lock").create(
        {
            "lock_id": int,  # always 1: one run at a time
            "run_id": int,
            "host": str,
            "pid": int,
            "acquired_at": str,
            "heartbeat_at": str,
        },
        pk="lock_id",
    )


def _m009_sentence_vectors(db: sqlite_utils.Database) -> None:
    # Each call's sentence vectors (sentences.SentenceVectors.to_bytes), encoded once when the
    # call is processed, so re-scoring with intents never encodes again; and whether a flag is a
    # hint raised only on a guess about misheard words (low, for review; never a case).
    table(db, "sentence_vectors").create(
        {"call_id": str, "encoder": str, "data": bytes, "created_at": str},
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "flags").add_column("hint", int, not_null_default=0)


def _m014_alert_deliveries(db: sqlite_utils.Database) -> None:
    # Every alert sent (or being sent, or given up on) by qa.alerts: one row per rule, channel and
    # event, keyed by its idempotency key so that a re-run never sends the same alert twice; a
    # row left 'sending' by a crash is sent again (at least once). 'dead' is the dead letter.
    table(db, "alert_deliveries").create(
        {
            "delivery_id": int,
            "idempotency_key": str,  # rule/channel/event key
            "rule_id": str,
            "channel": str,
            "event": str,  # qa.alert_config.EventKind
            "event_key": str,
            "call_id": str,
            "case_id": int,
            "run_id": int,
            "agent": str,
            "status": str,  # sending | sent | dead
            "attempts": int,
            "last_error": str,
            "payload_json": str,  # the message as sent (no transcript text unless the site asks)
            "created_at": str,
            "updated_at": str,
            "sent_at": str,
        },
        pk="delivery_id",
        not_null={"idempotency_key", "rule_id", "channel", "event", "status"},
    )
    table(db, "alert_deliveries").create_index(["idempotency_key"], unique=True)
    table(db, "alert_deliveries").create_index(["created_at"])
    table(db, "alert_deliveries").create_index(["status"])


def _m016_call_sentiment(db: sqlite_utils.Database) -> None:
    # How each call felt (qa.results.sentiment): per-turn polarity and the call's figures as
    # JSON, with the customer's and agent's averages and the customer's start→end shift as
    # columns to filter and sort on.
    table(db, "call_sentiment").create(
        {
            "call_id": str,
            "model": str,
            "customer_mean": float,
            "agent_mean": float,
            "customer_shift": float,
            "sentiment_json": str,
            "created_at": str,
        },
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )


def _m010_audio_checks_and_accounts(db: sqlite_utils.Database) -> None:
    # Why a call's recording is shorter than the call (qa.run.audio_check); null: whole. A call
    # so marked counts in agent records only once a review of it is submitted. And when a user
    # was disabled (qa.access.accounts; null: may log in).
    table(db, "calls").add_column("truncated", str)
    table(db, "users").add_column("disabled_at", str)
    table(db, "login_failures").create_index(["client", "at"])
    table(db, "login_failures").create_index(["username", "at"])


def _m013_search(db: sqlite_utils.Database) -> None:
    # Transcript search (qa/search/): the turns as shown, per-call position and metric facts,
    # a contentless FTS5 index of the turns (normalised words, each Chinese character a token;
    # pinyin), and searches saved per user. Calls stored before this are indexed by
    # qa.search.index.catch_up on the first search (the tokenizer is scoring's, which a
    # migration here cannot reach).
    db.execute(
        "create table search_turns (id integer primary key, call_id text not null, "
        "turn integer not null, role text not null, start real not null, end real not null, "
        "text text not null)"
    )
    db.execute("create index search_turns_call on search_turns (call_id, turn)")
    # a search filtered by date alone starts from the calls of those days
    table(db, "calls").create_index(["start"], if_not_exists=True)
    db.execute(
        "create table search_calls (call_id text primary key, turns integer not null, "
        "duration real not null, language text, longest_silence real, silence_share real, "
        "overtalk real, agent_talk_ratio real)"
    )
    # remove_diacritics: "café" finds "cafe"; content='': the text lives in search_turns once.
    db.execute(
        "create virtual table search_fts using fts5(body, sound, content='', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    table(db, "saved_searches").create(
        {
            "search_id": int,
            "owner": str,  # username
            "name": str,
            "query_json": str,  # qa.search.query.SearchQuery.to_json()
            "created_at": str,
            "updated_at": str,
        },
        pk="search_id",
        not_null={"owner", "name", "query_json"},
    )
    table(db, "saved_searches").create_index(["owner", "name"], unique=True)


def _m012_agents_and_appeals(db: sqlite_utils.Database) -> None:
    # Agents as users (qa.access.agent_links): a user of role agent is linked to the agent
    # identity calls carry (agent id / extension, or queue member name); their acknowledgements of
    # submitted evaluations, and appeals of one item each with the lead's decision
    # (qa.review.appeals).
    table(db, "agent_users").create(
        {"username": str, "agent": str, "linked_by": str, "linked_at": str},
        pk="username",
        foreign_keys=[("username", "users", "username")],
    )
    table(db, "agent_users").create_index(["agent"])
    table(db, "evaluation_acks").create(
        {
            "call_id": str,
            "revision": int,  # the review's revision acknowledged (a resubmission asks again)
            "username": str,
            "acknowledged_at": str,
        },
        pk=("call_id", "revision"),
        foreign_keys=[("call_id", "calls", "call_id")],
    )
    table(db, "appeals").create(
        {
            "appeal_id": int,
            "call_id": str,
            "review_id": int,
            "scorecard_id": int,
            "rubric_id": str,
            "item_id": str,
            "agent": str,  # the agent identity the call carries
            "opened_by": str,  # the agent's username
            "round": int,  # 1, or 2 where the site allows a second round
            "status": str,  # open | upheld | overturned
            "verdict_before": str,  # the verdict that counted when the appeal was opened
            "verdict_sought": str,  # the verdict the agent asks for
            "comment": str,
            "opened_at": str,
            "decided_by": str,
            "decided_at": str,
            "decision_comment": str,
        },
        pk="appeal_id",
        not_null={"call_id", "scorecard_id", "item_id", "status", "opened_at"},
        foreign_keys=[("call_id", "calls", "call_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "appeals").create_index(["status"])
    table(db, "appeals").create_index(["call_id"])
    table(db, "appeals").create_index(["agent"])


def _m015_calibration_and_coaching(db: sqlite_utils.Database) -> None:
    # Calibration sessions (qa.review.calibration): calls scored blind by several reviewers, their
    # verdicts, and the agreed answer the supervisor records. Never read by agent records. And
    # coaching tasks (qa.records.coaching): a goal for an agent with the moments of calls to
    # listen to, acknowledged by the agent and completed by the lead.
    table(db, "coaching_tasks").create(
        {
            "task_id": int,
            "agent": str,  # the agent identity calls carry
            "goal": str,
            "due": str,  # YYYY-MM-DD
            "status": str,  # assigned | acknowledged | done
            "created_by": str,
            "created_at": str,
            "acknowledged_at": str,
            "completed_by": str,
            "completed_at": str,
            "note": str,  # the lead's note on completion
        },
        pk="task_id",
        not_null={"agent", "goal", "due", "status", "created_at"},
    )
    table(db, "coaching_tasks").create_index(["agent", "status"])
    # The library of exemplary calls (good and bad, tagged by topic) and playlists of them for
    # the monthly quality meeting (qa.records.coaching).
    table(db, "library_calls").create(
        {"call_id": str, "kind": str, "topics": str, "note": str, "added_by": str,
         "added_at": str},
        pk="call_id",
        foreign_keys=[("call_id", "calls", "call_id")],
    )  # fmt: skip
    table(db, "playlists").create(
        {"playlist_id": int, "title": str, "created_by": str, "created_at": str},
        pk="playlist_id",
    )
    table(db, "playlist_calls").create(
        {"playlist_id": int, "position": int, "call_id": str},
        pk=("playlist_id", "position"),
        foreign_keys=[("playlist_id", "playlists", "playlist_id"),
                      ("call_id", "library_calls", "call_id")],
    )  # fmt: skip
    table(db, "coaching_moments").create(
        {"task_id": int, "position": int, "call_id": str, "seconds": float, "note": str},
        pk=("task_id", "position"),
        foreign_keys=[("task_id", "coaching_tasks", "task_id"), ("call_id", "calls", "call_id")],
    )
    table(db, "calibration_sessions").create(
        {
            "session_id": int,
            "title": str,
            "status": str,  # open | closed
            "created_by": str,
            "created_at": str,
            "closed_at": str,
        },
        pk="session_id",
        not_null={"title", "status", "created_at"},
    )
    table(db, "calibration_cards").create(
        {"session_id": int, "scorecard_id": int, "call_id": str},
        pk=("session_id", "scorecard_id"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id"),
                      ("scorecard_id", "scorecards", "id")],
    )  # fmt: skip
    table(db, "calibration_reviewers").create(
        {"session_id": int, "username": str},
        pk=("session_id", "username"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )
    table(db, "calibration_scores").create(
        {
            "session_id": int,
            "scorecard_id": int,
            "item_id": str,
            "username": str,
            "verdict": str,  # pass | fail | na
            "scored_at": str,
        },
        pk=("session_id", "scorecard_id", "item_id", "username"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )
    table(db, "calibration_answers").create(
        {
            "session_id": int,
            "scorecard_id": int,
            "item_id": str,
            "verdict": str,
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("session_id", "scorecard_id", "item_id"),
        foreign_keys=[("session_id", "calibration_sessions", "session_id")],
    )


def _m017_flag_decisions(db: sqlite_utils.Database) -> None:
    # A reviewer's decision on each flag of a call's scorecards (qa.review.flag_decisions):
    # a flag the machine raised confirmed or rejected, or one it missed added; replaced with
    # each submission of the review, like review_items. What the machine-vs-human precision of
    # flags is counted from (qa.review.agreement.flag_agreement).
    table(db, "review_flags").create(
        {
            "review_id": int,
            "scorecard_id": int,
            "call_id": str,
            "rubric_id": str,
            "rubric_version": str,
            "flag_id": str,
            "decision": str,  # confirmed | rejected | added
            "raised": int,  # 1: the machine raised it (confirmed, rejected); 0: added
            "hint": int,  # 1: the machine raised it on a guess about misheard words
            "comment": str,
            "decided_by": str,
            "decided_at": str,
        },
        pk=("review_id", "scorecard_id", "flag_id"),
        foreign_keys=[("review_id", "reviews", "review_id"), ("scorecard_id", "scorecards", "id")],
    )
    table(db, "review_flags").create_index(["scorecard_id"])
    table(db, "review_flags").create_index(["call_id"])
    # Which flags a rubric version has (the review form offers the ones a call lacks): found per
    # flag id from the newest scorecard back, not by scanning every flag of the store.
    table(db, "flags").create_index(["flag_id", "scorecard_id"])


def _m020_case_ownership(db: sqlite_utils.Database) -> None:
    # The source documents want the customer told within four hours who owns their case; that
    # clock starts when the case reached the store (a nightly run finds yesterday's complaints).
    # Before this, a recorded reply was how a case's owner was confirmed: kept as such.
    cases = table(db, "complaint_cases")
    cases.add_column("recorded_at", str)
    cases.add_column("ownership_confirmed_at", str)
    db.execute(
        "update complaint_cases set ownership_confirmed_at = replied_at, recorded_at = coalesce("
        "(select min(e.at) from complaint_events e where e.case_id = complaint_cases.case_id "
        "and e.action = 'opened'), updated_at, opened_at)"
    )


MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("001_calls_and_results", _m001_calls_and_results),
    ("002_pipeline_runs", _m002_pipeline_runs),
    ("003_users", _m003_users),
    ("004_flag_kind", _m004_flag_kind),
    ("005_ingest_ledger", _m005_ingest_ledger),
    ("006_reviews", _m006_reviews),
    ("007_complaint_cases", _m007_complaint_cases),
    ("008_run_reports", _m008_run_reports),
    ("009_sentence_vectors", _m009_sentence_vectors),
    ("010_audio_checks_and_accounts", _m010_audio_checks_and_accounts),
    ("012_agents_and_appeals", _m012_agents_and_appeals),
    ("013_search", _m013_search),
    ("014_alert_deliveries", _m014_alert_deliveries),
    ("015_calibration_and_coaching", _m015_calibration_and_coaching),
    ("016_call_sentiment", _m016_call_sentiment),
    ("017_flag_decisions", _m017_flag_decisions),
    ("020_case_ownership", _m020_case_ownership),
)


def table(db: sqlite_utils.Database, name: str) -> Table:
    """The store's table ``name``: ``db[name]`` typed as a table (sqlite-utils gives ``Table |
    View``, and the store has no views)."""
    found = db[name]
    if not isinstance(found, Table):
        raise TypeError(f"{name} is a view, not a table")
    return found


@dataclass
class Filters:
    """A query's optional conditions and their parameters, kept together::

        where = Filters()
        if agent is not None:
            where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
        where.add_in("k.status", ["open", "in_progress"])
        db.execute(SQL + where.sql() + " order by ...", where.params)

    Conditions are joined with ``and``; :meth:`sql` is ``""`` when there are none.
    """

    conditions: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)

    def add(self, condition: str, *params: object) -> None:
        """Add ``condition`` with one parameter per ``?`` in it."""
        self.conditions.append(condition)
        self.params.extend(params)

    def add_in(self, column: str, values: Iterable[object]) -> None:
        """Add ``column in (?, ...)``, one ``?`` per value."""
        values = list(values)
        self.add(f"{column} in ({','.join('?' * len(values))})", *values)

    def sql(self, keyword: str = "where") -> str:
        """`` where a and b`` (or with ``keyword``, e.g. ``having``), or ``""`` when empty."""
        return f" {keyword} " + " and ".join(self.conditions) if self.conditions else ""


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The rowid an ``insert`` just made (sqlite3 types ``lastrowid`` as ``int | None``)."""
    if cursor.lastrowid is None:
        raise ValueError("the statement inserted no row")
    return cursor.lastrowid


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied now."""
    if "_migrations" not in db.table_names():
        table(db, "_migrations").create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table(db, "_migrations").rows}
    applied = []
    for name, migration in MIGRATIONS:
        if name in done:
            continue
        with db.conn:
            migration(db)
            table(db, "_migrations").insert({"name": name, "applied_at": utcnow()})
        logger.info("applied migration %s", name)
        applied.append(name)
    return applied


class StoreError(Exception):
    """The store cannot be opened or written; the message names the file and the fix."""


def _store_problem(path: Path, error: Exception) -> StoreError:
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path} is not a readable qa database ({text}): it is corrupt or another kind of "
            "file; restore it from a backup (or point --db at a new file to start afresh)"
        )
    if "readonly" in text or "read-only" in text or isinstance(error, PermissionError):
        return StoreError(
            f"{path} cannot be written ({text}): give this user write access to the file and "
            "its folder (SQLite writes -wal and -shm files beside it)"
        )
    return StoreError(f"{path}: the database cannot be used ({text}); check the disk and path")


def _open_read_only(path: Path) -> sqlite_utils.Database:
    """A store this user may read but not write: opened read-only (reports and listings work;
    anything that writes gets :class:`StoreError` from :func:`require_writable`)."""
    for mode in ("mode=ro", "immutable=1"):  # immutable: a WAL store in a folder we cannot write
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=30, check_same_thread=False
            )
            db = sqlite_utils.Database(conn)
            done = {row[0] for row in db.execute("select name from _migrations")}
            break
        except sqlite3.DatabaseError as error:
            last = error
    else:
        raise _store_problem(path, last) from last
    missing = [name for name, _ in MIGRATIONS if name not in done]
    if missing:
        raise StoreError(
            f"{path} is read-only for this user and needs migration {missing[0]}: open it once "
            "as a user who may write it (e.g. run qa runs as its owner)"
        )
    db.execute("PRAGMA foreign_keys = ON")
    return db


def require_writable(db: sqlite_utils.Database, path: Path) -> None:
    """Raise :class:`StoreError` when ``db`` was opened read-only (see :func:`open_db`)."""
    if db.execute("PRAGMA query_only").fetchone()[0] or not os.access(path, os.W_OK):
        raise StoreError(
            f"{path} cannot be written by this user: give it (and its folder) write access"
        )


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed, mode 0600: it holds callers' numbers) the store at ``path``, in
    WAL mode, fully migrated. A store this user may only read is opened read-only.

    Raises :class:`StoreError` (naming the file and the fix) for a corrupt or unusable store.
    """
    path = Path(path)
    if path.exists() and not os.access(path, os.W_OK):
        return _open_read_only(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except (sqlite3.DatabaseError, OSError) as error:
        raise _store_problem(path, error) from error
    return db


def memory_db() -> sqlite_utils.Database:
    """A migrated in-memory store, for tests."""
    db = sqlite_utils.Database(memory=True)
    migrate(db)
    return db
