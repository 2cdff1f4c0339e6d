"""The sample store from audio: the whole pipeline (ingest, speech, scoring) over
``samples/store`` into a temporary database, each call's verdicts compared with
``samples/expected.json`` — every layout the store has (stereo, legs, mono; GSM, mp3)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from qa.bench.verdicts import SetReport, Tally

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def sample_store_verdicts(rubrics: Path, samples: Path = SAMPLES) -> SetReport:
    """Run the pipeline on a copy of the sample store; tally item and flag verdicts."""
    from qa.config import load_config
    from qa.db import open_db
    from qa.results.store import call_scores
    from qa.run.pipeline import run_pipeline

    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    config = load_config(samples / "demo.toml")
    with tempfile.TemporaryDirectory(prefix="callqa-verdicts-") as tmp:
        store = Path(tmp) / "store"
        shutil.copytree(samples / "store", store)
        config = config.with_overrides(
            {
                "store": store / "monitor",
                "cdr_csv": store / "Master.csv",
                "queue_log": store / "queue_log",
                "db": Path(tmp) / "verdicts.db",
                "rubrics": rubrics,
                "min_age_minutes": 0,
            }
        )
        run_pipeline(config)
        db = open_db(Path(tmp) / "verdicts.db")
        scored = {row.call_id: row for row in call_scores(db)}
        db.conn.close()
    report = SetReport("sample-store (audio)", "en+zh", 0)
    for call in expected["calls"]:
        row = scored.get(call["call_id"])
        label = f"{call['key']} ({call['layout']})"
        report.dialogues += 1
        for item, want in call["items"].items():
            tally = report.items.setdefault(item, Tally(item))
            if row is None:
                tally.add(label, want, "missing", "fail", "the call was not scored")
                continue
            result = next((i for i in row.items if i.id == item), None)
            got = result.result.value if result else "missing"
            tally.add(label, want, got, "fail", result.reason if result else "no such item")
        raised = {f.id for f in row.flags if not f.hint} if row else set()
        for flag in ("complaint",):
            want = "raised" if flag in call["flags"] else "not"
            got = "raised" if flag in raised else "not"
            report.flags.setdefault(flag, Tally(flag)).add(label, want, got, "raised", "")
    return report
