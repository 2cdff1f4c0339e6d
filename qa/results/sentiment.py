"""How the call felt: each turn's polarity, the customer's and the agent's average, the customer's
start→end shift, the most negative customer moment, and raised-voice moments per side from the
audio (``asr.arousal``), stored per call (``call_sentiment``).

Computed from the call's stored sentence vectors (``sentences.sentiment``: one dot product per
sentence piece; the figures: ``scoring.sentiment``), right after the call is saved by the
nightly run, or for older calls when a run finds them without one::

    found = update_sentiment(db, call_id)     # computes, stores, returns it
    found.customer_shift, found.most_negative
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import sqlite_utils

from asr.arousal import raised_voices, turn_arousal
from asr.audio import AudioDecodeError, load_call_audio
from calldata import RaisedVoice, Transcript
from qa.results.store import load_transcript, stored_vectors
from qa.sql import utcnow
from scoring.sentiment import CallSentiment, Moment, TurnSentiment, call_sentiment
from sentences.sentiment import SentimentModel, load_sentiment_model

__all__ = [
    "CallSentiment",
    "Moment",
    "TurnSentiment",
    "load_sentiment",
    "save_sentiment",
    "update_sentiment",
]

log = logging.getLogger(__name__)


def save_sentiment(db: sqlite_utils.Database, call_id: str, found: CallSentiment) -> None:
    with db.conn:
        db.conn.execute(
            "insert or replace into call_sentiment (call_id, model, customer_mean, agent_mean, "
            "customer_shift, sentiment_json, created_at) values (?, ?, ?, ?, ?, ?, ?)",
            [call_id, found.model, found.customer_mean, found.agent_mean, found.customer_shift,
             json.dumps(found.to_json(), ensure_ascii=False), utcnow()],
        )  # fmt: skip


def load_sentiment(db: sqlite_utils.Database, call_id: str) -> CallSentiment | None:
    """The call's stored sentiment, or None."""
    row = db.execute(
        "select sentiment_json from call_sentiment where call_id = ?", [call_id]
    ).fetchone()
    return CallSentiment.from_json(json.loads(row[0])) if row else None


def raised_voice(
    db: sqlite_utils.Database, call_id: str, transcript: Transcript
) -> tuple[RaisedVoice, ...]:
    """The call's raised-voice moments from its recording (``asr.arousal``); none when the
    recording cannot be read any more (logged)."""
    row = db.execute(
        "select store_root, recordings from calls where call_id = ?", [call_id]
    ).fetchone()
    if row is None or not row[1]:
        return ()
    paths = [Path(row[0] or "") / name for name in json.loads(row[1])]
    try:
        audio = load_call_audio(paths, sample_rate=None)
    except (AudioDecodeError, OSError, ValueError) as error:
        log.warning("call %s: no raised-voice check, the recording is unreadable: %s", call_id,
                    error)  # fmt: skip
        return ()
    return tuple(raised_voices(transcript.turns, turn_arousal(audio, transcript.turns)))


def update_sentiment(
    db: sqlite_utils.Database,
    call_id: str,
    *,
    model: SentimentModel | None = None,
    only_missing: bool = False,
    audio: bool = True,
) -> CallSentiment | None:
    """Compute and store the call's sentiment from its transcript and sentence vectors (encoded
    now when the store has none), and with ``audio`` its raised-voice moments from the
    recording; None when the call has no transcript or no encoder is there."""
    if only_missing and load_sentiment(db, call_id) is not None:
        return None
    transcript = load_transcript(db, call_id, words=False)
    if transcript is None:
        return None
    vectors = stored_vectors(db, call_id, transcript)
    if vectors is None:
        return None
    model = model or load_sentiment_model()
    found = call_sentiment(transcript.turns, model.turn_polarity(vectors), model.encoder)
    if audio:
        found = dataclasses.replace(found, raised_voice=raised_voice(db, call_id, transcript))
    save_sentiment(db, call_id, found)
    return found
