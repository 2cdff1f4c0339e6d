"""Approximate matching of English phrases (``fuzzy``), anchored on their rarest word.

Each fuzzy variant is filed under its rarest word (four letters or more, not one of the very
common words of calls). A turn word that is, or is close to (rapidfuzz ratio, cached per word),
an anchor — or two words that join into one ("pass word") — marks a place to test the phrase:
the rapidfuzz ratio of phrase and the windows of words around it, against the threshold. The
places are found for every turn (one dictionary look-up per word); the tests run only when a
condition asks for the phrase's group in that turn (:class:`scoring.index.TurnMatch`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from scoring.hits import Entry, Found, TurnHits, hit_at, keep
from scoring.tokens import WORD, Tokens

_SIMILAR_WORD = 75  # a word this close (rapidfuzz ratio) to an anchor may stand for it
_ANCHOR_MIN_CHARS = 4
_CACHE_LIMIT = 200_000
# Words too common in calls to anchor a phrase on: looking for them approximately in every turn
# would cost more than it finds, and ASR writes them right anyway. A phrase made only of such
# words (and words under four letters) matches as written.
COMMON = frozenset(
    {
        *("about", "after", "again", "also", "always", "anything", "back", "been", "before"),
        *("being", "call", "called", "calling", "calls", "came", "come", "could", "days"),
        *("does", "doing", "done", "each", "even", "every", "fine", "first", "from", "getting"),
        *("give", "going", "good", "great", "have", "having", "hello", "help", "here", "just"),
        *("know", "last", "like", "little", "long", "look", "make", "many", "maybe", "mean"),
        *("month", "months", "more", "much", "must", "need", "never", "next", "nice", "number"),
        *("okay", "only", "other", "over", "please", "really", "right", "said", "same", "says"),
        *("should", "since", "some", "something", "sorry", "still", "sure", "take", "tell"),
        *("than", "thank", "thanks", "that", "them", "then", "there", "these", "they", "thing"),
        *("think", "this", "those", "time", "today", "very", "want", "week", "well", "were"),
        *("what", "when", "where", "which", "while", "will", "with", "work", "would", "yeah"),
        *("year", "years", "your", "yours"),
        # and of a telecom call center's calls (misheard as an anchor near them, they would
        # start a test in most turns: "contract" for "contact", "line" for "lied")
        *("another", "area", "bill", "change", "charge", "check", "contract"),
        *("customer", "hold", "internet", "line", "minute", "minutes", "moment", "network"),
        *("phone", "plan", "send", "service"),
    }
)


@dataclass(slots=True)
class Anchored:
    """The variants of one listed phrase filed under one anchor word at one position."""

    group: int
    listed: int
    at: int  # token position of the anchor word in the variants
    size: int  # their length in tokens
    threshold: float
    normalized: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    others: set[str] = field(default_factory=set)  # the variants' other words
    longest: int = 0  # characters of its longest variant
    shortest: int = 1_000_000  # and of its shortest
    # Whether another word of the phrase must be heard verbatim nearby, when the anchor was
    # heard verbatim / only close: past the edit budget of the threshold, some word must be.
    needs_support: tuple[bool, bool] = (False, False)


_Near = tuple[tuple[tuple[Anchored, bool], ...], bool]
_NOTHING: _Near = ((), False)


# A place to test: the phrase, where it would start, and how its anchor was heard (1: as
# written, -1: only close, 2: split in two words).
FuzzyTest = tuple[Anchored, int, int]


class Anchors:
    """The fuzzy variants of a phrase index, filed under their anchor words."""

    def __init__(self) -> None:
        self._variants: list[tuple[Entry, Tokens]] = []
        self._anchors: dict[str, list[Anchored]] = {}
        self._filed = False
        self._vocabulary: list[str] = []
        self._join_prefixes: frozenset[str] = frozenset()
        # turn word → the anchors it is (True) or is close to (False), and whether it may be
        # the first half of an anchor ASR split in two ("pass" of "pass word")
        self._near: dict[str, _Near] = {}

    def __bool__(self) -> bool:
        return bool(self._variants)

    def add(self, entry: Entry, tokens: Tokens) -> None:
        """A fuzzy variant (filed under its anchor before the next turn is matched)."""
        self._variants.append((entry, tokens))
        self._filed = False

    def _file(self) -> None:
        """File every fuzzy variant under its rarest word: the one fewest variants share."""
        self._anchors.clear()
        self._near.clear()
        shared: dict[str, int] = {}
        for _, tokens in self._variants:
            for word in set(_candidates(tokens)):
                shared[word] = shared.get(word, 0) + 1
        filed: dict[tuple[str, int, int, int, int], Anchored] = {}
        for entry, tokens in self._variants:
            candidates = _candidates(tokens)
            if not candidates:
                continue
            word = min(candidates, key=lambda w: (shared[w], -len(w), w))
            at = tokens.keys.index(word)
            key = (word, entry.group, entry.listed, at, entry.size)
            anchored = filed.get(key)
            if anchored is None:
                anchored = Anchored(entry.group, entry.listed, at, entry.size, entry.threshold)
                filed[key] = anchored
                self._anchors.setdefault(word, []).append(anchored)
            anchored.normalized.append(entry.normalized)
            anchored.entries.append(entry)
            anchored.others.update(k for i, k in enumerate(tokens.keys) if i != at)
            anchored.longest = max(anchored.longest, len(entry.normalized))
            anchored.shortest = min(anchored.shortest, len(entry.normalized))
        for anchored in filed.values():
            anchored.needs_support = _needs_support(anchored)
        self._vocabulary = sorted(self._anchors)
        self._join_prefixes = frozenset(
            word[:cut] for word in self._anchors for cut in range(2, len(word) - 1)
        )
        self._filed = True

    def places(
        self,
        tokens: Tokens,
        found: dict[int, list[Found]],
        later: Callable[[int, FuzzyTest], None],
    ) -> None:
        """Note, with ``later(group, test)``, every place in the turn a fuzzy phrase may be
        (``found``: what the trie walk found in it, by group)."""
        if not self._filed:
            self._file()
        keys, near = tokens.keys, self._near
        for position, key in enumerate(keys):
            close = near.get(key)
            if close is None:
                close = self._near_word(key)
            if close is _NOTHING:
                continue
            anchors, first_half = close
            for anchored, same in anchors:
                verbatim = found.get(anchored.group)
                if verbatim and any(
                    entry.listed == anchored.listed and similarity >= 1.0
                    for entry, _, _, similarity, _ in verbatim
                ):
                    continue  # found as written in this turn: nothing to look for
                start = position - anchored.at
                # a phrase that needs another word verbatim: checked when the test runs
                later(anchored.group, (anchored, start, 1 if same else -1))
            if first_half and position + 1 < len(keys):
                for anchored in self._anchors.get(key + keys[position + 1], ()):
                    later(anchored.group, (anchored, position - anchored.at, 2))

    def _near_word(self, word: str) -> _Near:
        # A one-word phrase heard verbatim is the trie's find; heard close, the word alone is
        # the window: test it only when it is close enough to pass. A common word stands for
        # itself: ASR writes it right, so "hello" is not a misheard "hell", nor "right" one of
        # "rights" (and these words are in most turns).
        found = [(a, True) for a in self._anchors.get(word, ()) if a.size > 1]
        if len(word) >= _ANCHOR_MIN_CHARS and word.isalpha() and word not in COMMON:
            close = process.extract(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=_SIMILAR_WORD, limit=None
            )
            for other, score, _ in close:
                if other == word:
                    continue
                edits = (1 - score / 100) * (len(word) + len(other))
                found.extend(
                    (anchored, False)
                    for anchored in self._anchors[other]
                    # the misheard word alone must fit the phrase's edit budget
                    if edits <= budget(anchored)
                    and (anchored.size > 1 or score >= anchored.threshold * 100)
                )
        result: _Near = (tuple(found), word in self._join_prefixes)
        if result == ((), False):
            result = _NOTHING
        if len(self._near) > _CACHE_LIMIT:
            self._near.clear()
        self._near[word] = result
        return result


_ENDINGS = ("s", "es", "ed", "d", "ing", "er", "ers")


def inflected(heard: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether the words heard are the phrase's words, some with an ending ("complaints",
    "complained" for "complaint", "complain"): the phrase said, not a guess at a misheard word.
    """
    if len(heard) != len(phrase):
        return False
    return all(
        said == word or (said.startswith(word) and said[len(word) :] in _ENDINGS)
        for said, word in zip(heard, phrase, strict=True)
    )


def run(test: FuzzyTest, tokens: Tokens, hits: TurnHits) -> None:
    """Run one noted test: the support check where needed, then the windows."""
    anchored, start, joined = test
    if joined < 0:  # the anchor was heard only close: maybe another word must be right
        if anchored.needs_support[1] and not _supported(anchored, tokens, start):
            return
        joined = 1
    elif joined == 1 and anchored.needs_support[0] and not _supported(anchored, tokens, start):
        return
    _windows(anchored, start, joined, tokens, hits)


def _candidates(tokens: Tokens) -> list[str]:
    """Words of a variant that may anchor it: long enough and not common."""
    return [
        key
        for kind, key in zip(tokens.kinds, tokens.keys, strict=True)
        if kind == WORD and len(key) >= _ANCHOR_MIN_CHARS and key not in COMMON
    ]


def budget(anchored: Anchored) -> float:
    """Character edits (insertions + deletions) a match of the phrase may have at most."""
    return (1 - anchored.threshold) * (2 * anchored.longest + 2)


def _needs_support(anchored: Anchored) -> tuple[bool, bool]:
    """Whether a match must have another word verbatim, with the anchor verbatim / misheard.

    A ratio of t allows about (1 - t) * 2 * length character edits, and a misheard word costs
    at least two: with more other words than the budget can spoil, one of them is intact.
    """
    edits = int(budget(anchored))
    others = anchored.size - 1
    return others > edits // 2, others > max(0, edits - 2) // 2


def _supported(anchored: Anchored, tokens: Tokens, start: int) -> bool:
    keys, others = tokens.keys, anchored.others
    return any(key in others for key in keys[max(0, start - 1) : start + anchored.size + 1])


def _windows(anchored: Anchored, start: int, joined: int, tokens: Tokens, hits: TurnHits) -> None:
    """Test a listed phrase's fuzzy variants on the windows of words around its anchor."""
    size, total = anchored.size, len(tokens.keys)
    first, last = max(0, start - 1), min(total - 1, start + size + joined - 1)
    if first > last:
        return
    verbatim = hits.get(anchored.group, {}).get(anchored.listed, ())
    if any(
        hit.similarity >= 1.0 and hit.start < tokens.ends[last] and tokens.starts[first] < hit.end
        for hit in verbatim
    ):
        return  # found as written right here
    cutoff = anchored.threshold * 100
    # One cheap, exact test on the whole neighbourhood first (most anchors heard are not the
    # phrase): a window shares at most the region's longest common subsequence with a variant,
    # so its ratio 2·lcs / (len(variant) + len(window)) is at most 2·lcs / (shortest + lcs).
    region = tokens.surface(first, last)
    common = process.extractOne(region, anchored.normalized, scorer=LCSseq.similarity)
    if common is None or 200 * common[1] < cutoff * (anchored.shortest + common[1]):
        return
    found: tuple[float, int, int, int] | None = None
    wide = size + joined - 1  # the phrase's length in turn tokens, the anchor heard split
    for begin, width in ((start, wide), (start, wide - 1), (start + 1, wide - 1),
                         (start, wide + 1), (start - 1, wide + 1)):  # fmt: skip
        finish = begin + width - 1
        if begin < 0 or width < 1 or finish >= total:
            continue
        window = tokens.surface(begin, finish)
        match = process.extractOne(
            window, anchored.normalized, scorer=fuzz.ratio, score_cutoff=cutoff
        )
        if match is not None and (found is None or match[1] > found[0]):
            found = (match[1], match[2], begin, finish)
    if found is not None:
        score, which, begin, finish = found
        entry = anchored.entries[which]
        heard = tokens.keys[begin : finish + 1]
        approximate = not inflected(heard, entry.normalized.split())
        hit = hit_at(entry, tokens, begin, finish, round(score / 100, 3), approximate)
        keep(hits, entry.group, entry.listed, hit)
