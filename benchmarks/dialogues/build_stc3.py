"""Build clean-zh-stc3.jsonl.gz: the helpdesk turns of real Mandarin customer-service dialogues.

Usage:
  python build_stc3.py data.zip                    # build both sets, check stc3.manifest.json
  python build_stc3.py data.zip --write-manifest   # (once) record what was built
``data.zip`` is the NTCIR-14 STC-3 DQ/ND dataset (github sakai-lab/stc3-dataset, mirrored as
SB233/stc3-dataset; sources and terms: README.md). It holds 4,090 Weibo dialogues between
customers and the official helpdesk accounts of Chinese companies (China Telecom, China Unicom,
...). Only the helpdesk turns are kept (role ``agent``; each utterance its own turn, empty ones -
emoji or pictures - dropped; dialogues without helpdesk text are left out): the customers'
turns are full of real complaints, which no reader here has labelled, while every complaint
word in an agent turn is, by the labelling rules, never the customer's complaint. So any
complaint flag on this set is false, and an agent-taboo flag is false unless reading the
flagged turn shows a swear word or slur.

The dialogue text is crawled Weibo posts; the dataset's terms license only its annotations
(CC-BY-4.0). So the built file is not committed (.gitignore): ``stc3.manifest.json`` is, and
fixes exactly which dialogues are in each half (ids and sha256 of the rows), so the held-out
half cannot change after it was recorded.

It also builds ``complaints-zh-stc3.{dev,heldout}.jsonl`` (not committed either) for the
complaint flag's recall: the customer turns only of 60 dialogues chosen by ``rank(id,
"complaints-zh")``, labelled by reading under the README's rules; the labels (no text) are
committed in ``labels/stc3.manual.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

from common import HERE, is_heldout, load_manual, merge_labels, rank, split, write_jsonl

OUT = HERE / "clean-zh-stc3.jsonl.gz"
MANIFEST = HERE / "stc3.manifest.json"
MEMBERS = ("data/train_data_cn.json", "data/test_data_cn.json")
COMPLAINTS = 60


def row(dialogue: dict, sender: str = "helpdesk") -> dict | None:
    role = "agent" if sender == "helpdesk" else "customer"
    turns = [
        {"role": role, "text": u.strip()}
        for t in dialogue["turns"]
        if t["sender"] == sender
        for u in t["utterances"]
        if u.strip()
    ]
    if not turns:
        return None
    return {
        "id": f"stc3-{dialogue['id']}",
        "source": "stc3",
        "language": "zh",
        "direction": "inbound",
        "turns": turns,
    }


def read(data_zip: Path) -> list[dict]:
    with zipfile.ZipFile(data_zip) as z:
        return [d for m in MEMBERS for d in json.loads(z.read(m).decode("utf-8"))]


def load(data_zip: Path) -> list[dict]:
    return [r for r in (row(d) for d in read(data_zip)) if r is not None]


def complaints(data_zip: Path) -> list[dict]:
    """The customer turns of the first COMPLAINTS dialogues in a fixed pseudo-random order,
    with the labels read for them (labels/stc3.manual.json)."""
    rows = [r for r in (row(d, "customer") for d in read(data_zip)) if r is not None]
    rows.sort(key=lambda r: rank(r["id"], "complaints-zh"))
    manual = load_manual("stc3")
    chosen = rows[:COMPLAINTS]
    missing = [r["id"] for r in chosen if r["id"] not in manual]
    if missing:
        raise SystemExit(f"labels/stc3.manual.json: no label for {missing[:3]}; read and add them")
    return [merge_labels(r, manual) for r in chosen]


def digest(rows: list[dict]) -> str:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(rows: list[dict]) -> dict:
    dev = [r for r in rows if not is_heldout(r["id"])]
    held = [r for r in rows if is_heldout(r["id"])]
    return {
        "source": "github SB233/stc3-dataset (mirror of sakai-lab/stc3-dataset) data.zip",
        "commit": "90da527709dab26a4912a70746c09da06518d46b",
        "data_zip_sha256": "",
        "dialogues": len(rows),
        "dev": {"n": len(dev), "sha256": digest(dev)},
        "heldout": {"n": len(held), "sha256": digest(held), "ids": [r["id"] for r in held]},
    }


def main(argv: list[str]) -> int:
    data_zip = Path(argv[0])
    rows = load(data_zip)
    found = manifest(rows)
    found["data_zip_sha256"] = hashlib.sha256(data_zip.read_bytes()).hexdigest()
    if "--write-manifest" in argv:
        MANIFEST.write_text(json.dumps(found, ensure_ascii=False, indent=1) + "\n", "utf-8")
    else:
        want = json.loads(MANIFEST.read_text(encoding="utf-8"))
        if want != found:
            print(f"{data_zip}: the built dialogues differ from {MANIFEST.name}", file=sys.stderr)
            return 1
    write_jsonl(OUT, rows)
    print(f"{OUT.name}: {len(rows)} dialogues ({found['heldout']['n']} held-out)")
    for part, part_rows in zip(("dev", "heldout"), split(complaints(data_zip)), strict=True):
        write_jsonl(HERE / f"complaints-zh-stc3.{part}.jsonl", part_rows)
        print(f"complaints-zh-stc3.{part}.jsonl: {len(part_rows)} dialogues")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
