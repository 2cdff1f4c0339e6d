"""The review app's read side: calls to list, one call's full record, and its audio.

The UI formats what these return and holds no SQL of its own::

    rows = list_calls(db, flagged=True)                     # newest first
    detail = call_detail(db, rows[0].call_id, viewer_role=Role.REVIEWER)   # personal data masked
    audio = playable_audio(db, rows[0].call_id, tmp_dir)    # a WAV the browser can play

Audio files are found only through the ``calls`` table (the store root and the recordings that
ingest recorded), never from a path a request carries, and a recording that would lead outside its
store root is refused.

Personal data: ID-card, bank-card and phone numbers in transcripts and evidence are masked for
reviewers and supervisors; auditors and admins see them (see :func:`mask_personal_data`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

import numpy as np
import soundfile as sf
import sqlite_utils

from asr.audio import AudioDecodeError, load_call_audio
from calldata import Call, Evidence, Flag, ItemResult, Scorecard, Transcript
from qa.access.audit_log import AuditEntry, entries
from qa.access.masking import mask_number, mask_personal_data, mask_reviewer_text
from qa.access.permissions import sees_personal_data
from qa.access.roles import Role
from qa.results.store import (
    CALL_HEADER_COLUMNS,
    CallHeader,
    HasCallHeader,
    load_call,
    load_transcript,
)
from qa.review.flag_decisions import FlagRow, flag_rows
from qa.review.state import (
    EFFECTIVE_SCORECARDS_SQL,
    Review,
    ReviewedScorecard,
    effective_scorecards,
    get_review,
)
from qa.sql import Filters

__all__ = [
    "CallDetail",
    "CallNotFoundError",
    "CallRow",
    "PlayableAudio",
    "RecordingError",
    "ReviewError",
    "audio_path",
    "call_detail",
    "list_agents",
    "list_calls",
    "playable_audio",
]

logger = logging.getLogger(__name__)

SEVERITY_ORDER = ("critical", "high", "medium", "low")


class ReviewError(Exception):
    """The review app cannot show what was asked; the message says what to do."""


class CallNotFoundError(ReviewError, LookupError):
    pass


class RecordingError(ReviewError):
    """A call's recording is missing, undecodable or not where the store says it may be."""


@dataclass(frozen=True)
class CallRow(HasCallHeader):
    """One call in the review list. Score fields are None until the call is scored."""

    header: CallHeader
    duration: float | None  # seconds of audio (CDR duration before transcription)
    status: str  # pending | done | failed | skipped
    rubrics: tuple[str, ...]
    score: float | None  # percent of the applicable points across the call's rubrics
    passed: bool | None  # every rubric passed
    flags: tuple[Flag, ...]
    review_status: str | None = None  # new | in_review | done | disputed; None: no review
    reviewed_by: str | None = None  # who submitted the human result that counts

    @property
    def agent_label(self) -> str:
        return self.agent_name or self.agent or "(unknown)"


@dataclass(frozen=True)
class CallDetail:
    """Everything the call view shows. ``masked`` says whether personal data was masked."""

    call: Call
    status: str
    error: str | None
    transcript: Transcript | None
    scorecards: tuple[Scorecard, ...]  # the machine's, latest version per rubric
    masked: bool
    reviewed: tuple[ReviewedScorecard, ...] = ()  # the same cards with the human result
    review: Review | None = None
    audit_trail: tuple[AuditEntry, ...] = ()  # every change to the call's review, oldest first
    queues: tuple[tuple[str, str], ...] = ()  # (queue, why the call is in it)
    flag_rows: tuple[FlagRow, ...] = ()  # each flag raised or addable, with its decision

    @property
    def flags(self) -> tuple[Flag, ...]:
        """Every scorecard's flags, most severe first."""
        found = [flag for card in self.scorecards for flag in card.flags]
        return tuple(sorted(found, key=lambda f: _severity_rank(f.severity)))


@dataclass(frozen=True)
class PlayableAudio:
    """A WAV written for the browser: a leg pair becomes stereo (leg 0 left, leg 1 right)."""

    path: Path
    channels: int
    duration: float
    description: str


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


# --- the list ----------------------------------------------------------------------------------

# Each call with the scorecards that count (qa.review.state.EFFECTIVE_SCORECARDS_SQL): the latest
# version of each rubric, with the human result where a submitted review covers it.
_LIST_SQL = f"""
with latest as ({EFFECTIVE_SCORECARDS_SQL})
select {CALL_HEADER_COLUMNS},
       coalesce(t.duration, c.audio_seconds, c.duration), c.status,
       group_concat(l.rubric_id, ','), sum(l.score), sum(l.max_score), min(l.passed), count(l.id),
       (select count(*) from flags f join latest fl on fl.id = f.scorecard_id
        where f.call_id = c.call_id) as flag_count,
       max(r.status), group_concat(distinct l.reviewer)
from calls c
left join transcripts t on t.call_id = c.call_id
left join latest l on l.call_id = c.call_id
left join reviews r on r.call_id = c.call_id
"""


def list_calls(
    db: sqlite_utils.Database,
    *,
    agent: str | None = None,
    flagged: bool | None = None,
    passed: bool | None = None,
    scored: bool | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[CallRow]:
    """Calls for the review list, newest first, with the score that counts: the reviewer's
    where a submitted review covers the call's scorecards, else the machine's.

    ``agent`` matches the agent id or name; ``flagged``/``passed``/``scored`` keep only calls
    with (True) or without (False) flags, a pass, a scorecard; ``status`` is the pipeline status.
    """
    where = Filters()
    if agent is not None:
        where.add("(c.agent = ? or c.agent_name = ?)", agent, agent)
    if status is not None:
        where.add("c.status = ?", status)
    having = Filters()
    if scored is not None:
        having.add("count(l.id) > 0" if scored else "count(l.id) = 0")
    if passed is not None:
        having.add("count(l.id) > 0 and min(l.passed) = ?", int(passed))
    if flagged is not None:
        having.add("flag_count > 0" if flagged else "flag_count = 0")
    sql = _LIST_SQL + where.sql() + " group by c.call_id" + having.sql("having")
    sql += " order by c.start desc, c.call_id"
    params = where.params + having.params
    if limit is not None:
        sql += " limit ?"
        params.append(int(limit))
    rows = db.execute(sql, params).fetchall()
    flags = _latest_flags(db, [row[0] for row in rows if row[14]])
    return [_call_row(row, flags.get(row[0], ())) for row in rows]


def _call_row(row: tuple, flags: tuple[Flag, ...]) -> CallRow:
    duration, status = row[7:9]
    rubrics, score, max_score, passed, cards = row[9:14]
    return CallRow(
        header=CallHeader.from_row(row),
        duration=duration,
        status=status or "pending",
        rubrics=tuple(sorted(rubrics.split(","))) if rubrics else (),
        score=(100.0 * score / max_score if max_score else 0.0) if cards else None,
        passed=bool(passed) if cards else None,
        flags=flags,
        review_status=row[15],
        reviewed_by=row[16],
    )


def _latest_flags(db: sqlite_utils.Database, call_ids: list[str]) -> dict[str, tuple[Flag, ...]]:
    if not call_ids:
        return {}
    marks = ",".join("?" * len(call_ids))
    rows = db.execute(
        "select f.call_id, f.flag_id, f.title, f.severity, f.evidence_json, f.hint from flags f "
        "where f.scorecard_id in (select max(s.id) from scorecards s "
        f"where s.call_id in ({marks}) group by s.call_id, s.rubric_id) order by f.rowid",
        call_ids,
    ).fetchall()
    found: dict[str, list[Flag]] = {}
    for call_id, flag_id, title, severity, evidence, hint in rows:
        found.setdefault(call_id, []).append(
            Flag(
                id=flag_id,
                title=title or "",
                severity=severity,
                evidence=tuple(Evidence.model_validate(e) for e in json.loads(evidence or "[]")),
                hint=bool(hint),
            )
        )
    return {
        cid: tuple(sorted(flags, key=lambda f: _severity_rank(f.severity)))
        for cid, flags in found.items()
    }


def list_agents(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """Every agent with calls in the store, as (key, label) sorted by label: the key is what
    :func:`list_calls` takes as ``agent`` (the agent id, or the queue member name when the
    agent is not in the directory)."""
    rows = db.execute(
        "select distinct agent, agent_name from calls "
        "where agent is not null or agent_name is not null"
    ).fetchall()
    found = {(agent or name): (name or agent) for agent, name in rows}
    return sorted(found.items(), key=lambda pair: (pair[1].casefold(), pair[0]))


# --- one call ----------------------------------------------------------------------------------


def _stored_call(db: sqlite_utils.Database, call_id: str) -> Call:
    """The call as stored, or :class:`CallNotFoundError` for a call that is not in the store."""
    try:
        return load_call(db, call_id)
    except KeyError:
        raise CallNotFoundError(
            f"no call {call_id!r} in the store: pick one from the list"
        ) from None


def call_detail(
    db: sqlite_utils.Database, call_id: str, *, viewer_role: Role | str | None = None
) -> CallDetail:
    """The call, its transcript, latest scorecard per rubric (the machine's, and with the human
    result where reviewed), its review, queues and audit trail, for a viewer with
    ``viewer_role``: personal data is masked unless the role may see it (None: masked).

    Raises :class:`CallNotFoundError` for a call that is not in the store.
    """
    call = _stored_call(db, call_id)
    status, error = db.execute(
        "select status, error from calls where call_id = ?", [call_id]
    ).fetchone()
    reviewed = effective_scorecards(db, [call_id]).get(call_id, ())
    queues = db.execute(
        "select queue, reason from queue_entries where call_id = ? order by queue", [call_id]
    ).fetchall()
    detail = CallDetail(
        call=call,
        status=status or "pending",
        error=error,
        transcript=load_transcript(db, call_id),
        scorecards=tuple(card.machine for card in reviewed),
        masked=False,
        reviewed=reviewed,
        review=get_review(db, call_id),
        audit_trail=tuple(entries(db, call_id=call_id)),
        queues=tuple((queue, reason or "") for queue, reason in queues),
        flag_rows=flag_rows(db, {card.scorecard_id: card.machine for card in reviewed}),
    )
    masked = viewer_role is None or not sees_personal_data(viewer_role)
    return _masked_detail(detail) if masked else detail


def _masked_evidence(evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    return tuple(e.model_copy(update={"text": mask_personal_data(e.text)}) for e in evidence)


def _masked_item(item: ItemResult) -> ItemResult:
    return item.model_copy(
        update={
            "evidence": _masked_evidence(item.evidence),
            "reason": mask_personal_data(item.reason),
        }
    )


def _masked_card(card: Scorecard) -> Scorecard:
    return card.model_copy(
        update={
            "items": tuple(_masked_item(item) for item in card.items),
            "flags": tuple(
                f.model_copy(update={"evidence": _masked_evidence(f.evidence)}) for f in card.flags
            ),
        }
    )


def _masked_text(text: str | None) -> str | None:
    return mask_personal_data(text) if text else text


def _masked_detail(detail: CallDetail) -> CallDetail:
    """The detail with personal data masked in turns, evidence, reasons and what reviewers
    wrote. Turns lose their words: single words would show the digits the turn text hides."""
    transcript = detail.transcript
    if transcript is not None:
        turns = tuple(
            turn.model_copy(update={"text": mask_personal_data(turn.text), "words": ()})
            for turn in transcript.turns
        )
        transcript = transcript.model_copy(update={"turns": turns})
    reviewed = tuple(
        replace(
            card,
            machine=_masked_card(card.machine),
            card=_masked_card(card.card),
            decisions=tuple(
                replace(d, comment=mask_personal_data(d.comment)) for d in card.decisions
            ),
        )
        for card in detail.reviewed
    )
    review = detail.review
    if review is not None:
        review = replace(review, comment=mask_personal_data(review.comment))
    return replace(
        detail,
        call=detail.call.model_copy(
            update={
                "caller": mask_number(detail.call.caller),
                "destination": mask_number(detail.call.destination),
                "recordings": tuple(mask_reviewer_text(r) for r in detail.call.recordings),
            }
        ),
        transcript=transcript,
        scorecards=tuple(_masked_card(card) for card in detail.scorecards),
        error=mask_reviewer_text(detail.error) if detail.error else detail.error,
        masked=True,
        reviewed=reviewed,
        flag_rows=tuple(
            replace(row, comment=mask_personal_data(row.comment)) for row in detail.flag_rows
        ),
        review=review,
        audit_trail=tuple(
            replace(
                e,
                before=_masked_text(e.before),
                after=_masked_text(e.after),
                reason=mask_personal_data(e.reason),
            )
            for e in detail.audit_trail
        ),
    )


# --- audio -------------------------------------------------------------------------------------


def audio_path(db: sqlite_utils.Database, call_id: str, leg: int = 0) -> Path:
    """The file of the call's recording ``leg`` (0, or 1 for the second leg of a pair), from
    the ``calls`` table only. Raises :class:`CallNotFoundError` or :class:`RecordingError`.

    The stored relative path may not be absolute or contain ``..``: the file must lie inside the
    store root (symlinked day folders inside the store, common with NAS storage, are followed).
    """
    row = db.execute(
        "select store_root, recordings from calls where call_id = ?", [call_id]
    ).fetchone()
    if row is None:
        raise CallNotFoundError(f"no call {call_id!r} in the store: pick one from the list")
    store_root, recordings = row
    try:
        names = json.loads(recordings or "[]")
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RecordingError(f"call {call_id}: unreadable recordings list; re-run qa run")
    if not 0 <= leg < len(names):
        raise RecordingError(f"call {call_id} has {len(names)} recording(s); there is no leg {leg}")
    if not store_root or not Path(store_root).is_absolute():
        raise RecordingError(
            f"call {call_id}: the store root is not an absolute path; re-run qa run"
        )
    root = Path(os.path.normpath(store_root))
    relative = PurePath(names[leg])
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        logger.warning("call %s: refused recording path %r outside the store", call_id, names[leg])
        raise RecordingError(f"call {call_id}: recording {names[leg]!r} is outside the store")
    path = Path(os.path.normpath(root / relative))
    if not path.is_relative_to(root):
        raise RecordingError(f"call {call_id}: recording {names[leg]!r} is outside the store")
    if not path.is_file():
        raise RecordingError(
            f"call {call_id}: recording {path} is missing; check that the store is mounted"
        )
    return path


def playable_audio(db: sqlite_utils.Database, call_id: str, dest_dir: Path) -> PlayableAudio:
    """Decode the call's recording(s) (any Asterisk format) into a 16-bit WAV in ``dest_dir``
    that browsers play: one file keeps its channels; a leg pair becomes stereo, leg 0 (the
    receive leg) on the left and leg 1 on the right. Raises :class:`RecordingError`."""
    call = _stored_call(db, call_id)
    paths = [audio_path(db, call_id, leg) for leg in range(len(call.recordings))]
    try:
        audio = load_call_audio(paths, sample_rate=None)
    except AudioDecodeError as exc:
        raise RecordingError(f"call {call_id}: {exc}") from exc
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / (re.sub(r"[^A-Za-z0-9._-]", "_", call_id) + ".wav")
    handle, partial = tempfile.mkstemp(suffix=".part", dir=dest_dir)
    os.close(handle)
    try:
        frames = np.stack(audio.channels, axis=1)
        sf.write(partial, frames, audio.sample_rate, subtype="PCM_16", format="WAV")
        os.replace(partial, target)  # atomic: two viewers of one call never see half a file
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    if len(paths) == 2:
        description = "two legs mixed to stereo: left = leg 0 (receive), right = leg 1 (transmit)"
    elif len(audio.channels) == 2:
        description = "two-channel recording: left = channel 0, right = channel 1"
    else:
        description = (
            "mono recording"
            if len(audio.channels) == 1
            else (f"{len(audio.channels)}-channel recording")
        )
    return PlayableAudio(target, len(audio.channels), audio.duration, description)
