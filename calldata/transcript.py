"""What the speech layer produces: turns with roles, words and confidence, plus call metrics."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"
    UNKNOWN = "unknown"


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str
    probability: float = 1.0


class Turn(BaseModel):
    """A stretch of speech by one speaker. ``index`` is its position in time order."""

    model_config = ConfigDict(frozen=True)

    index: int
    speaker: str = Field(description="Channel ('ch0', 'ch1') or diarization label ('SPEAKER_00').")
    role: Role
    start: float
    end: float
    text: str
    confidence: float = Field(ge=0.0, le=1.0, description="Mean word probability of the turn.")
    words: tuple[Word, ...] = ()


class Silence(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


class RoleMetrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    talk_time: float = 0.0
    talk_ratio: float = 0.0
    turns: int = 0
    speech_rate: float = Field(
        default=0.0, description="Words per minute (English) or characters per minute (Mandarin)."
    )
    interruptions: int = Field(default=0, description="Times this role started over the other.")


class Metrics(BaseModel):
    model_config = ConfigDict(frozen=True)

    duration: float = 0.0
    by_role: dict[Role, RoleMetrics] = Field(default_factory=dict)
    silences: tuple[Silence, ...] = Field(
        default=(), description="Gaps with nobody talking, longer than the configured threshold."
    )
    longest_silence: float = 0.0
    non_talk_time: float = 0.0
    overtalk_count: int = 0
    overtalk_duration: float = 0.0
    first_speaker: Role | None = None
    last_speaker: Role | None = None
    measured: bool = Field(
        default=True,
        description="False for a transcript without timings (typed in, or from elsewhere): "
        "every metric is unknown, and rubric items on metrics are N/A, never a pass.",
    )


class Transcript(BaseModel):
    """The speech layer's whole result for one call."""

    model_config = ConfigDict(frozen=True)

    language: str = Field(description="ISO code Whisper detected or was given: 'en', 'zh'.")
    turns: tuple[Turn, ...]
    metrics: Metrics = Field(default_factory=Metrics)
    duration: float = 0.0
    channel_mode: str = Field(description="'stereo', 'legs' (two files) or 'mono' (diarized).")
    role_confidence: float = Field(
        default=1.0, ge=0.0, le=1.0, description="How sure the agent/customer assignment is."
    )
    model: str = Field(default="", description="Which ASR model produced it, for provenance.")

    @property
    def confidence(self) -> float:
        """Duration-weighted mean turn confidence, 0 when there is no speech."""
        total = sum(t.end - t.start for t in self.turns)
        if total <= 0:
            return 0.0
        return sum(t.confidence * (t.end - t.start) for t in self.turns) / total
