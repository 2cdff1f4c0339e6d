"""Shared helpers for the build_<source>.py scripts (standard library only)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABEL_KEYS = (
    "identity_verification",
    "greeting",
    "closing",
    "satisfaction_invite",
    "complaint",
    "profanity_by_agent",
)


def is_heldout(dialogue_id: str) -> bool:
    """The README's split rule: odd first 32 bits of sha256(id) -> held-out."""
    h = hashlib.sha256(dialogue_id.encode("utf-8")).hexdigest()
    return int(h[:8], 16) % 2 == 1


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    dev = [r for r in rows if not is_heldout(r["id"])]
    held = [r for r in rows if is_heldout(r["id"])]
    return dev, held


def rank(dialogue_id: str, salt: str = "") -> str:
    """Deterministic pseudo-random order for selecting dialogues."""
    return hashlib.sha256((salt + dialogue_id).encode("utf-8")).hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False, sort_keys=False) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.GzipFile(filename="", mode="wb", fileobj=open(path, "wb"), mtime=0) as f:
            f.write(text.encode("utf-8"))
    else:
        path.write_text(text, encoding="utf-8")


def load_manual(name: str) -> dict:
    p = HERE / "labels" / f"{name}.manual.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def merge_labels(row: dict, manual: dict) -> dict:
    """Put mechanical labels (already in row['labels']) and manual ones in key order."""
    m = manual.get(row["id"], {})
    labels = dict(row.get("labels", {}))
    for k in LABEL_KEYS:
        if k in m:
            labels[k] = m[k]
    row["labels"] = {k: labels[k] for k in LABEL_KEYS if k in labels}
    if m.get("notes"):
        row["notes"] = m["notes"]
    return row
