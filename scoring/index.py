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
- **anchors** for ``fuzzy`` (English, :mod:`scoring.fuzzy`): each variant is filed under its
  rarest word, and tested with the rapidfuzz ratio only on the windows of words around a place
  where that word (or one close to it) was heard.

Matching a turn costs one dictionary look-up per token plus the work near real candidates,
whatever the number of phrases or of the alternatives they expand to; approximate tests run
only for the groups and turns a condition asks for (:class:`TurnMatch`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from scoring import fuzzy
from scoring.fuzzy import Anchors, FuzzyTest
from scoring.hits import Entry, Found, TurnHits, hit_at, keep
from scoring.matching import (
    DEFAULT_THRESHOLD,
    HOMOPHONE_SIMILARITY,
    PhraseHit,
    compile_regex,
    resolve_mode,
)
from scoring.normalize import has_cjk, normalize_text
from scoring.phrases import ListedPhrase
from scoring.schema import MatchMode
from scoring.tokens import CJK, Tokens, read_alike, tokenize_phrase, tokenize_turn

# Phrases this short (characters for fuzzy, syllables for pinyin) only match verbatim: "hi" must
# not match inside "this", and one syllable has too many homophones to mean anything.
FUZZY_MIN_CHARS = 4
PINYIN_MIN_SYLLABLES = 2
CONFIDENT_HOMOPHONE_SYLLABLES = 3


@dataclass(slots=True, eq=False)
class _EditEntry:
    """A pinyin phrase whose threshold admits syllable edits; filed in the piece trie under
    pieces of it, one of which any match must contain verbatim (pigeonhole)."""

    entry: Entry
    keys: tuple[str, ...]
    edits: int  # syllable edits the threshold admits


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[Entry] = field(default_factory=list)
    pieces: list[tuple[_EditEntry, int]] = field(default_factory=list)  # (phrase, offset)

    def insert(self, keys: Sequence[str], entry: Entry) -> None:
        node = self
        for key in keys:
            node = node.children.setdefault(key, _Node())
        if entry not in node.ends:
            node.ends.append(entry)


class PhraseIndex:
    """The compiled phrase lists of one rubric for one call language."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._groups: dict[tuple[object, ...], int] = {}
        self._trie = _Node()
        self._fuzzy = Anchors()
        self._regexes: list[tuple[int, int, str]] = []
        self._regex_union: re.Pattern[str] | None = None

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
        return group

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
        entry = Entry(
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
            self._fuzzy.add(entry, tokens)

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
        if self._fuzzy:
            self._fuzzy.places(tokens, found.found, found.later)
        normalized = tokens.normalized
        if self._regexes and self._any_regex().search(normalized) is None:
            return found
        for group, listed, pattern in self._regexes:
            hit = compile_regex(pattern).search(normalized)
            if hit is not None:
                offset = hit.start() / len(normalized)
                found.keep(group, listed,
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


_Pending = FuzzyTest | tuple[_EditEntry, set[int]]


class TurnMatch:
    """One turn matched against an index: hits found, and approximate tests still to run.

    What the trie walk finds is kept as found (``found``) and made into hits only when a
    condition asks for its group (:meth:`group`): half of them never are.
    """

    __slots__ = ("found", "hits", "pending", "tokens")

    def __init__(self, tokens: Tokens) -> None:
        self.tokens = tokens
        self.hits: TurnHits = {}
        self.found: dict[int, list[Found]] = {}  # group → found by the walk, in walk order
        self.pending: dict[int, list[_Pending]] = {}

    def later(self, group: int, test: _Pending) -> None:
        self.pending.setdefault(group, []).append(test)

    def groups(self) -> set[int]:
        """The groups with a hit or a test still to run in this turn."""
        groups = set(self.found)
        if self.hits:
            groups.update(self.hits)
        if self.pending:
            groups.update(self.pending)
        return groups

    def keep(self, group: int, listed: int, hit: PhraseHit) -> None:
        """Keep a hit of the group, after what the walk found (the order :func:`keep` sees)."""
        self._made(group)
        keep(self.hits, group, listed, hit)

    def _made(self, group: int) -> None:
        """Make what the walk found of the group into hits, in the order it was found."""
        found = self.found.pop(group, None)
        if found:
            tokens, hits = self.tokens, self.hits
            for entry, start, end, similarity, approximate in found:
                hit = hit_at(entry, tokens, start, end, similarity, approximate)
                keep(hits, group, entry.listed, hit)

    def group(self, group: int) -> dict[int, list[PhraseHit]] | None:
        """The group's hits in this turn (listed phrase → hits), running its pending tests."""
        self._made(group)
        tests = self.pending.pop(group, None)
        if tests:
            for test in tests:
                if len(test) == 2:
                    _edit_matches(test[0], self.tokens, self.hits, test[1])
                else:
                    fuzzy.run(test, self.tokens, self.hits)
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


# ---- matching helpers ---------------------------------------------------------------------------


def _walk(trie: _Node, tokens: Tokens, found: TurnMatch) -> None:
    """Walk the trie from every token: record each phrase whose keys all matched, and note the
    pinyin phrases with edits allowed where a piece of them was heard (tested on demand)."""
    keys, walked = tokens.keys, found.found
    size = len(keys)
    root = trie.children
    places: dict[_EditEntry, set[int]] | None = None
    for start, key in enumerate(keys):
        node = root.get(key)
        end = start
        while node is not None:
            if node.ends:
                for entry in node.ends:
                    _triehit_at(entry, tokens, start, end, walked)
            if node.pieces:
                places = places if places is not None else {}
                for edit, offset in node.pieces:
                    places.setdefault(edit, set()).add(start - offset)
            end += 1
            children = node.children
            if end == size or not children:
                break
            node = children.get(keys[end])
    if places:
        for edit, where in places.items():
            found.later(edit.entry.group, (edit, where))


def _triehit_at(
    entry: Entry, tokens: Tokens, start: int, end: int, walked: dict[int, list[Found]]
) -> None:
    similarity, approximate = 1.0, False
    surface = tokens.surface(start, end) if entry.check_surface else ""
    if entry.check_surface and surface != entry.normalized:
        if entry.verbatim_only:
            return
        # A homophone of a two-syllable phrase is too often another word (鑫方 for 信访, 油饼
        # for 有病): a guess. Three syllables and more sound alike far less by chance, and are
        # confident when read alike, tone included; ordinary Mandarin text holds tone-less
        # sound-alikes across word boundaries (收购了 for 受够了, 你去世界 for 你去死), which on
        # the real dialogues' dev halves raised strong-language and taboo hits (docs/benchmarks.md).
        approximate = entry.size < CONFIDENT_HOMOPHONE_SYLLABLES or not read_alike(
            surface, entry.normalized
        )
        similarity = HOMOPHONE_SIMILARITY
    if similarity >= entry.threshold:
        found = walked.get(entry.group)
        if found is None:
            walked[entry.group] = [(entry, start, end, similarity, approximate)]
        else:
            found.append((entry, start, end, similarity, approximate))


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
        hit = hit_at(edit.entry, tokens, begin, finish, round(score, 3), approximate=score < 1.0)
        keep(hits, edit.entry.group, edit.entry.listed, hit)


# ---- one phrase -------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _single(phrase: str, mode: MatchMode, threshold: float | None) -> PhraseIndex:
    index = PhraseIndex("zh" if mode is MatchMode.PINYIN else "en")
    index.add_group([ListedPhrase(phrase, (phrase,))], mode, threshold)
    return index


def match_phrase(
    phrase: str, text: str, mode: MatchMode | str, threshold: float | None = None
) -> PhraseHit | None:
    """Find ``phrase`` in ``text`` (both raw; normalised here) with a concrete match mode.

    ``threshold`` (0..1) applies to fuzzy and pinyin; None takes the mode's default. This is
    the rubric engine's own matcher applied to one phrase, for trying phrases out.

    >>> match_phrase("安科电信", "欢迎致电安可电信", MatchMode.PINYIN).similarity
    0.95
    """
    mode = MatchMode(mode)  # "fuzzy" as well as MatchMode.FUZZY (ValueError for anything else)
    if mode is MatchMode.AUTO:
        raise ValueError(f"match mode {mode!r} must be resolved first (see resolve_mode)")
    if mode is MatchMode.PINYIN and not has_cjk(phrase):
        mode = MatchMode.EXACT  # digits and Latin words match whole in pinyin mode
    found = _single(phrase, mode, threshold).match(tokenize_turn(normalize_text(text)))
    hits = (found.group(0) or {}).get(0)
    return max(hits, key=lambda h: (h.similarity, -h.offset)) if hits else None
