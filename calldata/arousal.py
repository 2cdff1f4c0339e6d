"""What the audio says about how the call felt: raised-voice moments (``asr.arousal`` finds them;
the call's sentiment, ``scoring.sentiment``, carries them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RaisedVoice(BaseModel):
    """A turn said louder (and higher) than its speaker's own baseline in this call."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(description="The turn.")
    role: str
    start: float
    end: float
    louder_db: float = Field(description="Loudness above the speaker's median turn, in dB.")
    pitch_ratio: float | None = Field(
        default=None, description="Pitch over the speaker's median pitch (None: unvoiced)."
    )
