"""``qa bench verdicts``: how often the shipped rubrics' verdicts are right on conversations this
project did not write, and how often they raise a flag on clean ones.

Sets (``benchmarks/dialogues/``, see its README for sources, licences and labelling rules):

- labelled real dialogues, each split into ``dev`` (tune on it) and ``heldout`` (never tune on
  it): STAR (English task dialogues; identity before a change from the logged API calls),
  CrossWOZ (Mandarin), and real customer complaints (English);
- clean real text for the false-flag rate: ``clean-en`` (STAR, banking77, DSTC11) and
  ``clean-zh`` (CrossWOZ, KdConv) and ``clean-zh-lccc`` (LCCC Weibo chit-chat, no 200-dialogue
  sample), split by the same rule; every flag raised on a dialogue not
  labelled a complaint counts as false. ``clean-zh-stc3`` (the helpdesk turns of real Weibo
  customer-service dialogues) and ``complaints-zh-stc3`` (their customers' turns, 60 read for
  complaints) are built locally by ``build_stc3.py`` and not committed (the text is not
  licensed for redistribution): scored when built, skipped and named in ``not_built`` otherwise.

Per item: accuracy over every labelled dialogue, and precision / recall of **fail** verdicts (a
fail is what a reviewer acts on); for flags, precision / recall of raising it. A store from audio
(``--audio``: the sample store, or ``--store``/``--expected``, e.g. the held-out store of real
dialogue text that ``benchmarks/heard_store.py`` generates) runs the real pipeline and compares
with its ``expected.json`` (:func:`qa.bench.audio_verdicts.store_verdicts`)::

    report = run_verdict_bench(VerdictBenchOptions(parts=("dev", "heldout")))
    report.sets[0].items["identity_verification"].recall
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from calldata import Direction, Scorecard, Verdict
from qa.transcript_files import FileDialogue, read_transcripts
from scoring import Rubric, load_rubrics, score_call, select_rubrics
from sentences import encode_turns, load_encoder

REPO = Path(__file__).resolve().parents[2]
DIALOGUES = REPO / "benchmarks" / "dialogues"
#: labelled sets: file stem → language
LABELLED = {
    "star": "en",
    "crosswoz": "zh",
    "complaints-en": "en",
    "complaints-en-utterances": "en",
    "complaints-zh-stc3": "zh",
}
CLEAN = {"clean-en": "en", "clean-zh": "zh", "clean-zh-lccc": "zh", "clean-zh-stc3": "zh"}
#: sets built locally from a source whose text may not be committed (README)
LOCAL = ("clean-zh-stc3", "complaints-zh-stc3")
ITEMS = ("identity_verification", "greeting", "closing", "satisfaction_invite")
#: flags that must not be raised on clean text: a complaint (and the agent's taboo wording)
SEVERE_FLAGS = ("complaint",)
#: raised on words that are there (strong language), counted apart: not false, but told
REPORTED_FLAGS = ("escalation_risk",)
_MISSES_SHOWN = 40


def is_heldout(dialogue_id: str) -> bool:
    """The split rule of benchmarks/dialogues/README.md: odd first 32 bits of sha256(id)."""
    return int(hashlib.sha256(dialogue_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 1


@dataclass(frozen=True)
class VerdictBenchOptions:
    """What ``qa bench verdicts`` runs; every field has a default."""

    dialogues: Path = DIALOGUES
    rubrics: Path = REPO / "rubrics"
    parts: tuple[str, ...] = ("dev", "heldout")
    clean: bool = True  # the false-flag rate on clean-*.jsonl.gz
    clean_sample: bool = False  # ... on the committed 200-dialogue samples instead


@dataclass
class Tally:
    """Agreement on one item or flag; positive = a fail verdict / a raised flag."""

    name: str
    cases: int = 0
    agree: int = 0
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ident: str, want: str, got: str, positive: str, why: str) -> None:
        self.cases += 1
        self.agree += want == got
        self.true_pos += want == positive and got == positive
        self.false_pos += want != positive and got == positive
        self.false_neg += want == positive and got != positive
        if want != got and len(self.misses) < _MISSES_SHOWN:
            self.misses.append(f"{ident}: {want} → {got} ({why[:140]})")

    @property
    def accuracy(self) -> float | None:
        return self.agree / self.cases if self.cases else None

    @property
    def precision(self) -> float | None:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else None

    @property
    def recall(self) -> float | None:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else None

    def to_json(self) -> dict[str, object]:
        return {
            **asdict(self),
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass
class SetReport:
    """One labelled set (e.g. ``star.heldout``)."""

    name: str
    language: str
    dialogues: int
    items: dict[str, Tally] = field(default_factory=dict)
    flags: dict[str, Tally] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "language": self.language,
            "dialogues": self.dialogues,
            "items": {name: tally.to_json() for name, tally in self.items.items()},
            "flags": {name: tally.to_json() for name, tally in self.flags.items()},
        }


@dataclass
class CleanReport:
    """Flags raised on clean real text (dialogues labelled a complaint left out)."""

    name: str
    language: str
    dialogues: int
    false_flags: int = 0
    by_flag: dict[str, int] = field(default_factory=dict)
    hints: int = 0  # low-severity hints from guesses at misheard words (not flags)
    strong_language: int = 0  # dialogues with an escalation_risk flag (words that are there)
    true_on_reading: int = 0  # flagged, but a real complaint / taboo when read (adjudicated)
    examples: list[str] = field(default_factory=list)

    @property
    def per_thousand(self) -> float:
        return 1000 * self.false_flags / self.dialogues if self.dialogues else 0.0


@dataclass
class AudioCall:
    """One call: how its verdicts compare, where review would see it, and what was heard."""

    key: str
    call_id: str
    language: str
    layout: str
    format: str
    scored: bool
    compared: int = 0
    right: int = 0
    wrong: list[str] = field(default_factory=list)  # "item: want → got (reason; evidence)"
    queues: dict[str, str] = field(default_factory=dict)  # review queue → its reason
    confidence: float | None = None  # the transcript's mean word probability
    role_confidence: float | None = None
    heard: list[str] = field(default_factory=list)  # "  12.3 agent  0.71  text"


@dataclass
class AudioReport:
    """Per language, the verdicts' agreement (``sets``); per call, the details."""

    name: str
    sets: list[SetReport] = field(default_factory=list)
    calls: list[AudioCall] = field(default_factory=list)
    low_confidence: float = 0.6  # the site's [review] low_confidence threshold
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "sets": [s.to_json() for s in self.sets],
            "calls": [asdict(call) for call in self.calls],
            "low_confidence": self.low_confidence,
            "seconds": round(self.seconds, 1),
        }


@dataclass
class VerdictReport:
    """Everything ``qa bench verdicts`` measured."""

    options: VerdictBenchOptions
    sets: list[SetReport] = field(default_factory=list)
    clean: list[CleanReport] = field(default_factory=list)
    audio: AudioReport | None = None  # a store from audio (qa.bench.audio_verdicts)
    not_built: list[str] = field(default_factory=list)  # LOCAL sets not built here
    seconds: float = 0.0
    sentences: int = 0
    encode_seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        options = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self.options).items()}
        return {
            "options": options,
            "sets": [s.to_json() for s in self.sets],
            "clean": [{**asdict(c), "per_thousand": c.per_thousand} for c in self.clean],
            "not_built": self.not_built,
            "audio": self.audio.to_json() if self.audio else None,
            "seconds": round(self.seconds, 1),
            "sentences": self.sentences,
            "encode_seconds": round(self.encode_seconds, 1),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


def score_dialogues(
    dialogues: Sequence[FileDialogue], rubrics: Sequence[Rubric], report: VerdictReport
) -> list[tuple[FileDialogue, Scorecard | None]]:
    """Score each dialogue with the first rubric that applies (sentence vectors encoded once,
    as the pipeline does; the time is added to the report)."""
    encoder = load_encoder()
    scored = []
    for dialogue in dialogues:
        call = dialogue.call()
        started = time.perf_counter()
        turns = dialogue.transcript.turns
        vectors = encode_turns(encoder, [(t.index, t.text) for t in turns])
        report.encode_seconds += time.perf_counter() - started
        report.sentences += len(vectors)
        chosen = select_rubrics(rubrics, call, dialogue.transcript.language)
        card = score_call(chosen[0], dialogue.transcript, call, vectors=vectors) if chosen else None
        scored.append((dialogue, card))
    return scored


def _raised(card: Scorecard, flag: str) -> bool:
    return any(f.id == flag and not f.hint for f in card.flags)


def tally_set(
    name: str, language: str, scored: Iterable[tuple[FileDialogue, Scorecard | None]]
) -> SetReport:
    """Compare verdicts with labels: items (pass/fail/na), the complaint flag, agent profanity."""
    pairs = [(d, c) for d, c in scored if c is not None]
    report = SetReport(name, language, len(pairs))
    for dialogue, card in pairs:
        labels = dialogue.labels
        present = {result.id for result in card.items}
        for item in ITEMS:
            if item not in labels or item not in present:  # a rubric without the item
                continue
            result = card.item(item)
            tally = report.items.setdefault(item, Tally(item))
            tally.add(dialogue.id, str(labels[item]), result.result.value, "fail", result.reason)
        if "complaint" in labels:
            want = "raised" if labels["complaint"] else "not"
            got = "raised" if _raised(card, "complaint") else "not"
            why = "; ".join(
                f"{f.id} {f.severity}: " + " | ".join(e.text[:60] for e in f.evidence[:2])
                for f in card.flags
            )
            report.flags.setdefault("complaint", Tally("complaint")).add(
                dialogue.id, want, got, "raised", why or "no flag"
            )
        if "profanity_by_agent" in labels:
            want = "fail" if labels["profanity_by_agent"] else "pass"
            result = card.item("no_forbidden_phrases")
            report.items.setdefault("no_forbidden_phrases", Tally("no_forbidden_phrases")).add(
                dialogue.id, want, result.result.value, "fail", result.reason
            )
    return report


def load_adjudications(folder: Path) -> dict[str, dict[str, object]]:
    """Flags raised on clean text and then read by the labelling rules (README), by id:
    ``{"complaint": bool, "taboo_by_agent": bool, "reason": str}``; none when not adjudicated."""
    path = folder / "labels" / "clean.adjudicated.json"
    if not path.is_file():
        return {}
    found: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return found


def tally_clean(
    name: str,
    language: str,
    scored: Iterable[tuple[FileDialogue, Scorecard | None]],
    adjudicated: dict[str, dict[str, object]] | None = None,
) -> CleanReport:
    """Flags raised on clean text; dialogues the labeller marked a complaint are left out, and
    a flag that reading showed true (``adjudicated``) is counted apart, not as false."""
    adjudicated = adjudicated or {}
    pairs = [(d, c) for d, c in scored if c is not None and not d.labels.get("complaint")]
    report = CleanReport(name, language, len(pairs))
    for dialogue, card in pairs:
        read = adjudicated.get(dialogue.id, {})
        bad = [
            f
            for f in card.flags
            if f.id in SEVERE_FLAGS
            and not f.hint
            and not (f.id == "complaint" and read.get("complaint"))
        ]
        taboo = card.item("no_forbidden_phrases").result is Verdict.FAIL
        if taboo and not read.get("taboo_by_agent"):
            bad_names = [f.id for f in bad] + ["no_forbidden_phrases"]
        else:
            bad_names = [f.id for f in bad]
        report.true_on_reading += bool(read) and not bad_names
        report.hints += sum(f.hint for f in card.flags)
        report.strong_language += any(f.id in REPORTED_FLAGS and not f.hint for f in card.flags)
        if not bad_names:
            continue
        report.false_flags += 1
        for flag in bad_names:
            report.by_flag[flag] = report.by_flag.get(flag, 0) + 1
        if len(report.examples) < _MISSES_SHOWN:
            quoted = " | ".join(e.text[:80] for f in bad for e in f.evidence[:1])
            report.examples.append(f"{dialogue.id}: {', '.join(bad_names)} ({quoted})")
    return report


def run_verdict_bench(options: VerdictBenchOptions | None = None) -> VerdictReport:
    """Score every set the options name; see the module docstring."""
    opts = options or VerdictBenchOptions()
    started = time.perf_counter()
    rubrics = load_rubrics(opts.rubrics)
    report = VerdictReport(opts)
    for stem, language in LABELLED.items():
        for part in opts.parts:
            path = opts.dialogues / f"{stem}.{part}.jsonl"
            if not path.is_file():
                if stem in LOCAL:
                    report.not_built.append(path.name)
                continue
            dialogues = read_transcripts(path, language=language)
            scored = score_dialogues(dialogues, rubrics, report)
            report.sets.append(tally_set(f"{stem}.{part}", language, scored))
    if opts.clean:
        adjudicated = load_adjudications(opts.dialogues)
        for stem, language in CLEAN.items():
            name = f"{stem}.sample.jsonl" if opts.clean_sample else f"{stem}.jsonl.gz"
            path = opts.dialogues / name
            if opts.clean_sample and not path.is_file():
                continue  # a corpus without a committed sample runs only in full
            if stem in LOCAL and not path.is_file():
                report.not_built.append(name)
                continue
            every = read_transcripts(path, language=language, direction=Direction.INBOUND)
            for part in opts.parts:
                # the labelled sets' split rule (benchmarks/dialogues/README.md)
                dialogues = [d for d in every if is_heldout(d.id) == (part == "heldout")]
                scored = score_dialogues(dialogues, rubrics, report)
                report.clean.append(tally_clean(f"{name} {part}", language, scored, adjudicated))
    report.seconds = time.perf_counter() - started
    return report
