"""Every phrase list of a rubric compiled into one index, matched against a turn in one pass.

A rubric's phrase conditions, resolved for one language, become *groups* (a list of phrases with
a match mode and threshold). Their variants (``{a|b}`` expanded) are tokenised once
(:mod:`scoring.tokens`) and compiled into:

- one **trie** keyed by token, walked once from each token of a turn. A walk ends on a phrase
  when every key is equal: for Latin words and digits that is a verbatim match (1.0); keys of
  Chinese characters are canonical pinyin, so it is a homophone match (0.95, ``pinyin``) or,
  with the same characters, a verbatim one (1.0; all that ``exact`` accepts). At the default
  pinyin threshold a phrase of fewer than nine syllables can only match with every syllable
  right, so the walk *is* the pinyin matcher; phrases whose threshold admits syllable edits are
  matched window by window around a verbatim piece of them instead (``_edit_matches``).
- **anchors** for ``fuzzy`` (English): each variant is filed under its one or two rarest words.
  A turn word that is, or is close to (rapidfuzz ratio, cached per word), an anchor — or two
  words that join into one ("pass word") — puts the phrase to the test on the windows of words
  around it: the rapidfuzz ratio of phrase and window against the threshold, as before, but
  only where the phrase can be.

Matching a turn costs one dictionary look-up per token plus the work near real candidates,
whatever the number of phrases or of the alternatives they expand to.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq, Levenshtein

from scoring.matching import (
    DEFAULT_THRESHOLD,
    HOMOPHONE_SIMILARITY,
    MatchMode,
    PhraseHit,
    compile_regex,
    resolve_mode,
)
from scoring.normalize import has_cjk, normalize_text
from scoring.phrases import ListedPhrase
from scoring.tokens import CJK, WORD, Tokens, tokenize_phrase, tokenize_turn

# Phrases this short (characters for fuzzy, syllables for pinyin) only match verbatim: "hi" must
# not match inside "this", and one syllable has too many homophones to mean anything.
FUZZY_MIN_CHARS = 4
PINYIN_MIN_SYLLABLES = 2
_SIMILAR_WORD = 75  # a word this close (rapidfuzz ratio) to an anchor may stand for it
_ANCHOR_MIN_CHARS = 4
_CACHE_LIMIT = 200_000
# Words too common in calls to anchor a phrase on: looking for them approximately in every turn
# would cost more than it finds, and ASR writes them right anyway. A phrase made only of such
# words (and words under four letters) matches as written.
_COMMON = frozenset(
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
    }
)
# group → listed phrase → its hits in the turn (the best one per stretch of the turn)
TurnHits = dict[int, dict[int, list[PhraseHit]]]


@dataclass(slots=True)
class _Entry:
    """One variant of one listed phrase of one group."""

    group: int
    listed: int
    phrase: str  # the variant as the rubric spells it (after {a|b} expansion)
    normalized: str
    size: int  # tokens
    threshold: float
    check_surface: bool  # keys of Chinese characters are sounds: compare the characters too
    verbatim_only: bool  # a homophone is not enough


@dataclass(slots=True, eq=False)
class _EditEntry:
    """A pinyin phrase whose threshold admits syllable edits; filed in the piece trie under
    pieces of it, one of which any match must contain verbatim (pigeonhole)."""

    entry: _Entry
    keys: tuple[str, ...]
    edits: int  # syllable edits the threshold admits


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[_Entry] = field(default_factory=list)
    pieces: list[tuple[_EditEntry, int]] = field(default_factory=list)  # (phrase, offset)

    def insert(self, keys: Sequence[str], entry: _Entry) -> None:
        node = self
        for key in keys:
            node = node.children.setdefault(key, _Node())
        if entry not in node.ends:
            node.ends.append(entry)


@dataclass(slots=True)
class _Anchored:
    """The variants of one listed phrase filed under one anchor word at one position."""

    group: int
    listed: int
    at: int  # token position of the anchor word in the variants
    size: int  # their length in tokens
    threshold: float
    normalized: list[str] = field(default_factory=list)
    entries: list[_Entry] = field(default_factory=list)
    others: set[str] = field(default_factory=set)  # the variants' other words
    longest: int = 0  # characters of its longest variant
    shortest: int = 1_000_000  # and of its shortest
    # Whether another word of the phrase must be heard verbatim nearby, when the anchor was
    # heard verbatim / only close: past the edit budget of the threshold, some word must be.
    needs_support: tuple[bool, bool] = (False, False)


_Near = tuple[tuple[tuple[_Anchored, bool], ...], bool]
_NOTHING: _Near = ((), False)


class PhraseIndex:
    """The compiled phrase lists of one rubric for one call language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._groups: dict[tuple[object, ...], int] = {}
        self._trie = _Node()
        self._fuzzy: list[tuple[_Entry, Tokens]] = []  # filed under anchors when first used
        self._anchors: dict[str, list[_Anchored]] = {}
        self._regexes: list[tuple[int, int, str]] = []
        self._regex_union: re.Pattern[str] | None = None
        self._vocabulary: list[str] = []
        self._join_prefixes: frozenset[str] = frozenset()
        # turn word → the anchors it is (True) or is close to (False), and whether it may be
        # the first half of an anchor ASR split in two ("pass" of "pass word")
        self._near: dict[str, _Near] = {}

    @property
    def group_count(self) -> int:
        return len(self._groups)

    # ---- compiling ------------------------------------------------------------------------

    def add_group(
        self,
        listed: Sequence[ListedPhrase],
        match: MatchMode,
        threshold: float | None,
        *,
        strict: bool = False,
    ) -> int:
        """Compile a phrase list; an identical list with the same settings shares its group.

        ``strict`` (near-misses): as written — homophones allowed, no approximate words, no
        syllable edits. A near-miss differs from its phrase by a short word ("do not want to
        complain"), just what approximate matching would overlook.
        """
        key = (tuple(p.listed for p in listed), match, threshold, strict)
        if key in self._groups:
            return self._groups[key]
        group = len(self._groups)
        self._groups[key] = group
        for number, phrase in enumerate(listed):
            for variant in phrase.variants:
                self._add_variant(group, number, variant, match, threshold, strict)
        self._anchors.clear()
        return group

    def _file_anchors(self) -> None:
        """File every fuzzy variant under its rarest word: the one fewest variants share."""
        self._anchors.clear()
        self._near.clear()
        shared: dict[str, int] = {}
        for _, tokens in self._fuzzy:
            for word in set(_anchor_candidates(tokens)):
                shared[word] = shared.get(word, 0) + 1
        filed: dict[tuple[str, int, int, int, int], _Anchored] = {}
        for entry, tokens in self._fuzzy:
            candidates = _anchor_candidates(tokens)
            if not candidates:
                continue
            word = min(candidates, key=lambda w: (shared[w], -len(w), w))
            at = tokens.keys.index(word)
            key = (word, entry.group, entry.listed, at, entry.size)
            anchored = filed.get(key)
            if anchored is None:
                anchored = _Anchored(entry.group, entry.listed, at, entry.size, entry.threshold)
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

    def _add_variant(
        self,
        group: int,
        listed: int,
        variant: str,
        match: MatchMode,
        threshold: float | None,
        strict: bool,
    ) -> None:
        mode = resolve_mode(match, variant, self.language)
        if mode is MatchMode.REGEX:
            compile_regex(variant)
            self._regexes.append((group, listed, variant))
            self._regex_union = None
            return
        normalized = normalize_text(variant)
        tokens = tokenize_phrase(normalized)
        if not len(tokens):
            return
        limit = DEFAULT_THRESHOLD.get(mode, 1.0) if threshold is None else threshold
        chinese = CJK in tokens.kinds
        entry = _Entry(
            group=group,
            listed=listed,
            phrase=variant,
            normalized=normalized,
            size=len(tokens),
            threshold=limit,
            check_surface=chinese,
            verbatim_only=_verbatim_only(mode, tokens, limit) or (strict and not chinese),
        )
        keys = tokens.keys
        edits = _allowed_edits(len(keys), limit) if mode is MatchMode.PINYIN and not strict else 0
        if edits and not entry.verbatim_only:
            edit = _EditEntry(entry, tuple(keys), edits)
            size = math.ceil(len(keys) / (edits + 1))
            for offset in range(0, len(keys), size):
                node = self._trie
                for key in keys[offset : offset + size]:
                    node = node.children.setdefault(key, _Node())
                node.pieces.append((edit, offset))
            return
        for path in _key_paths(tokens):
            self._trie.insert(path, entry)
        if mode is MatchMode.FUZZY and not chinese and not entry.verbatim_only:
            self._fuzzy.append((entry, tokens))

    # ---- matching -------------------------------------------------------------------------

    def match(self, tokens: Tokens) -> TurnMatch:
        """Every phrase of every group in one turn (see :func:`scoring.tokens.tokenize_turn`).

        What is found as written is found now; approximate matches (fuzzy words, pinyin with
        syllable edits) are only located now and tested when a condition asks for their group
        in this turn (:meth:`TurnMatch.group`): most are never asked for — their item does not
        apply, or their window is the first or last turns.
        """
        found = TurnMatch(tokens)
        if not tokens.keys:
            return found
        if self._trie.children:
            _walk(self._trie, tokens, found)
        if self._fuzzy and not self._anchors:
            self._file_anchors()
        if self._anchors:
            self._near_anchors(tokens, found)
        normalized = tokens.normalized
        if self._regexes and self._any_regex().search(normalized) is None:
            return found
        for group, listed, pattern in self._regexes:
            hit = compile_regex(pattern).search(normalized)
            if hit is not None:
                offset = hit.start() / len(normalized)
                _keep(found.hits, group, listed,
                      PhraseHit(pattern, 1.0, hit.group(), offset, *hit.span()))  # fmt: skip
        return found

    def _any_regex(self) -> re.Pattern[str]:
        """All regex phrases in one pattern: one search rules out most turns."""
        if self._regex_union is None:
            try:
                self._regex_union = re.compile("|".join(f"(?:{p})" for _, _, p in self._regexes))
            except re.error:  # e.g. an inline flag that only works at the start of one pattern
                self._regex_union = re.compile("")  # matches anywhere: test each pattern
        return self._regex_union

    def _near_anchors(self, tokens: Tokens, found: TurnMatch) -> None:
        keys, near, hits = tokens.keys, self._near, found.hits
        for position, key in enumerate(keys):
            close = near.get(key)
            if close is None:
                close = self._anchors_near(key)
            if close is _NOTHING:
                continue
            anchors, first_half = close
            for anchored, same in anchors:
                verbatim = hits.get(anchored.group)
                if (
                    verbatim
                    and anchored.listed in verbatim
                    and any(hit.similarity >= 1.0 for hit in verbatim[anchored.listed])
                ):
                    continue  # found as written in this turn: nothing to look for
                start = position - anchored.at
                # a phrase that needs another word verbatim: checked when the test runs
                found.later(anchored.group, (anchored, start, 1 if same else -1))
            if first_half and position + 1 < len(keys):
                for anchored in self._anchors.get(key + keys[position + 1], ()):
                    found.later(anchored.group, (anchored, position - anchored.at, 2))

    def _anchors_near(self, word: str) -> _Near:
        # A one-word phrase heard verbatim is the trie's find; heard close, the word alone is
        # the window: test it only when it is close enough to pass.
        found = [(a, True) for a in self._anchors.get(word, ()) if a.size > 1]
        if len(word) >= _ANCHOR_MIN_CHARS and word.isalpha():
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
                    if edits <= _budget(anchored)
                    and (anchored.size > 1 or score >= anchored.threshold * 100)
                )
        result: _Near = (tuple(found), word in self._join_prefixes)
        if result == ((), False):
            result = _NOTHING
        if len(self._near) > _CACHE_LIMIT:
            self._near.clear()
        self._near[word] = result
        return result


_Pending = tuple[_Anchored, int, int] | tuple[_EditEntry, set[int]]


class TurnMatch:
    """One turn matched against an index: hits found, and approximate tests still to run."""

    __slots__ = ("hits", "pending", "tokens")

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self.hits: TurnHits = {}
        self.pending: dict[int, list[_Pending]] = {}

    def later(self, group: int, test: _Pending) -> None:
        self.pending.setdefault(group, []).append(test)

    def groups(self) -> set[int]:
        """The groups with a hit or a test still to run in this turn."""
        return set(self.hits) | set(self.pending)

    def group(self, group: int) -> dict[int, list[PhraseHit]] | None:
        """The group's hits in this turn (listed phrase → hits), running its pending tests."""
        tests = self.pending.pop(group, None)
        if tests:
            for test in tests:
                if len(test) == 2:
                    _edit_matches(test[0], self.tokens, self.hits, test[1])
                    continue
                anchored, start, joined = test
                if joined < 0:  # the anchor was heard only close: maybe another word must be right
                    if anchored.needs_support[1] and not _supported(anchored, self.tokens, start):
                        continue
                    joined = 1
                elif (
                    joined == 1
                    and anchored.needs_support[0]
                    and not _supported(anchored, self.tokens, start)
                ):
                    continue
                _fuzzy_windows(anchored, start, joined, self.tokens, self.hits)
        return self.hits.get(group)


# ---- compiling helpers ------------------------------------------------------------------------


def _verbatim_only(mode: MatchMode, tokens: Tokens, threshold: float) -> bool:
    if mode is MatchMode.EXACT:
        return True
    chinese = sum(kind == CJK for kind in tokens.kinds)
    if mode is MatchMode.FUZZY:
        # fuzzy is for English: Chinese characters in a fuzzy phrase match verbatim
        return chinese > 0 or len(tokens.normalized) < FUZZY_MIN_CHARS or threshold >= 1.0
    # pinyin: homophones only for Chinese phrases of two syllables or more
    return chinese == 0 or len(tokens) < PINYIN_MIN_SYLLABLES or threshold > HOMOPHONE_SIMILARITY


def _allowed_edits(syllables: int, threshold: float) -> int:
    """Syllable edits a pinyin match of this length may have (windows up to one longer)."""
    if threshold > HOMOPHONE_SIMILARITY:
        return 0
    return math.floor((syllables + 1) * (1 - threshold / HOMOPHONE_SIMILARITY) + 1e-9)


def _key_paths(tokens: Tokens) -> list[tuple[str, ...]]:
    """Every key sequence of a phrase: a polyphone may be heard with either of its keys."""
    options = [(key, *tokens.alternatives.get(i, ())) for i, key in enumerate(tokens.keys)]
    return list(itertools.islice(itertools.product(*options), 64))


def _anchor_candidates(tokens: Tokens) -> list[str]:
    """Words of a variant that may anchor it: long enough and not common."""
    return [
        key
        for kind, key in zip(tokens.kinds, tokens.keys, strict=True)
        if kind == WORD and len(key) >= _ANCHOR_MIN_CHARS and key not in _COMMON
    ]


# ---- hits -------------------------------------------------------------------------------------


def _hit(entry: _Entry, tokens: Tokens, start: int, end: int, similarity: float) -> PhraseHit:
    begin, finish = tokens.starts[start], tokens.ends[end]
    heard = tokens.normalized[begin:finish]
    return PhraseHit(entry.phrase, similarity, heard, begin / len(tokens.normalized), begin, finish)


def _keep(hits: TurnHits, group: int, listed: int, hit: PhraseHit) -> None:
    """Keep a hit of a listed phrase: the better of two that overlap, every one that does not
    (a near-miss may rule one out and leave the other)."""
    found = hits.setdefault(group, {}).setdefault(listed, [])
    for number, other in enumerate(found):
        if other.overlaps(hit):
            if _rank(hit) > _rank(other):
                found[number] = hit
            return
    found.append(hit)


def _rank(hit: PhraseHit) -> tuple[float, int, float]:
    """Better: more similar, then longer (the whole phrase, not a shorter variant), earlier."""
    return (hit.similarity, hit.end - hit.start, -hit.offset)


def _walk(trie: _Node, tokens: Tokens, found: TurnMatch) -> None:
    """Walk the trie from every token: record each phrase whose keys all matched, and note the
    pinyin phrases with edits allowed where a piece of them was heard (tested on demand)."""
    keys, hits = tokens.keys, found.hits
    size = len(keys)
    root = trie.children
    places: dict[_EditEntry, set[int]] | None = None
    for start, key in enumerate(keys):
        node = root.get(key)
        end = start
        while node is not None:
            for entry in node.ends:
                _trie_hit(entry, tokens, start, end, hits)
            if node.pieces:
                places = places if places is not None else {}
                for edit, offset in node.pieces:
                    places.setdefault(edit, set()).add(start - offset)
            end += 1
            if end == size or not node.children:
                break
            node = node.children.get(keys[end])
    if places:
        for edit, where in places.items():
            found.later(edit.entry.group, (edit, where))


def _trie_hit(entry: _Entry, tokens: Tokens, start: int, end: int, hits: TurnHits) -> None:
    similarity = 1.0
    if entry.check_surface and tokens.surface(start, end) != entry.normalized:
        if entry.verbatim_only:
            return
        similarity = HOMOPHONE_SIMILARITY
    if similarity >= entry.threshold:
        _keep(hits, entry.group, entry.listed, _hit(entry, tokens, start, end, similarity))


def _budget(anchored: _Anchored) -> float:
    """Character edits (insertions + deletions) a match of the phrase may have at most."""
    return (1 - anchored.threshold) * (2 * anchored.longest + 2)


def _needs_support(anchored: _Anchored) -> tuple[bool, bool]:
    """Whether a match must have another word verbatim, with the anchor verbatim / misheard.

    A ratio of t allows about (1 - t) * 2 * length character edits, and a misheard word costs
    at least two: with more other words than the budget can spoil, one of them is intact.
    """
    budget = int(_budget(anchored))
    others = anchored.size - 1
    return others > budget // 2, others > max(0, budget - 2) // 2


def _supported(anchored: _Anchored, tokens: Tokens, start: int) -> bool:
    keys, others = tokens.keys, anchored.others
    return any(key in others for key in keys[max(0, start - 1) : start + anchored.size + 1])


def _fuzzy_windows(
    anchored: _Anchored, start: int, joined: int, tokens: Tokens, hits: TurnHits
) -> None:
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
        hit = _hit(entry, tokens, begin, finish, round(score / 100, 3))
        _keep(hits, entry.group, entry.listed, hit)


def _edit_matches(edit: _EditEntry, tokens: Tokens, hits: TurnHits, places: set[int]) -> None:
    """Pinyin with syllable edits: windows near where a piece of the phrase was heard verbatim
    (``places``: where the phrase would start; each edit before the piece shifts it by one)."""
    keys, wanted, size, shift = tokens.keys, edit.keys, len(edit.keys), edit.edits
    begins = {b for place in places for b in range(place - shift, place + shift + 1) if b >= 0}
    best: tuple[float, int, int] | None = None
    for begin in sorted(begins):
        for width in range(max(1, size - 1), size + 2):
            if begin + width > len(keys):
                break
            score = Levenshtein.normalized_similarity(wanted, keys[begin : begin + width])
            score *= HOMOPHONE_SIMILARITY
            if tokens.surface(begin, begin + width - 1) == edit.entry.normalized:
                score = 1.0
            if best is None or score > best[0]:
                best = (score, begin, begin + width - 1)
    if best is not None and best[0] >= edit.entry.threshold:
        score, begin, finish = best
        hit = _hit(edit.entry, tokens, begin, finish, round(score, 3))
        _keep(hits, edit.entry.group, edit.entry.listed, hit)


# ---- one phrase -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _single(phrase: str, mode: MatchMode, threshold: float | None) -> PhraseIndex:
    index = PhraseIndex("zh" if mode is MatchMode.PINYIN else "en")
    index.add_group([ListedPhrase(phrase, (phrase,))], mode, threshold)
    return index


def match_phrase(
    phrase: str, text: str, mode: MatchMode, threshold: float | None = None
) -> PhraseHit | None:
    """Find ``phrase`` in ``text`` (both raw; normalised here) with a concrete match mode.

    ``threshold`` (0..1) applies to fuzzy and pinyin; None takes the mode's default. This is
    the rubric engine's own matcher applied to one phrase, for trying phrases out.

    >>> match_phrase("安科电信", "欢迎致电安可电信", MatchMode.PINYIN).similarity
    0.95
    """
    if mode is MatchMode.AUTO:
        raise ValueError(f"match mode {mode!r} must be resolved first (see resolve_mode)")
    if mode is MatchMode.PINYIN and not has_cjk(phrase):
        mode = MatchMode.EXACT  # digits and Latin words match whole in pinyin mode
    found = _single(phrase, mode, threshold).match(tokenize_turn(normalize_text(text)))
    hits = (found.group(0) or {}).get(0)
    return max(hits, key=lambda h: (h.similarity, -h.offset)) if hits else None
