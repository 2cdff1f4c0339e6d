"""``qa score``: score transcripts from a file with the rubrics, without a store or audio."""

from __future__ import annotations

import json
from pathlib import Path

import click

from calldata import Direction
from qa.cli.results import console, scores_table
from qa.config import default_rubrics_dir
from qa.results.store import CallScore
from qa.transcript_files import TranscriptFileError, read_transcripts
from scoring import Rubric, RubricError, load_rubric, load_rubrics, score_call, select_rubrics
from sentences import EncoderError, encode_turns, load_encoder


def _rubrics(chosen: str | None, folder: Path | None) -> list[Rubric]:
    if chosen and Path(chosen).suffix in (".yaml", ".yml") and Path(chosen).is_file():
        return [load_rubric(chosen)]
    rubrics = load_rubrics(folder or default_rubrics_dir())
    if chosen is None:
        return rubrics
    picked = [rubric for rubric in rubrics if rubric.id == chosen]
    if not picked:
        known = ", ".join(sorted(r.id for r in rubrics))
        raise click.ClickException(f"no rubric {chosen!r} in {folder or 'rubrics/'} ({known})")
    return picked


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rubric", help="A rubric id (in --rubrics) or a rubric file; default: each that applies."
)
@click.option(
    "--rubrics",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="The rubric directory (default: the shipped rubrics/).",
)
@click.option("--language", help="The transcripts' language (en, zh) where the file does not say.")
@click.option(
    "--direction",
    type=click.Choice([d.value for d in Direction if d is not Direction.UNKNOWN]),
    default=Direction.INBOUND.value,
    show_default=True,
    help="The calls' direction where the file does not say.",
)
@click.option("--table", "as_table", is_flag=True, help="A table instead of JSON lines.")
def score(
    file: Path,
    rubric: str | None,
    folder: Path | None,
    language: str | None,
    direction: str,
    as_table: bool,
) -> None:
    """Score the transcripts in FILE: one JSON line per call and rubric, as ``qa scores --json``.

    FILE is what ``qa transcribe --json`` prints, or turns typed or transcribed elsewhere: JSON
    Lines of turns ({"role": "agent", "text": "...", "start": 0.0, "end": 2.1}; times optional),
    JSON Lines of dialogues ({"id": ..., "turns": [...], "language": "en"}), or one JSON
    document of either (.gz too). Without times, metrics (silence, talk ratio) are unknown and
    their items N/A, never a pass; who hung up is unknown.

    Example: qa score call.jsonl --language en --rubric inbound-service --table
    """
    try:
        rubrics = _rubrics(rubric, folder)
        dialogues = read_transcripts(file, language=language)
        encoder = load_encoder()
    except (RubricError, TranscriptFileError, EncoderError) as error:
        raise click.ClickException(str(error)) from None
    rows: list[CallScore] = []
    for dialogue in dialogues:
        call = dialogue.call(Direction(direction))
        transcript = dialogue.transcript
        vectors = encode_turns(encoder, [(t.index, t.text) for t in transcript.turns])
        chosen = select_rubrics(rubrics, call, transcript.language)
        if not chosen:
            click.echo(
                f"{dialogue.id}: no rubric applies ({transcript.language}, {call.direction.value})",
                err=True,
            )
        for picked in chosen:
            card = score_call(picked, transcript, call, vectors=vectors)
            rows.append(CallScore.of(call, card))
    if as_table:
        console().print(scores_table(rows))
        return
    for row in rows:
        click.echo(json.dumps(row.to_json(), ensure_ascii=False))
