"""The rubric engine: transcript in, scorecard out.

Rubrics are YAML files (see docs/rubrics.md) validated against a published schema; phrase
libraries hold the phrase lists per language. Pure: no audio, no database, no I/O beyond reading
rubric files::

    from scoring import load_rubrics, select_rubrics, score_call

    rubrics = load_rubrics("rubrics")
    for rubric in select_rubrics(rubrics, call, transcript.language):
        card = score_call(rubric, transcript, call)

Its per-call modules run compiled (mypyc) when ``make setup`` built them from this source; see
:mod:`scoring.native`.
"""

from scoring.native import use_compiled

use_compiled(__path__)

from scoring.cases import RubricCase, load_case
from scoring.describe import describe_condition, describe_rubric
from scoring.errors import Problem, RubricError
from scoring.index import PhraseIndex, match_phrase
from scoring.loader import (
    FileCheck,
    check_rubric_dir,
    load_intent_libraries,
    load_phrase_libraries,
    load_rubric,
    load_rubrics,
)
from scoring.matching import PhraseHit
from scoring.normalize import NormalizedTexts, normalize_text, normalize_texts
from scoring.phrases import expand_alternatives
from scoring.schema import (
    Condition,
    IntentLibrary,
    MatchMode,
    PhraseLibrary,
    Rubric,
    rubric_json_schema,
)
from scoring.scorer import rubric_applies, score_call, select_rubrics

__all__ = [
    "Condition",
    "FileCheck",
    "IntentLibrary",
    "MatchMode",
    "NormalizedTexts",
    "PhraseHit",
    "PhraseIndex",
    "PhraseLibrary",
    "Problem",
    "Rubric",
    "RubricCase",
    "RubricError",
    "check_rubric_dir",
    "describe_condition",
    "describe_rubric",
    "expand_alternatives",
    "load_case",
    "load_intent_libraries",
    "load_phrase_libraries",
    "load_rubric",
    "load_rubrics",
    "match_phrase",
    "normalize_text",
    "normalize_texts",
    "rubric_applies",
    "rubric_json_schema",
    "score_call",
    "select_rubrics",
]
