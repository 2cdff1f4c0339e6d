"""Transcripts from files: for ``qa score`` (rubric authors; calls transcribed elsewhere) and for
the verdict benchmark's real dialogues.

A file is UTF-8 JSON or JSON Lines, optionally gzip-compressed (``.gz``):

- **turns, one per line** — ``{"role": "agent", "text": "...", "start": 0.0, "end": 2.5}``, with
  ``start``/``end`` optional; exactly what ``qa transcribe --json`` prints, including its final
  summary line (``{"metrics": ..., "language": ...}``), which is read too;
- **dialogues, one per line** — ``{"id": "...", "turns": [...], "language": "en",
  "direction": "inbound", "labels": {...}}`` (``language``, ``direction``, ``labels`` optional);
- **one JSON document** — a list of turns, one dialogue object, or a stored transcript
  (``calldata.Transcript`` as JSON).

``role`` is ``agent``, ``customer`` (``unknown`` is accepted). When every turn has ``start`` and
``end``, the conversation metrics are computed from them; otherwise the transcript has **no
timings**: its metrics are unknown and rubric items on metrics are N/A, never a pass.

    for dialogue in read_transcripts(Path("calls.jsonl"), language="en"):
        dialogue.id, dialogue.transcript, dialogue.direction
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from calldata import Call, Direction, Metrics, Role, Transcript, Turn


class TranscriptFileError(ValueError):
    """A transcript file cannot be read; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class FileDialogue:
    """One conversation read from a file."""

    id: str
    transcript: Transcript
    direction: Direction = Direction.UNKNOWN
    labels: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def call(self, default_direction: Direction = Direction.INBOUND) -> Call:
        """The call to score it as: no recording, no PBX facts (who hung up is unknown);
        ``default_direction`` when the file does not say."""
        direction = self.direction
        if direction is Direction.UNKNOWN:
            direction = default_direction
        return Call(
            call_id=self.id,
            recordings=(f"{self.id}.json",),
            start=datetime(1970, 1, 1, tzinfo=UTC),
            direction=direction,
            language=self.transcript.language,
        )


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        return data.decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise TranscriptFileError(f"{path}: cannot read it ({error})") from error
    except UnicodeDecodeError as error:
        raise TranscriptFileError(f"{path}: not UTF-8 text; save it as UTF-8") from error


def _records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for a JSON document (line 1) or each line of JSON Lines."""
    stripped = text.strip()
    if not stripped:
        raise TranscriptFileError(f"{path}: empty file; give turns or dialogues as JSON")
    try:
        yield 1, json.loads(stripped)
        return
    except json.JSONDecodeError:
        pass  # JSON Lines
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            raise TranscriptFileError(
                f"{path}:{number}: not JSON ({error.msg}); each line must be one JSON object"
            ) from error


def _turn(path: Path, number: int, index: int, record: Any) -> Turn:
    where = f"{path}:{number}"
    if not isinstance(record, dict) or "text" not in record or "role" not in record:
        raise TranscriptFileError(
            f"{where}: a turn needs 'role' (agent or customer) and 'text', e.g. "
            '{"role": "agent", "text": "Hello, thanks for calling."}'
        )
    try:
        role = Role(str(record["role"]).lower())
    except ValueError:
        raise TranscriptFileError(
            f"{where}: role {record['role']!r} is not agent, customer or unknown"
        ) from None
    start, end = record.get("start"), record.get("end")
    try:
        return Turn(
            index=index,
            speaker=str(record.get("speaker") or role.value),
            role=role,
            start=float(start) if start is not None else 0.0,
            end=float(end) if end is not None else 0.0,
            text=str(record["text"]),
            confidence=float(record.get("confidence", 1.0)),
        )
    except (TypeError, ValueError, ValidationError) as error:
        raise TranscriptFileError(f"{where}: bad turn ({error})") from error


def _timed(records: list[dict[str, Any]]) -> bool:
    return bool(records) and all(
        r.get("start") is not None and r.get("end") is not None for r in records
    )


def _transcript(
    path: Path,
    numbered: list[tuple[int, dict[str, Any]]],
    language: str | None,
    summary: dict[str, Any],
) -> Transcript:
    turns = tuple(_turn(path, n, i, r) for i, (n, r) in enumerate(numbered))
    spoken = language or summary.get("language")
    if not spoken:
        raise TranscriptFileError(
            f"{path}: the language is not in the file; give it with --language (en, zh)"
        )
    if _timed([r for _, r in numbered]):
        from asr.metrics import compute_metrics  # numpy & co. only when there are timings

        duration = float(summary.get("duration") or max((t.end for t in turns), default=0.0))
        metrics = compute_metrics(turns, duration)
    else:
        duration, metrics = 0.0, Metrics(measured=False)
    return Transcript(
        language=str(spoken),
        turns=turns,
        metrics=metrics,
        duration=duration,
        channel_mode=str(summary.get("channel_mode") or "file"),
        role_confidence=float(summary.get("role_confidence", 1.0)),
        model=str(summary.get("model") or f"file:{path.name}"),
    )


def _direction(value: Any, default: Direction | None, where: str) -> Direction:
    if value is None:
        return default or Direction.UNKNOWN
    try:
        return Direction(str(value).lower())
    except ValueError:
        raise TranscriptFileError(
            f"{where}: direction {value!r} is not inbound, outbound or internal"
        ) from None


def read_transcripts(
    path: Path, *, language: str | None = None, direction: Direction | None = None
) -> list[FileDialogue]:
    """Every conversation in the file. ``language`` / ``direction`` override the file's own
    (and are needed where the file does not say).

    Raises :class:`TranscriptFileError` naming the file and line.
    """
    path = Path(path)
    records = list(_records(path, _text(path)))
    if len(records) == 1 and isinstance(records[0][1], list):
        records = [(1, item) for item in records[0][1]]
    if len(records) == 1 and isinstance(records[0][1], dict) and "channel_mode" in records[0][1]:
        try:  # a stored transcript
            stored = Transcript.model_validate(records[0][1])
        except ValidationError as error:
            raise TranscriptFileError(f"{path}: not a valid transcript ({error})") from error
        if language:
            stored = stored.model_copy(update={"language": language})
        return [FileDialogue(path.stem, stored, direction or Direction.UNKNOWN)]
    dialogues: list[FileDialogue] = []
    turns: list[tuple[int, dict[str, Any]]] = []
    summary: dict[str, Any] = {}
    for number, record in records:
        if isinstance(record, dict) and isinstance(record.get("turns"), list):
            where = f"{path}:{number}"
            numbered = [(number, turn) for turn in record["turns"]]
            ident = str(record.get("id") or f"{path.stem}-{len(dialogues) + 1}")
            dialogues.append(
                FileDialogue(
                    ident,
                    _transcript(path, numbered, language or record.get("language"), record),
                    _direction(record.get("direction"), direction, where),
                    dict(record.get("labels") or {}),
                    str(record.get("source") or ""),
                )
            )
        elif isinstance(record, dict) and "metrics" in record and "text" not in record:
            summary = record  # the last line of `qa transcribe --json`
        else:
            turns.append((number, record))
    if turns:
        if dialogues:
            raise TranscriptFileError(
                f"{path}: mixes single turns and whole dialogues; use one kind per file"
            )
        transcript = _transcript(path, turns, language, summary)
        if summary.get("metrics") and transcript.metrics.measured:
            transcript = transcript.model_copy(
                update={"metrics": Metrics.model_validate(summary["metrics"])}
            )
        dialogues.append(FileDialogue(path.stem, transcript, direction or Direction.UNKNOWN))
    if not dialogues:
        raise TranscriptFileError(f"{path}: no turns found; see `qa score --help` for the format")
    return dialogues
