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
    (on first use) into one matrix, and every plan's columns laid side by side, so that a
    call's sentences meet all of them in one product and one comparison with the thresholds."""

    def __init__(self) -> None:
        self._columns: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._layout: list[np.ndarray] = []  # each plan's columns, in plan order
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
        """The examples' vectors, encoded on first use (the layout is set before the matrix, so
        a second thread that sees the matrix also sees the layout)."""
        if self._matrix is None:
            matrix = encode(list(self._columns))
            self.layout = np.concatenate(self._layout) if self._layout else np.zeros(0, np.intp)
            self.thresholds = (
                np.concatenate(self._thresholds) if self._thresholds else np.zeros(0, np.float32)
            )
            sizes = [len(columns) for columns in self._layout]
            self.starts = np.cumsum([0, *sizes[:-1]]).astype(np.intp)
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


class MeaningMatcher:
    """The sentences of one call against a rubric's examples: one matrix product per call, on
    first use; each plan then reads its columns and the rows of the turns it asks about."""

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
        self._row_position = np.asarray(
            [position_of.get(i, -1) for i in vectors.turns.tolist()], dtype=np.intp
        )
        self._margin = np.zeros((0, 0), dtype=np.float32)
        self._passes: np.ndarray | None = None
        self._asks: np.ndarray | None = None
        self._found: dict[tuple[int, tuple[int, ...]], dict[int, IntentHit]] = {}

    def hits(self, plan: IntentPlan, positions: Sequence[int]) -> dict[int, IntentHit]:
        """Position → best matching sentence, among the turns at ``positions``."""
        key = (id(plan), tuple(positions))
        found = self._found.get(key)
        if found is None:
            found = self._match(plan, positions) if plan.examples and positions else {}
            self._found[key] = found
        return found

    def _passing(self) -> np.ndarray:
        """rows × plans: whether the row reaches some example's threshold of the plan."""
        if self._passes is None:
            table = self._table
            similarity = product(self._vectors.vectors, table.matrix(self._encode))
            self._margin = similarity[:, table.layout] - table.thresholds
            if self._margin.shape[1]:
                self._passes = np.maximum.reduceat(self._margin, table.starts, axis=1) >= 0
            else:
                self._passes = np.zeros((len(self._row_position), 0), dtype=bool)
        return self._passes

    def _questions(self) -> np.ndarray:
        """Per row: whether the sentence asks (ends with a question mark, or 吗/呢)."""
        if self._asks is None:
            spans = self._vectors.spans
            texts = [
                self._texts[p][a:b].rstrip() if p >= 0 else ""
                for p, (a, b) in zip(self._row_position.tolist(), spans.tolist(), strict=True)
            ]
            self._asks = np.asarray([asks(t) for t in texts], dtype=bool)
        return self._asks

    def _match(self, plan: IntentPlan, positions: Sequence[int]) -> dict[int, IntentHit]:
        passes = self._passing()[:, plan.number]
        if not passes.any():
            return {}
        wanted = np.zeros(len(self._texts) + 1, dtype=bool)
        wanted[np.asarray(positions, dtype=np.intp)] = True
        allowed = passes & wanted[self._row_position]
        if not plan.questions:
            allowed &= ~self._questions()
        rows = np.flatnonzero(allowed)
        if not len(rows):
            return {}
        begin = int(self._table.starts[plan.number])
        margin = self._margin[rows, begin : begin + len(plan.columns)]
        best = margin.argmax(axis=1)
        best_similarity = margin[np.arange(len(rows)), best] + plan.thresholds[best]
        near = plan.near_vectors(self._encode)
        if len(near):
            closest_near = product(self._vectors.vectors[rows], near).max(axis=1)
            keep = best_similarity > closest_near
            rows, best, best_similarity = rows[keep], best[keep], best_similarity[keep]
        found: dict[int, IntentHit] = {}
        for row, example, score in zip(
            rows.tolist(), best.tolist(), best_similarity.tolist(), strict=True
        ):
            position = int(self._row_position[row])
            if position in found and found[position].similarity >= score:
                continue
            start, end = (int(v) for v in self._vectors.spans[row])
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
