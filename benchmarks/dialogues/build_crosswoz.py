"""Build crosswoz.{dev,heldout}.jsonl (Mandarin, labelled) from CrossWOZ.

Usage: python build_crosswoz.py VAL_JSON_ZIP TEST_JSON_ZIP [--review FILE]
The zips are data/crosswoz/val.json.zip and test.json.zip of github thu-coai/CrossWOZ
(Apache-2.0, commit df82c9fdff91b9b130f2d6b89110d3870ba6260e). CrossWOZ has no
transactions, so identity_verification is always "na"; the other labels come from
labels/crosswoz.manual.json (README, labelling rules).
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

from common import HERE, load_manual, merge_labels, rank, split, write_jsonl

N_LABELLED = 160


def load(paths: list[Path]) -> dict[str, dict]:
    rows = {}
    for p in paths:
        part = "val" if "val" in p.name else "test"
        with zipfile.ZipFile(p) as z:
            data = json.loads(z.read(z.namelist()[0]))
        for k, v in data.items():
            turns = [
                {
                    "role": "customer" if m["role"] == "usr" else "agent",
                    "text": m["content"].strip(),
                }
                for m in v["messages"]
                if m["content"].strip()
            ]
            did = f"crosswoz-{part}-{k}"
            rows[did] = {
                "id": did,
                "source": "crosswoz",
                "language": "zh",
                "direction": "inbound",
                "turns": turns,
                "labels": {"identity_verification": "na"},
                "meta": {"type": v.get("type")},
            }
    return rows


def select(rows: dict[str, dict]) -> list[str]:
    ok = [i for i in rows if sum(t["role"] == "agent" for t in rows[i]["turns"]) >= 2]
    return sorted(ok, key=lambda i: rank(i, "crosswoz-select"))[:N_LABELLED]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("val", type=Path)
    ap.add_argument("test", type=Path)
    ap.add_argument("--review", type=Path)
    a = ap.parse_args()
    rows = load([a.val, a.test])
    chosen = sorted(select(rows))
    if a.review:
        with open(a.review, "w", encoding="utf-8") as f:
            for i in chosen:
                r = rows[i]
                ag = [t["text"] for t in r["turns"] if t["role"] == "agent"]
                cu = [t["text"] for t in r["turns"] if t["role"] == "customer"]
                f.write(
                    f"## {i}\n A1: {ag[0]}\n A2: {ag[1]}\n ..\n"
                    + "".join(f" A-: {x}\n" for x in ag[-3:])
                    + " C: "
                    + " | ".join(cu)
                    + "\n"
                )
        return
    manual = load_manual("crosswoz")
    labelled = [merge_labels(rows[i], manual) for i in chosen]
    dev, held = split(labelled)
    write_jsonl(HERE / "crosswoz.dev.jsonl", dev)
    write_jsonl(HERE / "crosswoz.heldout.jsonl", held)
    print("crosswoz dev", len(dev), "heldout", len(held))


if __name__ == "__main__":
    main()
