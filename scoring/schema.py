"""The rubric language as pydantic models: what a rubric file and a phrase-library file may say.

Every model forbids unknown keys. A condition node holds exactly one operator (semgrep style):
the combinators ``all``, ``any``, ``not``, the ordering operators ``before`` and ``after``, and
the leaves ``phrase``, ``intent``, ``count``, ``metric`` and ``meta``. ``docs/rubrics.md``
documents each; ``docs/rubric-schema.json`` is ``Rubric.model_json_schema()``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from calldata import Direction, HangupBy

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=64)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")]
Phrase = Annotated[str, StringConstraints(min_length=1)]
Severity = Literal["low", "medium", "high", "critical"]
RoleFilter = Literal["agent", "customer", "any"]
SEVERITY_ORDER: tuple[str, ...] = ("low", "medium", "high", "critical")


class MatchMode(StrEnum):
    """How a phrase is matched: exact, fuzzy, pinyin or regex; auto is pinyin for Chinese
    phrases or Chinese calls, fuzzy otherwise."""

    AUTO = "auto"
    EXACT = "exact"
    FUZZY = "fuzzy"
    PINYIN = "pinyin"
    REGEX = "regex"


def _as_tuple(value: Any) -> Any:
    """Accept a scalar where a list is meant (``queue: 600`` as well as ``queue: [600, 601]``)."""
    if value is None or isinstance(value, list | tuple):
        return value
    return (value,)


def _as_strings(value: Any) -> Any:
    """YAML reads ``600`` as a number; queue names and versions are strings."""
    value = _as_tuple(value)
    if isinstance(value, list | tuple):
        return tuple(
            str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value
        )
    return value


def _phrase_texts(value: Any) -> Any:
    """``[hello, 12315]``: YAML reads 12315 as a number; in a phrase list it is text."""
    if isinstance(value, dict):
        return {key: _phrase_texts(phrases) for key, phrases in value.items()}
    if isinstance(value, list | tuple):
        return [
            str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value
        ]
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class Window(_Strict):
    """Where in the call a phrase counts: exactly one of the four keys.

    Turn counts are over the phrase's role (the agent's first 2 turns); seconds are from the
    start of the call, or back from its end.
    """

    first_turns: int | None = Field(default=None, ge=1)
    last_turns: int | None = Field(default=None, ge=1)
    first_seconds: float | None = Field(default=None, gt=0)
    last_seconds: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_key(self) -> Window:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a window takes exactly one of first_turns, last_turns, first_seconds, "
                f"last_seconds (got {', '.join(given) or 'none'})"
            )
        return self


PhraseLists = dict[LanguageCode, tuple[Phrase, ...]] | tuple[Phrase, ...]


class _LibraryLeaf(_Strict):
    """A leaf that names libraries (``library: a`` or ``library: [a, b]``)."""

    library: Identifier | tuple[Identifier, ...] | None = None

    @field_validator("library", mode="before")
    @classmethod
    def _library_list(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @property
    def libraries(self) -> tuple[str, ...]:
        if self.library is None:
            return ()
        return (self.library,) if isinstance(self.library, str) else self.library


class PhraseSpec(_LibraryLeaf):
    """Leaf: someone says one of these phrases (inline per language, or from named libraries)."""

    role: RoleFilter = "any"
    phrases: PhraseLists | None = Field(
        default=None, description="A list for every language, or lists per language code."
    )
    library: Identifier | tuple[Identifier, ...] | None = Field(
        default=None, description="Name(s) of phrase libraries (rubrics/phrases/*.yaml)."
    )
    exclude: PhraseLists | None = Field(
        default=None,
        description="Near-misses: a match inside one of these (same turn, overlapping) does not "
        "count, e.g. 'do not want to complain' for 'complain'. Same match mode as the phrases.",
    )
    match: MatchMode = MatchMode.AUTO
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    min_count: int = Field(default=1, ge=1, description="At least this many matching turns.")
    all_of: bool = Field(default=False, description="Every listed phrase must be said.")
    min_phrases: int | None = Field(
        default=None, ge=1, description="At least this many different listed phrases said."
    )
    window: Window | None = None

    @field_validator("phrases", "exclude", mode="before")
    @classmethod
    def _phrase_list(cls, value: Any) -> Any:
        return _phrase_texts(value)

    @model_validator(mode="after")
    def _has_phrases(self) -> PhraseSpec:
        if self.phrases is None and self.library is None:
            raise ValueError("a phrase condition needs 'phrases' or 'library' (or both)")
        if self.threshold is not None and self.match in (MatchMode.EXACT, MatchMode.REGEX):
            raise ValueError(f"'threshold' has no effect with match: {self.match.value}")
        if self.all_of and self.min_phrases is not None:
            raise ValueError("give 'all_of' or 'min_phrases', not both")
        return self


DEFAULT_INTENT_THRESHOLD = 0.7


class IntentSpec(_LibraryLeaf):
    """Leaf: someone says something that *means* what one of these example utterances means.

    Each sentence (or clause of a long sentence) of a turn is compared with the examples by the
    cosine similarity of their sentence vectors (``sentences``: a multilingual encoder); a
    sentence matches when it is at least ``threshold`` similar to an example and closer to that
    example than to any near-miss (``exclude``: "can I have your account ID" is not identity
    verification).
    """

    role: RoleFilter = "any"
    examples: PhraseLists | None = Field(
        default=None, description="Example utterances: a list for every language, or per language."
    )
    library: Identifier | tuple[Identifier, ...] | None = Field(
        default=None, description="Name(s) of intent libraries (rubrics/intents/*.yaml)."
    )
    exclude: PhraseLists | None = Field(
        default=None,
        description="Near-miss examples: a sentence closer to one of these than to every "
        "example does not count.",
    )
    threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Least cosine similarity to an example; default: each library's own, "
        f"{DEFAULT_INTENT_THRESHOLD} for inline examples.",
    )
    min_count: int = Field(default=1, ge=1, description="At least this many matching turns.")
    window: Window | None = None

    @field_validator("examples", "exclude", mode="before")
    @classmethod
    def _example_list(cls, value: Any) -> Any:
        return _phrase_texts(value)

    @model_validator(mode="after")
    def _has_examples(self) -> IntentSpec:
        if self.examples is None and self.library is None:
            raise ValueError("an intent condition needs 'examples' or 'library' (or both)")
        return self


Anchor = Literal["first", "last"]


class BeforeSpec(_Strict):
    """``first`` is met before the first (or, with ``anchor: last``, the last) match of ``then``.

    Example: identity verified before the first account change."""

    first: Condition
    then: Condition
    anchor: Anchor = Field(
        default="first", description="Which match of 'then' 'first' must come before."
    )


class AfterSpec(_Strict):
    """``then`` is met after the first (or, with ``anchor: last``, the last) match of ``first``.

    Example: the agent apologises after the customer's last complaint."""

    first: Condition
    then: Condition
    anchor: Anchor = Field(default="first", description="Which match of 'first' 'then' follows.")


class CountSpec(_Strict):
    """Leaf: how many turns match a phrase condition — at least and/or at most N."""

    phrase: PhraseSpec
    at_least: int | None = Field(default=None, ge=1)
    at_most: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> CountSpec:
        if self.at_least is None and self.at_most is None:
            raise ValueError("a count needs 'at_least', 'at_most' or both")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"at_least {self.at_least} is more than at_most {self.at_most}")
        if self.phrase.min_count != 1:
            raise ValueError("inside 'count' use at_least instead of the phrase's min_count")
        return self


class MetricName(StrEnum):
    DURATION = "duration"
    LONGEST_SILENCE = "longest_silence"
    NON_TALK_TIME = "non_talk_time"
    OVERTALK_COUNT = "overtalk_count"
    OVERTALK_DURATION = "overtalk_duration"
    TALK_TIME = "talk_time"
    TALK_RATIO = "talk_ratio"
    TURNS = "turns"
    SPEECH_RATE = "speech_rate"
    INTERRUPTIONS = "interruptions"
    SENTIMENT = "sentiment"  # the role's mean turn polarity, -1..1 (scoring/sentiment.py)
    SENTIMENT_SHIFT = "sentiment_shift"  # the role's last third of turns minus its first third


ROLE_METRICS = frozenset(
    {
        MetricName.TALK_TIME,
        MetricName.TALK_RATIO,
        MetricName.TURNS,
        MetricName.SPEECH_RATE,
        MetricName.INTERRUPTIONS,
        MetricName.SENTIMENT,
        MetricName.SENTIMENT_SHIFT,
    }
)
#: Metrics read from the sentence vectors (the words), not from the speech layer's timings.
SENTIMENT_METRICS = frozenset({MetricName.SENTIMENT, MetricName.SENTIMENT_SHIFT})
OPERATORS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!="}


class MetricSpec(_Strict):
    """Leaf: a conversation metric compared with a value, e.g. longest_silence <= 30."""

    name: MetricName
    role: Literal["agent", "customer"] | None = Field(
        default=None, description="Required for per-role metrics (talk_ratio, speech_rate, ...)."
    )
    op: Literal["<", "<=", ">", ">=", "==", "!=", "lt", "le", "gt", "ge", "eq", "ne"]
    value: float

    @model_validator(mode="after")
    def _role_fits(self) -> MetricSpec:
        if self.name in ROLE_METRICS and self.role is None:
            raise ValueError(f"metric {self.name.value} is per role: add role: agent or customer")
        if self.name not in ROLE_METRICS and self.role is not None:
            raise ValueError(f"metric {self.name.value} is for the whole call: remove 'role'")
        return self

    @property
    def symbol(self) -> str:
        return OPERATORS.get(self.op, self.op)


class MetaSpec(_Strict):
    """Leaf: facts about the call from the PBX; every key given must match (a list is any-of)."""

    direction: tuple[Direction, ...] | None = None
    queue: tuple[str, ...] | None = None
    language: tuple[LanguageCode, ...] | None = None
    hangup_by: tuple[HangupBy, ...] | None = None
    disposition: tuple[str, ...] | None = None

    @field_validator("direction", "language", "hangup_by", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("queue", "disposition", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return _as_strings(value)

    @model_validator(mode="after")
    def _not_empty(self) -> MetaSpec:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(
                "a meta condition needs at least one of " + ", ".join(type(self).model_fields)
            )
        return self


OPERATOR_KEYS = (
    "all",
    "any",
    "not",
    "before",
    "after",
    "phrase",
    "intent",
    "count",
    "metric",
    "meta",
)


class Condition(_Strict):
    """A condition node: exactly one operator. Combinators nest; leaves test the call."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    all_: tuple[Condition, ...] | None = Field(default=None, alias="all", min_length=1)
    any_: tuple[Condition, ...] | None = Field(default=None, alias="any", min_length=1)
    not_: Condition | None = Field(default=None, alias="not")
    before: BeforeSpec | None = None
    after: AfterSpec | None = None
    phrase: PhraseSpec | None = None
    intent: IntentSpec | None = None
    count: CountSpec | None = None
    metric: MetricSpec | None = None
    meta: MetaSpec | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = self.operators()
        if len(given) != 1:
            found = ", ".join(repr(key) for key in given) or "none"
            raise ValueError(
                f"a condition node takes exactly one operator (found {found}); "
                f"choose one of {', '.join(OPERATOR_KEYS)} and nest the rest under all/any"
            )
        return self

    def operators(self) -> list[str]:
        """The operator keys set on this node (exactly one once validated)."""
        values = (
            self.all_,
            self.any_,
            self.not_,
            self.before,
            self.after,
            self.phrase,
            self.intent,
            self.count,
            self.metric,
            self.meta,
        )
        return [key for key, value in zip(OPERATOR_KEYS, values, strict=True) if value is not None]

    @property
    def kind(self) -> str:
        """The operator: one of :data:`OPERATOR_KEYS`."""
        return self.operators()[0]


class Item(_Strict):
    """A scored line of the QA form."""

    id: Identifier
    title: str
    description: str = ""
    weight: float = Field(gt=0, description="Relative weight; normalised over applicable items.")
    critical: bool = Field(default=False, description="Failing it fails the call, score 0.")
    applies_if: Condition | None = Field(default=None, description="Else the item is N/A.")
    check: Condition


class SeverityRule(_Strict):
    when: Condition
    level: Severity


class KindRule(_Strict):
    when: Condition
    value: Identifier


class FlagSpec(_Strict):
    """A flag raised when ``when`` holds; severity: the first rule that holds, else the default;
    likewise its kind (e.g. which kind of call a do-not-disturb request refuses)."""

    id: Identifier
    title: str
    description: str = ""
    when: Condition
    severity: tuple[SeverityRule, ...] = ()
    default_level: Severity = "medium"
    kind: tuple[KindRule, ...] = Field(
        default=(), description="Rules for the flag's kind; the first that holds decides."
    )
    default_kind: Identifier | None = Field(
        default=None, description="The kind when no kind rule holds."
    )


class AppliesTo(_Strict):
    """Which calls the rubric scores; an empty list means any."""

    direction: tuple[Direction, ...] = ()
    queues: tuple[str, ...] = ()
    languages: tuple[LanguageCode, ...] = ()

    @field_validator("direction", "languages", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_tuple(value)

    @field_validator("queues", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return _as_strings(value)


class PhraseLibrary(_Strict):
    """A named phrase list per language, shared by rubrics (``library: name``)."""

    description: str = ""
    regex: bool = Field(
        default=False,
        description="The phrases are regular expressions: only conditions with match: regex "
        "may use the library, and only such libraries go with match: regex.",
    )
    phrases: dict[LanguageCode, tuple[Phrase, ...]] = Field(min_length=1)
    exclude: dict[LanguageCode, tuple[Phrase, ...]] = Field(
        default_factory=dict,
        description="Near-misses per language that a match inside does not count (negations: "
        "'do not want to complain', 不用投诉); every condition using the library applies them.",
    )

    @field_validator("phrases", "exclude", mode="before")
    @classmethod
    def _phrase_list(cls, value: Any) -> Any:
        return _phrase_texts(value)


class IntentLibrary(_Strict):
    """A named intent: example utterances per language that mean it, and near-misses that do
    not, shared by rubrics (``intent: {library: name}``)."""

    description: str = ""
    threshold: (
        Annotated[float, Field(ge=0.0, le=1.0)]
        | dict[LanguageCode, Annotated[float, Field(ge=0.0, le=1.0)]]
    ) = Field(
        default=DEFAULT_INTENT_THRESHOLD,
        description="Least cosine similarity of a sentence to one of the examples: one number, "
        f"or one per language (a language not named gets {DEFAULT_INTENT_THRESHOLD}).",
    )
    examples: dict[LanguageCode, tuple[Phrase, ...]] = Field(min_length=1)
    exclude: dict[LanguageCode, tuple[Phrase, ...]] = Field(
        default_factory=dict,
        description="Near-miss utterances per language: a sentence closer to one of these than "
        "to every example does not count.",
    )
    questions: bool = Field(
        default=True,
        description="False: a question never matches (an offer — 'shall I cancel it?' — is not "
        "a thing done).",
    )

    @field_validator("examples", "exclude", mode="before")
    @classmethod
    def _example_list(cls, value: Any) -> Any:
        return _phrase_texts(value)

    def threshold_for(self, language: str) -> float:
        """The threshold for calls in ``language`` (a primary code: 'en', 'zh')."""
        if isinstance(self.threshold, dict):
            for key, value in self.threshold.items():
                if key.lower().replace("_", "-").split("-")[0] == language:
                    return value
            return DEFAULT_INTENT_THRESHOLD
        return self.threshold


class IntentLibraryFile(_Strict):
    """An intent-library file: ``intents: {name: {description, threshold, examples: {...}}}``."""

    intents: dict[Identifier, IntentLibrary] = Field(min_length=1)


class PhraseLibraryFile(_Strict):
    """A phrase-library file: ``libraries: {name: {description, phrases: {en: [...]}}}``."""

    libraries: dict[Identifier, PhraseLibrary] = Field(min_length=1)


class Rubric(_Strict):
    """A QA rubric. Load with :func:`scoring.load_rubric` so its phrase libraries are attached."""

    id: Identifier
    version: str
    title: str
    description: str = ""
    applies_to: AppliesTo = AppliesTo()
    pass_mark: float = Field(ge=0, le=100, description="Pass at this score or above (0-100).")
    items: tuple[Item, ...] = Field(min_length=1)
    flags: tuple[FlagSpec, ...] = ()

    _libraries: dict[str, PhraseLibrary] = PrivateAttr(default_factory=dict)
    _intents: dict[str, IntentLibrary] = PrivateAttr(default_factory=dict)
    _source: str | None = PrivateAttr(default=None)
    _compiled: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @property
    def libraries(self) -> dict[str, PhraseLibrary]:
        """The phrase libraries this rubric was loaded with (name → library)."""
        return dict(self._libraries)

    @property
    def intents(self) -> dict[str, IntentLibrary]:
        """The intent libraries this rubric was loaded with (name → library)."""
        return dict(self._intents)

    @property
    def source(self) -> str | None:
        """The file the rubric was loaded from, if any."""
        return self._source

    def with_libraries(
        self,
        libraries: dict[str, PhraseLibrary],
        source: str | None = None,
        intents: dict[str, IntentLibrary] | None = None,
    ) -> Rubric:
        """A copy of this rubric that resolves ``library:`` references from ``libraries`` (and
        those of intent conditions from ``intents``; None keeps the ones it has)."""
        copy = self.model_copy()
        copy._libraries = dict(libraries)
        copy._intents = dict(self._intents if intents is None else intents)
        copy._source = source if source is not None else self._source
        copy._compiled = {}
        return copy

    @property
    def compiled(self) -> dict[str, Any]:
        """Its phrase lists compiled per call language (filled by :mod:`scoring.compiled` on
        first use and kept with the rubric, so each call only walks its turns)."""
        return self._compiled


def rubric_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rubric file (published as docs/rubric-schema.json)."""
    schema = Rubric.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "callqa rubric"
    return schema
