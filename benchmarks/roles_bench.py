"""Roles benchmark: who is the agent on a mono call, decided from the words alone.

Usage::

    .venv/bin/python benchmarks/roles_bench.py                  # development halves + our scripts
    .venv/bin/python benchmarks/roles_bench.py --heldout        # the held-out halves too
    .venv/bin/python benchmarks/roles_bench.py --json --list    # one JSON report, misses listed

Each labelled dialogue of ``benchmarks/dialogues`` (STAR, English; CrossWOZ, Mandarin; and the
sample store's scripts in ``samples/calls.yaml``, which this project wrote) is turned into what a
mono call gives :func:`asr.roles.assign_roles`: the two parties become diarization speakers
``SPEAKER_00`` (whoever speaks first) and ``SPEAKER_01``, a party's consecutive turns are one turn
(as ``diarized_turns`` merges them), timed at a steady speaking rate. No agent name is given (the
dialogues' agents have none in queue_log). A decision is *confident* when its confidence is at
least the review threshold (``review.low_role_confidence``, 0.6 by default); under it the call
goes to the low-confidence review queue, which is the right place for a decision that is not sure.

Three times per dialogue: as written; with the first turn dropped, so the other party speaks
first (in STAR and CrossWOZ the customer opens; dropping that turn makes the agent open) — a
decision that rests on who spoke first flips between the two, one made on what the parties say
does not; and its first 4 turns only, a short call with little evidence, where an honest
confidence stays low more often.

With ``--store DIR`` (repeatable), also the mono calls of a store made from these dialogues and
run through the pipeline (``benchmarks/heard_store.py`` writes one; ``DIR`` holds its
``expected.json``, with each call's dialogue ``key``, and the run's ``run.db``): the roles are
decided again on the turns as they were heard and diarized, stored in the run, and each dialogue
line is judged by the role of the words heard for it (``qa.bench.dialogue.score_dialogue``) —
with the roles the run stored, with the roles decided now, and with the best mapping of the
diarized speakers (the ceiling that roles alone can reach).

Tune only on the development halves (``*.dev.jsonl``); the held-out halves are reported, never
read to fix a miss.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from asr.roles import apply_roles, assign_roles
from calldata import Role, Turn
from qa.bench.dialogue import ScriptLine, score_dialogue
from qa.config import ReviewSettings
from qa.db import open_db
from qa.results.store import load_transcript

ROOT = Path(__file__).resolve().parent.parent
DIALOGUES = ROOT / "benchmarks" / "dialogues"
SETS = {
    "dev": ("star.dev.jsonl", "crosswoz.dev.jsonl"),
    "heldout": ("star.heldout.jsonl", "crosswoz.heldout.jsonl"),
}
THRESHOLD = ReviewSettings().low_role_confidence
VARIANTS = ("as written", "first turn dropped", "first 4 turns only")
#: seconds per English word / per Han character, and between turns
_WORD_S, _HAN_S, _GAP_S = 0.35, 0.22, 0.5


@dataclass(frozen=True)
class Dialogue:
    id: str
    set: str
    language: str
    inbound: bool
    turns: tuple[tuple[str, str], ...]  # (role, text), in order


@dataclass(frozen=True)
class Outcome:
    id: str
    variant: str  # one of VARIANTS
    right: bool
    confident: bool
    confidence: float
    first_is_agent: bool
    reasons: tuple[str, ...]


def load_jsonl(name: str, half: str) -> Iterator[Dialogue]:
    source = name.split(".")[0]
    for line in (DIALOGUES / name).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        turns = tuple((t["role"], t["text"]) for t in row["turns"] if t["text"].strip())
        yield Dialogue(
            row["id"],
            f"{source} {half}",
            row["language"],
            row.get("direction", "inbound") == "inbound",
            turns,
        )


def load_samples() -> Iterator[Dialogue]:
    calls = yaml.safe_load((ROOT / "samples" / "calls.yaml").read_text(encoding="utf-8"))
    for call in calls["calls"] if isinstance(calls, dict) else calls:
        turns = tuple((role, text) for role, text in call["lines"])
        direction = call.get("direction", "inbound")
        yield Dialogue(
            call["key"], "sample scripts (ours)", call["language"], direction == "inbound", turns
        )


def as_mono_turns(parties: Sequence[tuple[str, str]]) -> tuple[list[Turn], dict[str, Role]]:
    """The dialogue as diarized mono turns, and the true role of each speaker label."""
    merged: list[list[str]] = []
    for role, text in parties:
        if merged and merged[-1][0] == role:
            merged[-1][1] += " " + text
        else:
            merged.append([role, text])
    labels: dict[str, str] = {}
    turns: list[Turn] = []
    clock = 0.0
    for index, (role, text) in enumerate(merged):
        label = labels.setdefault(role, f"SPEAKER_{len(labels):02d}")
        han = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
        length = han * _HAN_S + len(text.split()) * _WORD_S if han else len(text.split()) * _WORD_S
        end = clock + max(length, 0.4)
        turns.append(
            Turn(
                index=index,
                speaker=label,
                role=Role.UNKNOWN,
                start=round(clock, 3),
                end=round(end, 3),
                text=text,
                confidence=0.9,
            )
        )
        clock = end + _GAP_S
    return turns, {label: Role(role) for role, label in labels.items()}


def judge(dialogue: Dialogue, variant: str, parties: Sequence[tuple[str, str]]) -> Outcome | None:
    turns, truth = as_mono_turns(parties)
    if len(truth) < 2:
        return None
    result = assign_roles(turns, inbound=dialogue.inbound)
    right = all(result.mapping.get(label) == role for label, role in truth.items())
    return Outcome(
        dialogue.id,
        variant,
        right,
        result.confidence >= THRESHOLD,
        result.confidence,
        truth[turns[0].speaker] is Role.AGENT,
        result.reasons,
    )


def run(dialogues: Sequence[Dialogue]) -> dict[str, list[Outcome]]:
    by_set: dict[str, list[Outcome]] = {}
    for dialogue in dialogues:
        for variant, parties in (
            ("as written", dialogue.turns),
            ("first turn dropped", dialogue.turns[1:]),
            ("first 4 turns only", dialogue.turns[:4]),
        ):
            outcome = judge(dialogue, variant, parties)
            if outcome is not None:
                by_set.setdefault(dialogue.set, []).append(outcome)
    return by_set


def summary(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for variant in VARIANTS:
        chosen = [o for o in outcomes if o.variant == variant]
        count = Counter(
            ("right" if o.right else "wrong", "confident" if o.confident else "low") for o in chosen
        )
        rows[variant] = {
            "dialogues": len(chosen),
            "agent_first": sum(o.first_is_agent for o in chosen),
            "right": count["right", "confident"] + count["right", "low"],
            "confident_right": count["right", "confident"],
            "confident_wrong": count["wrong", "confident"],
            "low_right": count["right", "low"],
            "low_wrong": count["wrong", "low"],
            "mean_confidence": round(sum(o.confidence for o in chosen) / max(len(chosen), 1), 3),
        }
    return rows


def calibration(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """Share right per confidence band: an honest confidence is right about that often."""
    bands = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))
    table = []
    for low, high in bands:
        chosen = [o for o in outcomes if low <= o.confidence < high]
        if chosen:
            table.append(
                {
                    "band": f"{low:.1f}-{min(high, 1.0):.1f}",
                    "n": len(chosen),
                    "right": sum(o.right for o in chosen),
                }
            )
    return table


def stored_calls(store: Path) -> list[dict[str, Any]]:
    """The mono calls of a run on a store of these dialogues: roles as stored and as decided now."""
    lines_of = {
        row["id"]: [ScriptLine(t["role"], t["text"]) for t in row["turns"] if t["text"].strip()]
        for path in sorted(DIALOGUES.glob("*.jsonl"))
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())
        if "turns" in row
    }
    expected = json.loads((store / "expected.json").read_text(encoding="utf-8"))["calls"]
    rows = []
    db = open_db(store / "run.db")
    try:
        for call in expected:
            if call["layout"] != "mono":
                continue
            stored = load_transcript(db, call["call_id"])
            if stored is None:
                continue
            lines, language = lines_of[call["key"]], call["language"]
            result = assign_roles(stored.turns, agent_name=call.get("agent_name"), inbound=True)
            now = stored.model_copy(
                update={"turns": tuple(apply_roles(stored.turns, result.mapping))}
            )
            before = score_dialogue(lines, stored, language)
            after = score_dialogue(lines, now, language)
            ceiling = score_dialogue(lines, stored, language, by_speaker=True)
            rows.append(
                {
                    "key": call["key"],
                    "lines_heard": after.lines_heard,
                    "stored_right": before.lines_right,
                    "stored_confidence": stored.role_confidence,
                    "now_right": after.lines_right,
                    "now_confidence": result.confidence,
                    "ceiling_right": ceiling.lines_right,
                }
            )
    finally:
        db.conn.close()
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", action="store_true", help="score the held-out halves too")
    parser.add_argument("--json", action="store_true", help="one JSON report on stdout")
    parser.add_argument("--list", action="store_true", help="list every wrong or low decision")
    parser.add_argument(
        "--store", type=Path, action="append", default=[], help="a run of a dialogue store (DIR)"
    )
    args = parser.parse_args(argv)
    dialogues = [d for name in SETS["dev"] for d in load_jsonl(name, "dev")]
    if args.heldout:
        dialogues += [d for name in SETS["heldout"] for d in load_jsonl(name, "held-out")]
    dialogues += list(load_samples())
    by_set = run(dialogues)
    report = {
        "threshold": THRESHOLD,
        "sets": {name: summary(outcomes) for name, outcomes in by_set.items()},
        "calibration": {name: calibration(outcomes) for name, outcomes in by_set.items()},
    }
    report["stores"] = {str(store): stored_calls(store) for store in args.store}
    if args.list:
        report["misses"] = [
            {
                "set": name,
                "id": o.id,
                "variant": o.variant,
                "right": o.right,
                "confidence": o.confidence,
                "reasons": list(o.reasons),
            }
            for name, outcomes in by_set.items()
            if "held-out" not in name  # never read the held-out misses to tune on them
            for o in outcomes
            if not (o.right and o.confident)
        ]
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    print(f"review threshold {THRESHOLD}: a decision under it goes to the low-confidence queue")
    header = (
        "set",
        "variant",
        "n",
        "agent 1st",
        "right",
        "conf. right",
        "conf. WRONG",
        "low right",
        "low wrong",
        "mean conf.",
    )
    print(" | ".join(header))
    for name, rows in report["sets"].items():
        for variant, row in rows.items():
            print(
                " | ".join(
                    str(v)
                    for v in (
                        name,
                        variant,
                        row["dialogues"],
                        row["agent_first"],
                        row["right"],
                        row["confident_right"],
                        row["confident_wrong"],
                        row["low_right"],
                        row["low_wrong"],
                        row["mean_confidence"],
                    )
                )
            )
    for name, table in report["calibration"].items():
        bands = ", ".join(f"{b['band']}: {b['right']}/{b['n']}" for b in table)
        print(f"calibration {name}: {bands}")
    for store, calls in report["stores"].items():
        print(f"{store}: mono calls, dialogue lines on the right role (of heard) and confidence")
        print("call | lines | as stored | now | best speaker mapping")
        for c in calls:
            print(
                f"{c['key']} | {c['lines_heard']} | {c['stored_right']} ({c['stored_confidence']})"
                f" | {c['now_right']} ({c['now_confidence']}) | {c['ceiling_right']}"
            )
    for miss in report.get("misses", []):
        print(
            f"- {miss['set']} {miss['id']} ({miss['variant']}): "
            f"{'right' if miss['right'] else 'WRONG'} at {miss['confidence']:.2f}; "
            f"{'; '.join(miss['reasons'])}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
