"""A held-out phone-call store made from real dialogue text nobody here wrote (issue 13, "from
audio"): held-out STAR (English) and CrossWOZ (Mandarin) dialogues of benchmarks/dialogues/,
spoken by espeak-ng with the sample store's voices and written as a FreePBX store (recordings,
Master.csv, queue_log) by ``samples/generate.py``'s own pieces, so that ``qa run`` ingests it and
``qa bench verdicts --audio --store ... --expected ...`` scores it from audio.

Usage::

    .venv/bin/python benchmarks/heard_store.py                # var/heard/{store,expected.json}
    .venv/bin/python benchmarks/heard_store.py --out /tmp/h   # /tmp/h/{store,expected.json}
    .venv/bin/python benchmarks/heard_store.py --check        # the rule still picks the ids
    .venv/bin/python benchmarks/heard_store.py --part dev     # var/heard-dev/: to tune on
    .venv/bin/qa bench verdicts --audio-only \\
        --store var/heard/store --expected var/heard/expected.json

Only this script and the lists of dialogue ids (``heard_store.ids.json`` for the held-out part,
``heard_store.dev.ids.json`` for the development part) are committed; the audio is generated
(about 17 MB a part; ``var/`` is git-ignored). The development part (``--part dev``: the same
rule on ``star.dev.jsonl`` and ``crosswoz.dev.jsonl``) is the one to look at and tune on; the
held-out part only measures.

Selection rule (written and committed before any of these calls was scored):

- from ``star.heldout.jsonl`` (English) and ``crosswoz.heldout.jsonl`` (Mandarin) only, never a
  development dialogue (the development part, added after the held-out one was scored, applies
  the same rule to ``star.dev.jsonl`` and ``crosswoz.dev.jsonl``);
- a dialogue's length in units is its words (English, split on white space) or its Han
  characters (Mandarin), over all turns; espeak-ng at the sample store's speeds says about 0.5 s
  a unit (0.46–0.52 s measured on the first four dialogues of each file), so 80–240 units is
  40–120 s of speech;
- within that bound, the dialogues in ascending ``sha256(id)`` order (hex digest), the first 12
  English and the first 8 Mandarin; no other choice (not by label, not by content);
- layouts and formats in turn, per language, from :data:`PLAN` (every layout in each format the
  store's layout can hold: GSM 6.10 in WAV is one channel, so not stereo); English calls go to
  the sample site's agents 1001 and 1002 in turn (queue 600), Mandarin ones to 1003 (queue 601).

Labelling rule: a call's expected verdicts are the dialogue's own labels (made by the rules of
``benchmarks/dialogues/README.md`` before this store existed), unchanged: the items
``identity_verification``, ``greeting``, ``closing``, ``satisfaction_invite`` (pass / fail /
na), and the ``complaint`` flag (raised when ``labels.complaint`` is true, else not). Items the
rubric has and the dialogue does not label (``customer_hangs_up_first``, the flags other than
complaint, ...) are not compared: nothing says what they should be. The text is spoken as
written (typos, digits, the corpus's ``#CX`` placeholders and emoticons included); a turn with
no text is left out. Every caller hangs up first (``COMPLETECALLER``), which no label reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # samples/ is not installed

from qa.bench.verdicts import DIALOGUES, ITEMS
from samples.generate import ESPEAK, espeak_version, open_store, speak_calls

REPO = Path(__file__).resolve().parents[1]
PARTS = ("heldout", "dev")
SITE_SPEC = REPO / "samples" / "calls.yaml"  # the sample site: its agents, queues and demo.toml
OUT = {"heldout": REPO / "var" / "heard", "dev": REPO / "var" / "heard-dev"}
#: (source file stem, language, how many calls, queue, agents in turn)
SOURCES = (("star", "en", 12, "600", ("1001", "1002")), ("crosswoz", "zh", 8, "601", ("1003",)))
UNITS = (80, 240)  # words or Han characters: 40-120 s of speech at ~0.5 s a unit
#: (layout, format) in turn: each layout in each format it can hold
PLAN = (
    ("stereo", "wav"),
    ("legs", "wav49"),
    ("mono", "mp3"),
    ("stereo", "mp3"),
    ("legs", "wav"),
    ("mono", "wav49"),
    ("legs", "mp3"),
    ("mono", "wav"),
)
FIRST_CALL = "09:00:00"
CALL_EVERY = timedelta(minutes=6)  # longer than any call with its queue wait
_HAN = re.compile(r"[\u4e00-\u9fff]")


def units(dialogue: dict, language: str) -> int:
    """The dialogue's length: words (English) or Han characters (Mandarin), all turns."""
    texts = [turn["text"] for turn in dialogue["turns"]]
    if language == "zh":
        return sum(len(_HAN.findall(text)) for text in texts)
    return sum(len(text.split()) for text in texts)


def rank(dialogue_id: str) -> str:
    return hashlib.sha256(dialogue_id.encode("utf-8")).hexdigest()


def ids_path(part: str = "heldout") -> Path:
    """The committed list of a part's dialogue ids."""
    name = "heard_store.ids.json" if part == "heldout" else f"heard_store.{part}.ids.json"
    return Path(__file__).resolve().with_name(name)


def read_part(stem: str, part: str = "heldout", folder: Path = DIALOGUES) -> list[dict]:
    path = folder / f"{stem}.{part}.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def select(dialogues: list[dict], language: str, count: int) -> list[dict]:
    """The selection rule (module docstring): the first ``count`` within the length bound, in
    sha256(id) order."""
    low, high = UNITS
    fitting = [d for d in dialogues if low <= units(d, language) <= high]
    return sorted(fitting, key=lambda d: rank(d["id"]))[:count]


def selected_ids(part: str = "heldout", folder: Path = DIALOGUES) -> dict[str, list[str]]:
    """Per source, the dialogue ids the rule picks from the part's committed files."""
    return {
        stem: [d["id"] for d in select(read_part(stem, part, folder), language, count)]
        for stem, language, count, _, _ in SOURCES
    }


def expected_verdicts(labels: dict) -> dict[str, object]:
    """The labelling rule (module docstring): the dialogue's own labels, nothing added."""
    return {
        "items": {item: labels[item] for item in ITEMS if item in labels},
        "flags": ["complaint"] if labels.get("complaint") else [],
    }


def call_scripts(
    ids: dict[str, list[str]], folder: Path = DIALOGUES, part: str = "heldout"
) -> list[dict]:
    """The calls, as ``samples/calls.yaml`` writes them, for the listed dialogues."""
    calls: list[dict] = []
    clock = datetime.combine(date(2000, 1, 1), datetime.strptime(FIRST_CALL, "%H:%M:%S").time())
    for stem, language, _, queue, agents in SOURCES:
        by_id = {d["id"]: d for d in read_part(stem, part, folder)}
        for index, dialogue_id in enumerate(ids[stem]):
            if dialogue_id not in by_id:
                raise SystemExit(f"{dialogue_id} is not in {stem}.{part}.jsonl")
            dialogue = by_id[dialogue_id]
            layout, fmt = PLAN[index % len(PLAN)]
            digits = int(rank(dialogue_id)[:12], 16)
            caller = f"555{digits % 10**7:07d}" if language == "en" else f"139{digits % 10**8:08d}"
            calls.append({
                "key": dialogue_id, "agent": agents[index % len(agents)], "queue": queue,
                "time": f"{clock:%H:%M:%S}", "caller": caller, "layout": layout,
                "format": fmt, "language": language, "hangup": "customer",
                "lines": [(t["role"], t["text"]) for t in dialogue["turns"] if t["text"].strip()],
                "expected": expected_verdicts(dialogue["labels"]),
            })  # fmt: skip
            clock += CALL_EVERY
    return calls


def generate(
    out: Path, ids: dict[str, list[str]], folder: Path = DIALOGUES, part: str = "heldout"
) -> Path:
    """Write ``out/store`` and ``out/expected.json`` for ``ids``; return expected.json's path."""
    spec = yaml.safe_load(SITE_SPEC.read_text(encoding="utf-8"))
    calls = call_scripts(ids, folder, part)
    writer = open_store(out, spec, calls)
    speak_calls(writer, calls)
    writer.write_logs()
    expected = out / "expected.json"
    sources = {stem: f"benchmarks/dialogues/{stem}.{part}.jsonl" for stem, *_ in SOURCES}
    writer.write_expected(expected, espeak_version(), "benchmarks/heard_store.py", sources=sources)
    return expected


def load_ids(part: str = "heldout") -> dict[str, list[str]]:
    found: dict[str, list[str]] = json.loads(ids_path(part).read_text(encoding="utf-8"))["ids"]
    return found


def write_ids(part: str = "heldout") -> None:
    body = {
        "rule": f"benchmarks/heard_store.py (module docstring): the {part} part only, 80-240 "
        "words or Han characters, first by sha256(id)",
        "ids": selected_ids(part),
    }
    text = json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    ids_path(part).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=PARTS, default="heldout", help="which half of the sets")
    parser.add_argument("--out", type=Path, help="for store/, expected.json (default: var/heard…)")
    parser.add_argument(
        "--check", action="store_true", help="only check that the rule picks the committed ids"
    )
    parser.add_argument(
        "--write-ids", action="store_true", help="write the part's ids file from the rule"
    )
    args = parser.parse_args(argv)
    if args.write_ids:
        write_ids(args.part)
        return 0
    if selected_ids(args.part) != load_ids(args.part):
        print(f"{ids_path(args.part)}: the rule now picks other dialogues", file=sys.stderr)
        return 1
    if args.check:
        print(f"the selection rule picks the committed {args.part} ids")
        return 0
    if shutil.which(ESPEAK) is None:
        print("espeak-ng is not installed: apt-get install espeak-ng", file=sys.stderr)
        return 2
    out = args.out or OUT[args.part]
    expected = generate(out, load_ids(args.part), part=args.part)
    print(f"{out / 'store'} and {expected} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
