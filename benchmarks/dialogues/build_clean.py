"""Build the clean false-flag corpora and the utterance complaint set.

Usage:
  python build_clean.py --star STAR_DIR \
      --banking77 train.csv test.csv \
      --dstc11 development.jsonl test-banking.jsonl test-finance.jsonl \
      --crosswoz val.json.zip test.json.zip \
      --kdconv film_dev.json film_test.json music_dev.json music_test.json \
               travel_dev.json travel_test.json
Writes clean-en.jsonl.gz, clean-zh.jsonl.gz, clean-{en,zh}.sample.jsonl and
complaints-en-utterances.{dev,heldout}.jsonl. Sources and licences: README.md.
Nothing in the labelled sets (star.*, crosswoz.*, complaints-*) is put in the clean
files; the banking77 / DSTC11 utterances that were read for complaints
(labels/utterances.manual.json) go to complaints-en-utterances only.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import build_crosswoz
import build_star
from common import HERE, load_manual, rank, split, write_jsonl

STAR_CLEAN_MAX = 3000
SAMPLE = 200


def one_turn(did: str, source: str, text: str) -> dict:
    return {
        "id": did,
        "source": source,
        "language": "en",
        "direction": "inbound",
        "turns": [{"role": "customer", "text": text.strip()}],
    }


def english(a) -> tuple[list[dict], list[dict]]:
    read = json.loads((HERE / "labels" / "utterances.manual.json").read_text(encoding="utf-8"))
    pos, neg = set(read["complaint_true"]), set(read["read_complaint_false"])
    utts: list[dict] = []
    for path in a.banking77:
        part = "test" if "test" in Path(path).name else "train"
        with open(path, newline="", encoding="utf-8") as f:
            for k, row in enumerate(csv.DictReader(f)):
                utts.append(one_turn(f"banking77-{part}-{k}", "banking77", row["text"]))
    for path in a.dstc11:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            u = json.loads(line)
            utts.append(one_turn(f"dstc11-{u['utterance_id']}", "dstc11", u["utterance"]))
    clean, compl = [], []
    for u in utts:
        t = u["turns"][0]["text"]
        if t in pos or t in neg:
            u["labels"] = {"complaint": t in pos}
            compl.append(u)
        else:
            clean.append(u)
    rows, chosen, compl_star = build_star.select(a.star)
    used = set(chosen) | set(compl_star)
    angry = _angry_ids(a.star)
    star = [
        rows[i]
        for i in sorted(rows, key=lambda i: rank(i, "star-clean"))
        if i not in used and i not in angry
    ][:STAR_CLEAN_MAX]
    manual = load_manual(
        "clean"
    )  # dialogues that, read after a screen, hold a complaint or agent profanity
    for r in star:
        r.pop("labels", None)
        r.pop("meta", None)
        if r["id"] in manual:
            m = manual[r["id"]]
            r["labels"] = {k: m[k] for k in ("complaint", "profanity_by_agent") if k in m}
            if m.get("notes"):
                r["notes"] = m["notes"]
    return star + clean, compl


def _angry_ids(raw: Path) -> set[str]:
    out = set()
    for f in raw.glob("dialogues/*.json"):
        d = json.loads(f.read_text(encoding="utf-8"))
        if build_star.persona(d):
            out.add(f"star-{d['DialogueID']}")
    return out


def chinese(a) -> list[dict]:
    rows = build_crosswoz.load([Path(p) for p in a.crosswoz])
    labelled = set(build_crosswoz.select(rows))
    out = []
    for i in sorted(rows):
        if i not in labelled:
            r = rows[i]
            r.pop("labels", None)
            r.pop("meta", None)
            out.append(r)
    for path in a.kdconv:
        name = Path(path).stem  # e.g. kdconv_film_dev or film_dev
        tag = name.replace("kdconv_", "")
        for k, d in enumerate(json.loads(Path(path).read_text(encoding="utf-8"))):
            turns = [
                {"role": "customer" if j % 2 == 0 else "agent", "text": m["message"].strip()}
                for j, m in enumerate(d["messages"])
                if m["message"].strip()
            ]
            out.append(
                {
                    "id": f"kdconv-{tag}-{k}",
                    "source": "kdconv",
                    "language": "zh",
                    "direction": "inbound",
                    "turns": turns,
                }
            )
    return out


def sample(rows: list[dict], salt: str) -> list[dict]:
    by_src: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: rank(r["id"], salt)):
        by_src.setdefault(r["source"], []).append(r)
    out, srcs = [], sorted(by_src)
    while len(out) < SAMPLE and any(by_src.values()):
        for s in srcs:
            if by_src[s] and len(out) < SAMPLE:
                out.append(by_src[s].pop(0))
    return sorted(out, key=lambda r: r["id"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--star", type=Path, required=True)
    ap.add_argument("--banking77", nargs="+", required=True)
    ap.add_argument("--dstc11", nargs="+", required=True)
    ap.add_argument("--crosswoz", nargs=2, required=True)
    ap.add_argument("--kdconv", nargs="+", required=True)
    a = ap.parse_args()
    en, compl = english(a)
    zh = chinese(a)
    write_jsonl(HERE / "clean-en.jsonl.gz", en)
    write_jsonl(HERE / "clean-zh.jsonl.gz", zh)
    write_jsonl(HERE / "clean-en.sample.jsonl", sample(en, "clean-en-sample"))
    write_jsonl(HERE / "clean-zh.sample.jsonl", sample(zh, "clean-zh-sample"))
    dev, held = split(compl)
    write_jsonl(HERE / "complaints-en-utterances.dev.jsonl", dev)
    write_jsonl(HERE / "complaints-en-utterances.heldout.jsonl", held)
    print(
        "clean-en",
        len(en),
        "clean-zh",
        len(zh),
        "complaint utterances dev",
        len(dev),
        "heldout",
        len(held),
    )


if __name__ == "__main__":
    main()
