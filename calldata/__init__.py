"""Typed records that flow between the toolkit's stages.

Ingest produces a :class:`Call`, the speech layer a :class:`Transcript`, the rubric engine a
:class:`Scorecard`. They are defined once, here, so that ``asr`` and ``scoring`` can share them
without importing each other (``ui → qa → {asr, scoring} → calldata``). Every record is a frozen
pydantic model and round-trips through JSON for the store::

    text = transcript.model_dump_json()
    same = Transcript.model_validate_json(text)
"""

from calldata.arousal import RaisedVoice
from calldata.call import Call, Direction, HangupBy
from calldata.scorecard import Evidence, Flag, ItemResult, Scorecard, Verdict
from calldata.transcript import Metrics, Role, RoleMetrics, Silence, Transcript, Turn, Word

__all__ = [
    "Call",
    "Direction",
    "Evidence",
    "Flag",
    "HangupBy",
    "ItemResult",
    "Metrics",
    "RaisedVoice",
    "Role",
    "RoleMetrics",
    "Scorecard",
    "Silence",
    "Transcript",
    "Turn",
    "Verdict",
    "Word",
]
