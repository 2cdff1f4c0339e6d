#!/usr/bin/env python3
"""Compile scoring's per-call modules with mypyc into scoring/_compiled/ (see scoring/native.py).

Run by ``make setup`` whenever a module of scoring, sentences or calldata changed::

    .venv/bin/python scripts/compile-scoring.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.native import ROOT, build, fingerprint

folder = build()
count = len(list(folder.glob("*" + fingerprint()["extension"])))
print(f"scoring: {count} compiled modules in {folder.relative_to(ROOT)}")
