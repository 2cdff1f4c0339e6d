"""Every scorecard the shipped rubrics give on the benchmark sets, as JSON lines: the guard that a
speed change to ``scoring/`` changes no verdict, evidence, reason or flag.

Usage::

    .venv/bin/python benchmarks/verdict_snapshot.py --out /tmp/before.jsonl   # on the old code
    .venv/bin/python benchmarks/verdict_snapshot.py --out /tmp/after.jsonl    # on the new code
    cmp /tmp/before.jsonl /tmp/after.jsonl && echo identical

    .venv/bin/python benchmarks/verdict_snapshot.py --compare /tmp/before.jsonl  # both at once

What is scored, each dialogue or call with EVERY rubric that applies (not only the first):

- the labelled real dialogues of ``qa bench verdicts``
  (``benchmarks/dialogues/*.{dev,heldout}.jsonl``),
- the clean dialogues of its false-flag rate (``clean-*.jsonl.gz``, or the committed
  ``*.sample.jsonl`` with ``--sample``),
- the annotated rubric fixtures (``tests/rubric_cases/transcripts`` and ``heldout``), scored
  without sentence vectors (as the tests do) and with them,
- the synthetic calls of ``benchmarks/scoring_bench.py`` (``--calls``, two seeds), loaded from
  their stored JSON and vectors as ``qa rescore`` does.

Each line is ``{"set": ..., "id": ..., "card": <Scorecard JSON>}``; the order is fixed, so two
runs of the same verdicts give byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring_bench import FIXTURES, HELD_OUT, load_stored, make_store

from calldata import Call, Direction, Scorecard, Transcript
from qa.bench.verdicts import CLEAN, DIALOGUES, LABELLED
from qa.transcript_files import read_transcripts
from scoring import NormalizedTexts, Rubric, load_case, load_rubrics, score_call, select_rubrics
from sentences import SentenceVectors, encode_turns, load_encoder

REPO = Path(__file__).resolve().parent.parent


def _cards(
    rubrics: list[Rubric],
    call: Call,
    transcript: Transcript,
    vectors: SentenceVectors | None,
    normalized: NormalizedTexts | None = None,
) -> Iterator[Scorecard]:
    for rubric in select_rubrics(rubrics, call, transcript.language):
        yield score_call(rubric, transcript, call, vectors=vectors, normalized=normalized)


def snapshot(rubrics: list[Rubric], sample: bool, calls: int) -> Iterator[str]:
    """The snapshot's lines, in a fixed order."""
    encoder = load_encoder()

    def line(name: str, ident: str, card: Scorecard) -> str:
        card_json = card.model_dump(mode="json")
        return json.dumps({"set": name, "id": ident, "card": card_json}, ensure_ascii=False)

    sets: list[tuple[str, str, Direction | None]] = [
        (f"{stem}.{part}.jsonl", lang, None)
        for stem, lang in LABELLED.items()
        for part in ("dev", "heldout")
    ]
    for stem, lang in CLEAN.items():
        name = f"{stem}.sample.jsonl" if sample else f"{stem}.jsonl.gz"
        sets.append((name, lang, Direction.INBOUND))
    for name, language, direction in sets:
        path = DIALOGUES / name
        if not path.is_file():
            continue
        for dialogue in read_transcripts(path, language=language, direction=direction):
            turns = dialogue.transcript.turns
            vectors = encode_turns(encoder, [(t.index, t.text) for t in turns])
            for card in _cards(rubrics, dialogue.call(), dialogue.transcript, vectors):
                yield line(name, dialogue.id, card)
    by_id = {rubric.id: rubric for rubric in rubrics}
    for folder in (FIXTURES, HELD_OUT):
        for path in sorted(folder.glob("*.yaml")):
            case = load_case(path)
            turns = case.transcript.turns
            vectors = encode_turns(encoder, [(t.index, t.text) for t in turns])
            for with_vectors in (None, vectors):
                rubric = by_id[case.rubric]
                card = score_call(rubric, case.transcript, case.call, vectors=with_vectors)
                yield line(f"{folder.name}{'+vectors' if with_vectors else ''}", path.stem, card)
    for seed in (7, 1007):
        for stored in make_store(calls, seed):
            call, transcript, vectors, normalized = load_stored(stored)
            for card in _cards(rubrics, call, transcript, vectors, normalized):
                yield line(f"synthetic seed {seed}", call.call_id, card)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the snapshot here (.gz: compressed)")
    parser.add_argument(
        "--compare", type=Path, help="a snapshot to compare with; exit 1 if not identical"
    )
    parser.add_argument("--sample", action="store_true", help="the committed clean samples only")
    parser.add_argument("--calls", type=int, default=300, help="synthetic calls per seed")
    parser.add_argument("--rubrics", type=Path, default=REPO / "rubrics")
    args = parser.parse_args()
    rubrics = load_rubrics(args.rubrics)
    digest = hashlib.sha256()
    lines = []
    for text in snapshot(rubrics, args.sample, args.calls):
        digest.update(text.encode("utf-8") + b"\n")
        lines.append(text)
    body = "\n".join(lines) + "\n"
    if args.out:
        opener = gzip.open if args.out.suffix == ".gz" else open
        with opener(args.out, "wt", encoding="utf-8") as handle:
            handle.write(body)
    print(f"{len(lines)} scorecards, sha256 {digest.hexdigest()}")
    if args.compare:
        opener = gzip.open if args.compare.suffix == ".gz" else open
        with opener(args.compare, "rt", encoding="utf-8") as handle:
            before = handle.read()
        if before == body:
            print(f"identical to {args.compare}")
            return
        old, new = before.splitlines(), lines
        for number, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b:
                print(f"first difference at line {number + 1}:\n- {a[:600]}\n+ {b[:600]}")
                break
        else:
            print(f"lengths differ: {len(old)} lines before, {len(new)} now")
        sys.exit(1)


if __name__ == "__main__":
    main()
