"""What a phrase index records in a turn: compiled phrase variants and the hits found."""

from __future__ import annotations

from dataclasses import dataclass

from scoring.matching import PhraseHit
from scoring.tokens import Tokens

# group → listed phrase → its hits in the turn (the best one per stretch of the turn)
TurnHits = dict[int, dict[int, list[PhraseHit]]]


@dataclass(slots=True)
class Entry:
    """One variant of one listed phrase of one group, compiled."""

    group: int
    listed: int
    phrase: str  # the variant as the rubric spells it (after {a|b} expansion)
    normalized: str
    size: int  # tokens
    threshold: float
    check_surface: bool  # keys of Chinese characters are sounds: compare the characters too
    verbatim_only: bool  # a homophone is not enough


# A variant the trie walk found in a turn, before it is made a PhraseHit and kept (half of them
# never are: no condition asks for their group in that turn): the variant, its first and last
# token, the similarity, and whether it is approximate — :func:`hit_at`'s arguments.
Found = tuple[Entry, int, int, float, bool]


def hit_at(
    entry: Entry,
    tokens: Tokens,
    start: int,
    end: int,
    similarity: float,
    approximate: bool = False,
) -> PhraseHit:
    """The hit of ``entry`` on tokens ``start``..``end`` of a turn."""
    begin, finish = tokens.starts[start], tokens.ends[end]
    heard = tokens.normalized[begin:finish]
    offset = begin / len(tokens.normalized)
    return PhraseHit(entry.phrase, similarity, heard, offset, begin, finish, approximate)


def keep(hits: TurnHits, group: int, listed: int, hit: PhraseHit) -> None:
    """Keep a hit of a listed phrase: the better of two that overlap, every one that does not
    (a near-miss may rule one out and leave the other)."""
    found = hits.setdefault(group, {}).setdefault(listed, [])
    for number, other in enumerate(found):
        if other.overlaps(hit):
            if rank(hit) > rank(other):
                found[number] = hit
            return
    found.append(hit)


def rank(hit: PhraseHit) -> tuple[float, int, float]:
    """Better: more similar, then longer (the whole phrase, not a shorter variant), earlier."""
    return (hit.similarity, hit.end - hit.start, -hit.offset)
