"""Meaning-level matching: a call's sentences against the example utterances of an intent.

An intent condition compiles (:mod:`scoring.compiled`) into an :class:`IntentPlan`: its example
utterances and near-misses for the call language, each example with the threshold of the
library it came from. A rubric's examples for a language are encoded once per process (on first
use) into one :class:`ExampleTable`; the call's sentences were encoded when the call was
processed (:class:`sentences.SentenceVectors`), or are encoded here when the caller has none.
A sentence matches when its cosine similarity to some example reaches that example's threshold
and it is closer to that example than to every near-miss; a turn's hit is its best matching
sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from scoring.phrases import primary_language
from scoring.schema import DEFAULT_INTENT_THRESHOLD, IntentLibrary, IntentSpec
from sentences import SentenceVectors

#: texts → unit vectors (one row per text)
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class IntentHit:
    """The best matching sentence of a turn: the example it is closest to, and where it is."""

    example: str
    similarity: float
    start: int  # character span of the sentence in the turn text
    end: int
    offset: float  # start as a fraction of the turn text, to order hits within a turn


def _for_language(lists: dict[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    return tuple(p for key, ps in lists.items() if primary_language(key) == language for p in ps)


def _every_language(lists: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(p for ps in lists.values() for p in ps)


Lists = dict[str, tuple[str, ...]]


def _inline(lists: Lists | tuple[str, ...] | None) -> Lists:
    if lists is None:
        return {}
    if isinstance(lists, tuple):
        return {"*": lists}
    return dict(lists)


def _pick(lists: dict[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    """The language's own examples plus those for every language ('*'); if it has none, every
    example (the encoder is multilingual: other languages' examples still carry the meaning)."""
    shared = lists.get("*", ())
    own = _for_language({k: v for k, v in lists.items() if k != "*"}, language)
    if own or shared:
        return own + shared
    return _every_language(lists)


_BLAS_LOCK = threading.Lock()
_BLAS: list[Any] = []  # the BLAS libraries' controllers, found on first use


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS limited to one thread (restored after): a call's product is small (~100 × 512 ×
    ~100), and OpenBLAS spreading it over the cores costs 5-30× its arithmetic in waking and
    spinning threads, more on a busy machine — CPU time a server scoring many calls at once
    spends for nothing. Scoring threads take the lock one at a time, so each restores what it
    found."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController().select(user_api="blas"))
    blas = _BLAS[0]
    if all(library.get_num_threads() == 1 for library in blas.lib_controllers):
        return nullcontext()  # already one thread (OPENBLAS_NUM_THREADS=1): nothing to limit
    limited: AbstractContextManager[object] = blas.limit(limits=1)
    return limited


def product(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``rows @ columns.T`` on one BLAS thread (see :func:`_one_blas_thread`)."""
    with _BLAS_LOCK, _one_blas_thread():
        result: np.ndarray = rows @ columns.T
    return result


class ExampleTable:
    """Every example of a compiled rubric's intent conditions for one language, encoded once
    (on first use) into one matrix, so that a call's sentences meet all of them in one product;
    one comparison with each example's lowest threshold then finds the few sentences that may
    pass some plan."""

    def __init__(self) -> None:
        self._columns: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._layout: list[np.ndarray] = []  # each plan's columns, by plan number
        self._thresholds: list[np.ndarray] = []

    def add(self, examples: Sequence[str], thresholds: np.ndarray) -> tuple[np.ndarray, int]:
        """File a plan's examples: their columns, and the plan's number in the layout."""
        self._matrix = None
        columns = np.asarray(
            [self._columns.setdefault(e, len(self._columns)) for e in examples], dtype=np.intp
        )
        self._layout.append(columns)
        self._thresholds.append(thresholds)
        return columns, len(self._layout) - 1

    def matrix(self, encode: Encode) -> np.ndarray:
        """The examples' vectors, encoded on first use (the uses are set before the matrix, so
        a second thread that sees the matrix also sees them)."""
        if self._matrix is None:
            matrix = encode(list(self._columns))
            # per column: each plan listing its example (plan number, example number, threshold)
            uses: list[list[tuple[int, int, float]]] = [[] for _ in self._columns]
            for number, (columns, limits) in enumerate(
                zip(self._layout, self._thresholds, strict=True)
            ):
                for example, (column, limit) in enumerate(
                    zip(columns.tolist(), limits.tolist(), strict=True)
                ):
                    uses[column].append((number, example, limit))
            self.uses = uses
            self.plans = len(self._layout)
            # per column: the lowest of its thresholds (a similarity below it passes no plan)
            self.lowest = np.asarray(
                [min((t for _, _, t in u), default=np.inf) for u in uses], dtype=np.float32
            )
            self._matrix = matrix
        return self._matrix


@dataclass
class IntentPlan:
    """One intent condition for one call language: examples, thresholds and near-misses."""

    spec: IntentSpec
    examples: tuple[str, ...]
    columns: np.ndarray  # the examples' columns in the rubric's ExampleTable
    thresholds: np.ndarray  # one per example
    number: int  # the plan's place in the table's layout
    near: tuple[str, ...]
    what: str  # "meaning transaction_done" / "like 'I have issued a refund'"
    questions: bool = True  # False: sentences that ask never match
    _near_vectors: np.ndarray | None = field(default=None, repr=False)

    def near_vectors(self, encode: Encode) -> np.ndarray:
        """The near-misses' vectors (encoded on first use)."""
        if self._near_vectors is None:
            self._near_vectors = encode(list(self.near))
        return self._near_vectors


def plan_intent(
    spec: IntentSpec, language: str, libraries: dict[str, IntentLibrary], table: ExampleTable
) -> IntentPlan:
    """Resolve an intent condition's examples for ``language``, filed in ``table``.

    Raises KeyError naming an intent library that is not loaded.
    """
    language = primary_language(language)
    examples: list[str] = []
    thresholds: list[float] = []
    near: list[str] = []
    inline = _pick(_inline(spec.examples), language) if spec.examples is not None else ()
    examples.extend(inline)
    inline_limit = DEFAULT_INTENT_THRESHOLD if spec.threshold is None else spec.threshold
    thresholds.extend([inline_limit] * len(inline))
    near.extend(_pick(_inline(spec.exclude), language) if spec.exclude is not None else ())
    for name in spec.libraries:
        library = libraries[name]
        found = _pick(dict(library.examples), language)
        examples.extend(found)
        limit = library.threshold_for(language) if spec.threshold is None else spec.threshold
        thresholds.extend([limit] * len(found))
        if library.exclude:
            near.extend(_pick(dict(library.exclude), language))
    unique = dict.fromkeys(zip(examples, thresholds, strict=True))
    names = ", ".join(spec.libraries)
    shown = ", ".join(repr(e) for e in inline[:2]) + (", ..." if len(inline) > 2 else "")
    what = " or ".join(
        part for part in (names and f"meaning {names}", shown and f"like {shown}") if part
    )
    listed = tuple(e for e, _ in unique)
    limits = np.asarray([t for _, t in unique], dtype=np.float32)
    questions = all(libraries[name].questions for name in spec.libraries)
    columns, number = table.add(listed, limits)
    return IntentPlan(
        spec=spec,
        examples=listed,
        columns=columns,
        thresholds=limits,
        number=number,
        near=tuple(dict.fromkeys(near)),
        what=what,
        questions=questions,
    )


#: one sentence of a call that passes a plan: (row, turn position, example number, similarity)
Candidate = tuple[int, int, int, float]


class MeaningMatcher:
    """The sentences of one call against a rubric's examples: one matrix product per call, on
    first use, which also finds, for every plan, the few sentences that reach one of its
    examples' thresholds and the example each is closest to; each plan's question then filters
    those sentences by turn (no numpy per question, except the near-miss product)."""

    def __init__(
        self,
        vectors: SentenceVectors,
        turn_indexes: Sequence[int],
        texts: Sequence[str],
        table: ExampleTable,
        encode: Encode,
    ) -> None:
        self._vectors = vectors
        self._texts = texts  # turn text by position in the scored turns
        self._table = table
        self._encode = encode
        position_of = {index: position for position, index in enumerate(turn_indexes)}
        # the position of each row's turn (-1: a turn no longer in the transcript)
        self._row_position: list[int] = [position_of.get(i, -1) for i in vectors.turns.tolist()]
        self._candidates: list[list[Candidate]] | None = None  # per plan number
        self._asks: dict[int, bool] = {}
        self._found: dict[tuple[int, tuple[int, ...]], dict[int, IntentHit]] = {}

    def hits(self, plan: IntentPlan, positions: Sequence[int]) -> dict[int, IntentHit]:
        """Position → best matching sentence, among the turns at ``positions``."""
        key = (id(plan), tuple(positions))
        found = self._found.get(key)
        if found is None:
            found = self._match(plan, positions) if plan.examples and positions else {}
            self._found[key] = found
        return found

    def _passing(self) -> list[list[Candidate]]:
        """Per plan number, the rows that reach some example's threshold of the plan, each with
        its closest example (the first of equals) and its similarity, in row order (found on
        first use, with the call's one product)."""
        if self._candidates is None:
            table = self._table
            similarity = product(self._vectors.vectors, table.matrix(self._encode))
            uses = table.uses
            candidates: list[list[Candidate]] = [[] for _ in range(table.plans)]
            rows, columns = np.nonzero(similarity >= table.lowest)  # few, row by row
            # each (row, plan, example) where the similarity reaches the example's threshold
            passed: list[tuple[int, int, int]] = []
            values: list[float] = []
            limits: list[float] = []
            for row, column, value in zip(
                rows.tolist(), columns.tolist(), similarity[rows, columns].tolist(), strict=True
            ):
                for number, example, limit in uses[column]:
                    if value >= limit:
                        passed.append((row, number, example))
                        values.append(value)
                        limits.append(limit)
            # the margin over the threshold, and the similarity as margin + threshold, both in
            # float32 (the reported similarity; it may differ from the product's in the last bit)
            thresholds = np.asarray(limits, dtype=np.float32)
            margin = np.asarray(values, dtype=np.float32) - thresholds
            margins: list[float] = margin.tolist()
            scores: list[float] = (margin + thresholds).tolist()
            # per (row, plan), in row order: the closest example (the first of equals)
            best: dict[tuple[int, int], tuple[float, int, float]] = {}
            for (row, number, example), above, score in zip(passed, margins, scores, strict=True):
                key = (row, number)
                found = best.get(key)
                if found is None or above > found[0] or (above == found[0] and example < found[1]):
                    best[key] = (above, example, score)
            row_position = self._row_position
            for (row, number), (_, example, score) in best.items():
                position = row_position[row]
                if position >= 0:  # a turn still in the transcript
                    candidates[number].append((row, position, example, score))
            self._candidates = candidates
        return self._candidates

    def _asks_at(self, row: int, position: int) -> bool:
        """Whether the sentence at ``row`` asks (ends with a question mark, or 吗/呢)."""
        found = self._asks.get(row)
        if found is None:
            start, end = self._vectors.spans[row].tolist()
            found = asks(self._texts[position][start:end])
            self._asks[row] = found
        return found

    def _match(self, plan: IntentPlan, positions: Sequence[int]) -> dict[int, IntentHit]:
        candidates = self._passing()[plan.number]
        if not candidates:
            return {}
        wanted = set(positions)
        chosen = [
            c
            for c in candidates
            if c[1] in wanted and (plan.questions or not self._asks_at(c[0], c[1]))
        ]
        if not chosen:
            return {}
        near = plan.near_vectors(self._encode)
        if len(near):
            rows = np.asarray([c[0] for c in chosen], dtype=np.intp)
            closest: list[float] = product(self._vectors.vectors[rows], near).max(axis=1).tolist()
            chosen = [c for c, limit in zip(chosen, closest, strict=True) if c[3] > limit]
        found: dict[int, IntentHit] = {}
        for row, position, example, score in chosen:
            if position in found and found[position].similarity >= score:
                continue
            start, end = self._vectors.spans[row].tolist()
            found[position] = IntentHit(
                plan.examples[example],
                round(score, 3),
                start,
                end,
                start / max(1, len(self._texts[position])),
            )
        return found


_CLOSING_QUOTES = "\"'”’」)）"
_AFTER_PARTICLE = "。，,.！!"


def asks(sentence: str) -> bool:
    """Whether the sentence asks: a question mark at its end (closing quotes allowed), or 吗/呢
    there (then only punctuation). A test of the end, not a search: it runs on every sentence."""
    text = sentence.rstrip()
    return text.rstrip(_CLOSING_QUOTES).endswith(("?", "？")) or text.rstrip(
        _AFTER_PARTICLE
    ).endswith(("吗", "呢"))
