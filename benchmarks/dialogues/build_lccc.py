"""Build clean-zh-lccc.jsonl.gz: LCCC samples (Weibo chit-chat) for the Mandarin false-flag rate.

Usage:
  python build_lccc.py toy_data.json toy_train.txt toy_valid.txt
(the three files of github thu-coai/CDial-GPT ``data/``, MIT; sources: README.md).
The corpus ships text split into characters ("遭 淋 安 逸 了"); the spaces are removed
(Latin words lose their spaces too). Turns alternate customer / agent as in KdConv: there is
no agent, two Weibo users talk. Exact duplicate dialogues are kept once (first seen).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import HERE, write_jsonl


def join(text: str) -> str:
    return "".join(text.split())


def row(did: str, turns: list[str]) -> dict:
    return {
        "id": did,
        "source": "lccc",
        "language": "zh",
        "direction": "inbound",
        "turns": [
            {"role": "customer" if j % 2 == 0 else "agent", "text": t}
            for j, t in enumerate(join(x) for x in turns)
            if t
        ],
    }


def load(toy_data: Path, toy_train: Path, toy_valid: Path) -> list[dict]:
    rows: list[dict] = []
    data = json.loads(toy_data.read_text(encoding="utf-8"))
    for part in ("train", "valid", "test"):
        rows += [row(f"lccc-toy-{part}-{k}", d) for k, d in enumerate(data[part])]
    for tag, path in (("train", toy_train), ("valid", toy_valid)):
        lines = path.read_text(encoding="utf-8").splitlines()
        rows += [row(f"lccc-txt-{tag}-{k}", ln.split("\t")) for k, ln in enumerate(lines)]
    seen: set[str] = set()
    out = []
    for r in rows:
        key = "\n".join(t["text"] for t in r["turns"])
        if len(r["turns"]) >= 2 and key not in seen:
            seen.add(key)
            out.append(r)
    return out


if __name__ == "__main__":
    write_jsonl(HERE / "clean-zh-lccc.jsonl.gz", load(*(Path(p) for p in sys.argv[1:4])))
