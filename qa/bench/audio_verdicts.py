"""Verdicts from audio: the whole pipeline (ingest, speech, scoring) and the review queues over a
FreePBX recording store, each call's verdicts compared with an ``expected.json`` in the form
``samples/generate.py`` writes it (per call: ``call_id``, ``key``, ``layout``, ``language``,
``items`` {id: pass|fail|na}, ``flags``). Two stores are made that way: the sample store
(``samples/``, this project's own scripts) and the held-out store of real dialogue text
(``benchmarks/heard_store.py``, generated locally)::

    report = store_verdicts(AudioStore(Path("var/heard/store"), Path("var/heard/expected.json")),
                            rubrics=Path("rubrics"))
    report.sets[0].items["closing"].accuracy, report.calls[0].queues

Only what ``expected.json`` names is compared: a call's listed items, and the complaint flag.
For every call the report also says which review queues it landed in (and why), how sure the
recogniser was (the transcript's mean word probability, and the lowest confidence among the
evidence of each wrong verdict), and what was heard, so a wrong verdict can be told apart as
misheard words, a rubric miss or a questionable label.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from calldata import Flag, ItemResult
from qa.bench.verdicts import AudioCall, AudioReport, SetReport, Tally

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
#: the flags compared with ``expected.json`` (any other flag is not labelled)
COMPARED_FLAGS = ("complaint",)


@dataclass(frozen=True)
class AudioStore:
    """A store to score from audio. ``db``: keep the run's database there (a second run on the
    same database scores only what is new, so a killed run resumes); None: a temporary one."""

    store: Path  # the folder with monitor/, Master.csv and queue_log
    expected: Path
    config: Path = SAMPLES / "demo.toml"  # the site: agents, queues' languages, channel roles
    db: Path | None = None
    name: str = ""

    @classmethod
    def samples(cls, folder: Path = SAMPLES) -> AudioStore:
        """The bundled sample store."""
        return cls(folder / "store", folder / "expected.json", folder / "demo.toml", None, "sample")


def store_verdicts(source: AudioStore, rubrics: Path) -> AudioReport:
    """Run the pipeline (one worker) on ``source``, refresh the review queues, and compare."""
    from qa.config import load_config
    from qa.db import open_db
    from qa.results.store import call_scores, load_transcript
    from qa.review.queues import queue_calls, refresh_queues
    from qa.run.pipeline import run_pipeline

    started = time.perf_counter()
    expected = json.loads(source.expected.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="callqa-verdicts-") as tmp:
        db_path = source.db or Path(tmp) / "verdicts.db"
        config = load_config(source.config).with_overrides(
            {
                "store": source.store / "monitor",
                "cdr_csv": source.store / "Master.csv",
                "queue_log": source.store / "queue_log",
                "db": db_path,
                "rubrics": rubrics,
                "min_age_minutes": 0,
                "workers": 1,
            }
        )
        run_pipeline(config)
        db = open_db(db_path)
        try:
            refresh_queues(db, config.review, config.zone, config.agreement)
            scored = {row.call_id: row for row in call_scores(db)}
            queues: dict[str, dict[str, str]] = {}
            for entry in queue_calls(db):
                queues.setdefault(entry.call_id, {})[entry.queue.value] = entry.reason
            transcripts = {
                call["call_id"]: load_transcript(db, call["call_id"], words=False)
                for call in expected["calls"]
            }
        finally:
            db.conn.close()
    report = AudioReport(source.name or source.store.parent.name)
    report.low_confidence = config.review.low_confidence
    by_language: dict[str, SetReport] = {}
    for call in expected["calls"]:
        language = call["language"]
        tallies = by_language.setdefault(
            language, SetReport(f"{report.name} (audio) {language}", language, 0)
        )
        row = scored.get(call["call_id"])
        found = _compare(call, row.items if row else None, row.flags if row else (), tallies)
        found.queues = queues.get(call["call_id"], {})
        transcript = transcripts.get(call["call_id"])
        if transcript is not None:
            found.confidence = transcript.confidence
            found.role_confidence = transcript.role_confidence
            found.heard = [
                f"{t.start:6.1f} {t.role.value:<8} {t.confidence:.2f}  {t.text}"
                for t in transcript.turns
            ]
        report.calls.append(found)
    report.sets = list(by_language.values())
    report.seconds = time.perf_counter() - started
    return report


def _compare(
    call: dict,  # one call of expected.json
    items: tuple[ItemResult, ...] | None,
    flags: tuple[Flag, ...],
    tallies: SetReport,
) -> AudioCall:
    label = f"{call['key']} ({call['layout']}, {call.get('format', 'wav')})"
    found = AudioCall(
        call["key"], call["call_id"], call["language"], call["layout"],
        call.get("format", "wav"), scored=items is not None,
    )  # fmt: skip
    tallies.dialogues += 1
    for item, want in call["items"].items():
        tally = tallies.items.setdefault(item, Tally(item))
        result = next((i for i in items or () if i.id == item), None)
        got = result.result.value if result else "missing"
        why = result.reason if result else "the call was not scored" if items is None else "no item"
        tally.add(label, want, got, "fail", why)
        found.compared += 1
        if got == want:
            found.right += 1
        else:
            found.wrong.append(f"{item}: {want} → {got} ({why}; {_evidence_note(result)})")
    raised = {f.id for f in flags if not f.hint}
    for flag in COMPARED_FLAGS:
        want = "raised" if flag in call["flags"] else "not"
        got = "raised" if flag in raised else "not"
        evidence = [e for f in flags if f.id == flag for e in f.evidence]
        note = "; ".join(f"{e.text[:60]} ({_pct(e.confidence)})" for e in evidence[:2])
        tallies.flags.setdefault(flag, Tally(flag)).add(label, want, got, "raised", note)
        found.compared += 1
        if got == want:
            found.right += 1
        else:
            found.wrong.append(f"flag {flag}: {want} → {got} ({note or 'no evidence'})")
    return found


def _evidence_note(result: ItemResult | None) -> str:
    """The evidence's lowest word confidence: a wrong verdict on unsure words was maybe misheard."""
    if result is None or not result.evidence:
        return "no evidence"
    known = [e.confidence for e in result.evidence if e.confidence is not None]
    quoted = " | ".join(f"{e.text[:50]!r}" for e in result.evidence[:2])
    return f"evidence {quoted}, lowest confidence {_pct(min(known)) if known else '?'}"


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"
