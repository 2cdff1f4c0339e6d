"""The speech layer: call audio in, :class:`calldata.Transcript` out.

    from asr import SpeechEngine, SpeechOptions
    engine = SpeechEngine(SpeechOptions(hotwords=("Acme Telecom",)))
    transcript = engine.transcribe_call([path], agent_name="Alice Smith")

The diarization names (``Diarizer``, ``SpeakerSegment``, ``DiarizationError``) are imported on
first use: they pull in torch and the diarization models, which a two-channel-only site never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asr.audio import Audio, AudioDecodeError, AudioIncompleteError, load_audio, load_call_audio
from asr.engine import SpeechEngine, SpeechOptions
from asr.metrics import compute_metrics
from asr.models import (
    ModelError,
    ModelHashMismatchError,
    ModelMissingError,
    check_models,
    default_models_dir,
    fetch_models,
    require_models,
)
from asr.roles import RoleAssignment, assign_roles
from asr.transcribe import Transcriber, TranscriberError

if TYPE_CHECKING:
    from asr.diarize import DiarizationError, Diarizer, SpeakerSegment

__all__ = [
    "Audio",
    "AudioDecodeError",
    "AudioIncompleteError",
    "DiarizationError",
    "Diarizer",
    "ModelError",
    "ModelHashMismatchError",
    "ModelMissingError",
    "RoleAssignment",
    "SpeakerSegment",
    "SpeechEngine",
    "SpeechOptions",
    "Transcriber",
    "TranscriberError",
    "assign_roles",
    "check_models",
    "compute_metrics",
    "default_models_dir",
    "fetch_models",
    "load_audio",
    "load_call_audio",
    "require_models",
]

_DIARIZE_NAMES = ("DiarizationError", "Diarizer", "SpeakerSegment")


def __getattr__(name: str) -> Any:
    if name in _DIARIZE_NAMES:
        from asr import diarize

        return getattr(diarize, name)
    raise AttributeError(f"module 'asr' has no attribute {name!r}")
