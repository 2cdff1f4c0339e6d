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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath

import numpy as np
import soundfile as sf
import sqlite_utils

from asr.audio import AudioDecodeError, load_call_audio
from calldata import Call, Evidence, Flag, ItemResult, Scorecard, Transcript
from qa.results import load_call, load_transcript
from qa.users import Role

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
    "mask_personal_data",
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
class CallRow:
    """One call in the review list. Score fields are None until the call is scored."""

    call_id: str
    start: datetime
    agent: str | None
    agent_name: str | None
    queue: str | None
    language: str | None
    direction: str | None
    duration: float | None  # seconds of audio (CDR duration before transcription)
    status: str  # pending | done | failed | skipped
    rubrics: tuple[str, ...]
    score: float | None  # percent of the applicable points across the call's rubrics
    passed: bool | None  # every rubric passed
    flags: tuple[Flag, ...]

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
    scorecards: tuple[Scorecard, ...]
    masked: bool

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

# The latest version of each rubric per call, as in qa.results: re-scoring keeps old rows.
_LIST_SQL = """
with latest as (
  select s.id, s.call_id, s.rubric_id, s.score, s.max_score, s.passed from scorecards s
  where s.id = (select max(s2.id) from scorecards s2
                where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id)
)
select c.call_id, c.start, c.agent, c.agent_name, c.queue,
       coalesce(t.language, c.language), c.direction,
       coalesce(t.duration, c.audio_seconds, c.duration), c.status,
       group_concat(l.rubric_id, ','), sum(l.score), sum(l.max_score), min(l.passed), count(l.id),
       (select count(*) from flags f join latest fl on fl.id = f.scorecard_id
        where f.call_id = c.call_id) as flag_count
from calls c
left join transcripts t on t.call_id = c.call_id
left join latest l on l.call_id = c.call_id
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
    """Calls for the review list, newest first.

    ``agent`` matches the agent id or name; ``flagged``/``passed``/``scored`` keep only calls
    with (True) or without (False) flags, a pass, a scorecard; ``status`` is the pipeline status.
    """
    where, params = [], []
    if agent is not None:
        where.append("(c.agent = ? or c.agent_name = ?)")
        params += [agent, agent]
    if status is not None:
        where.append("c.status = ?")
        params.append(status)
    sql = _LIST_SQL + (" where " + " and ".join(where) if where else "") + " group by c.call_id"
    having = []
    if scored is not None:
        having.append("count(l.id) > 0" if scored else "count(l.id) = 0")
    if passed is not None:
        having.append("count(l.id) > 0 and min(l.passed) = ?")
        params.append(int(passed))
    if flagged is not None:
        having.append("flag_count > 0" if flagged else "flag_count = 0")
    if having:
        sql += " having " + " and ".join(having)
    sql += " order by c.start desc, c.call_id"
    if limit is not None:
        sql += " limit ?"
        params.append(int(limit))
    rows = db.execute(sql, params).fetchall()
    flags = _latest_flags(db, [row[0] for row in rows if row[14]])
    return [_call_row(row, flags.get(row[0], ())) for row in rows]


def _call_row(row: tuple, flags: tuple[Flag, ...]) -> CallRow:
    call_id, start, agent, agent_name, queue, language, direction, duration, status = row[:9]
    rubrics, score, max_score, passed, cards = row[9:14]
    return CallRow(
        call_id=call_id,
        start=datetime.fromisoformat(start),
        agent=agent,
        agent_name=agent_name,
        queue=queue,
        language=language,
        direction=direction,
        duration=duration,
        status=status or "pending",
        rubrics=tuple(sorted(rubrics.split(","))) if rubrics else (),
        score=(100.0 * score / max_score if max_score else 0.0) if cards else None,
        passed=bool(passed) if cards else None,
        flags=flags,
    )


def _latest_flags(db: sqlite_utils.Database, call_ids: list[str]) -> dict[str, tuple[Flag, ...]]:
    if not call_ids:
        return {}
    marks = ",".join("?" * len(call_ids))
    rows = db.execute(
        "select f.call_id, f.flag_id, f.title, f.severity, f.evidence_json from flags f "
        "where f.scorecard_id in (select max(s.id) from scorecards s "
        f"where s.call_id in ({marks}) group by s.call_id, s.rubric_id) order by f.rowid",
        call_ids,
    ).fetchall()
    found: dict[str, list[Flag]] = {}
    for call_id, flag_id, title, severity, evidence in rows:
        found.setdefault(call_id, []).append(
            Flag(
                id=flag_id,
                title=title or "",
                severity=severity,
                evidence=tuple(Evidence.model_validate(e) for e in json.loads(evidence or "[]")),
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
    """The call, its transcript and latest scorecard per rubric, for a viewer with
    ``viewer_role``: personal data is masked unless the role is auditor or admin (None: masked).

    Raises :class:`CallNotFoundError` for a call that is not in the store.
    """
    call = _stored_call(db, call_id)
    status, error = db.execute(
        "select status, error from calls where call_id = ?", [call_id]
    ).fetchone()
    rows = db.execute(
        "select scorecard_json from scorecards s where call_id = ? and id = (select max(id) "
        "from scorecards s2 where s2.call_id = s.call_id and s2.rubric_id = s.rubric_id) "
        "order by rubric_id",
        [call_id],
    ).fetchall()
    detail = CallDetail(
        call=call,
        status=status or "pending",
        error=error,
        transcript=load_transcript(db, call_id),
        scorecards=tuple(Scorecard.model_validate_json(row[0]) for row in rows),
        masked=False,
    )
    masked = viewer_role is None or not Role(viewer_role).sees_personal_data
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


def _masked_detail(detail: CallDetail) -> CallDetail:
    """The detail with personal data masked in turns, evidence and reasons. Turns lose their
    words: single words would show the digits the turn text hides."""
    transcript = detail.transcript
    if transcript is not None:
        turns = tuple(
            turn.model_copy(update={"text": mask_personal_data(turn.text), "words": ()})
            for turn in transcript.turns
        )
        transcript = transcript.model_copy(update={"turns": turns})
    cards = tuple(
        card.model_copy(
            update={
                "items": tuple(_masked_item(item) for item in card.items),
                "flags": tuple(
                    f.model_copy(update={"evidence": _masked_evidence(f.evidence)})
                    for f in card.flags
                ),
            }
        )
        for card in detail.scorecards
    )
    return CallDetail(
        call=detail.call.model_copy(
            update={
                "caller": _mask_number(detail.call.caller),
                "destination": _mask_number(detail.call.destination),
            }
        ),
        status=detail.status,
        error=detail.error,
        transcript=transcript,
        scorecards=cards,
        masked=True,
    )


def _mask_number(number: str | None) -> str | None:
    """A caller or destination number masked to its last four digits; extensions (four digits
    or fewer) stay as they are."""
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    return f"···{digits[-4:]}" if len(digits) > 4 else number


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


# --- personal data -----------------------------------------------------------------------------

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_DIGIT = (
    r"(?:[0-9０-９]|[零〇一幺二两三四五六七八九]"
    rf"|\b(?:double|triple)\s+(?:{_WORD}\b|[0-9])|\b{_WORD}\b)"
)
# Digits, digit words or both, with the separators people and ASR put between them.
_DIGIT_RUN = re.compile(rf"(?:[+(（]\s*)?{_DIGIT}(?:[\s\-–.,、，()（）/]*{_DIGIT})*", re.IGNORECASE)
_ID_WITH_X = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[Xx](?![0-9A-Za-z])")


def _digits(run: str) -> str:
    out = []
    for token in re.finditer(rf"(double|triple)\s+({_WORD}|[0-9])|{_WORD}|\S", run, re.I):
        if token.group(1):
            digit = _DIGIT_WORDS.get(token.group(2).lower(), token.group(2))
            out.append(digit * (2 if token.group(1).lower() == "double" else 3))
            continue
        text = token.group(0)
        if text.isdigit():
            out.append(str(int(text)))  # full-width digits too
        elif text.lower() in _DIGIT_WORDS:
            out.append(_DIGIT_WORDS[text.lower()])
    return "".join(out)


def _kind(digits: str) -> str | None:
    n = len(digits)
    if n in (13, 15) and digits.lstrip("0").startswith("861"):  # +86 / 0086 and a mobile
        return "phone"
    if n == 18 and digits[6:8] in ("19", "20"):
        return "ID"
    if 13 <= n <= 19:
        return "card"
    if 10 <= n <= 12:
        return "phone"
    return "number" if n > 19 else None


def _mask_run(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    kind = _kind(digits)
    return match.group(0) if kind is None else f"[{kind} ···{digits[-4:]}]"


def mask_personal_data(text: str) -> str:
    """``text`` with ID-card, bank-card and phone numbers masked to their last four digits.

    Numbers count whether written as digits or spoken as digit words (English ``five five
    five``, ``double two``; Mandarin 一…九, 幺, 两, 零), with spaces, dashes, dots or commas
    between them. A run of 18 digits with a plausible birth year (or 17 digits and X) is an ID
    card, 13-19 digits a bank card, 10-12 digits a phone number (NANP 10 digits, Chinese mobile
    1[3-9] + 9 digits, with country code or a 0 area code), longer runs any number. Shorter
    numbers (amounts, dates, extensions) are left alone::

        mask_personal_data("call me at 415 555 0134")   # 'call me at [phone ···0134]'
    """
    text = _ID_WITH_X.sub(lambda m: f"[ID ···{m.group(0)[-4:]}]", text)
    return _DIGIT_RUN.sub(_mask_run, text)
