"""What the rubric engine produces: item verdicts and flags, each with the evidence behind it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from calldata.transcript import Role


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "na"


class Evidence(BaseModel):
    """A quoted stretch of the transcript that decided a verdict; the UI seeks the audio to it."""

    model_config = ConfigDict(frozen=True)

    turn_index: int
    speaker: Role
    start: float
    end: float
    text: str = Field(description="The turn text (or the matched part of it).")
    matched: str | None = Field(default=None, description="The rubric phrase that matched.")
    similarity: float | None = Field(default=None, description="Match quality, 0..1.")
    confidence: float | None = Field(
        default=None,
        description="How sure the speech recogniser was of the turn's words (mean word "
        "probability, 0..1): a verdict resting on low-confidence words may rest on misheard ones.",
    )


class ItemResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    result: Verdict
    weight: float
    critical: bool = False
    evidence: tuple[Evidence, ...] = ()
    reason: str = Field(default="", description="Why: what was found or missing; why N/A.")


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str = ""
    severity: str = Field(description="'low', 'medium', 'high' or 'critical'.")
    kind: str = Field(
        default="",
        description="What sort of flag this is, when the rubric tells sorts apart: e.g. the kind "
        "of call a do-not-disturb request refuses ('marketing', 'survey', 'care').",
    )
    evidence: tuple[Evidence, ...] = ()
    hint: bool = Field(
        default=False,
        description="Raised only on a guess about misheard words (an approximate phrase match): "
        "low severity, for a reviewer to confirm, never counted as a complaint until confirmed.",
    )


class Scorecard(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    rubric_id: str
    rubric_version: str
    score: float = Field(description="Points earned over the applicable items.")
    max_score: float
    passed: bool
    items: tuple[ItemResult, ...]
    flags: tuple[Flag, ...] = ()
    pass_mark: float | None = Field(
        default=None,
        description="The rubric's pass mark (0-100) the card was judged against, so a reviewer's "
        "changed verdicts can be re-judged the same way; None on cards scored before it was kept.",
    )

    def item(self, item_id: str) -> ItemResult:
        for result in self.items:
            if result.id == item_id:
                return result
        raise KeyError(f"scorecard for call {self.call_id} has no item {item_id!r}")
