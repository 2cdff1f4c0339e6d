"""``qa transcribe``: run the speech layer on one recording (or a leg pair) and print the turns."""

from __future__ import annotations

import json
from pathlib import Path

import click

from asr import AudioDecodeError, ModelError, SpeechEngine, SpeechOptions
from asr.models import default_models_dir
from calldata import Transcript


@click.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (see above).")
@click.option(
    "--language",
    type=click.Choice(["en", "zh"]),
    default=None,
    help="Force the language (default: detect English or Mandarin).",
)
@click.option(
    "--models-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Models directory (default: $CALLQA_MODELS_DIR or ~/.cache/callqa/models).",
)
@click.option(
    "--outbound",
    is_flag=True,
    help="The agent placed the call (mono role evidence: the callee speaks first).",
)
def transcribe(
    audio: tuple[str, ...],
    as_json: bool,
    language: str | None,
    models_dir: Path | None,
    outbound: bool,
) -> None:
    """Transcribe AUDIO: one recording (mono or two-channel) or two leg files (caller leg first).

    Two-channel audio keeps one party per channel (ch0 customer, ch1 agent); mono audio is
    diarized and roles are inferred. Prints a table of turns: role, speaker, start, end,
    confidence, text.

    With --json, prints one JSON object per turn

      {"index", "role", "speaker", "start", "end", "text", "confidence"}

    then one final object {"metrics": {...}, "language", "channel_mode", "duration",
    "role_confidence", "model"}, where metrics holds talk time, silences, overtalk and speech
    rate per role as in calldata.Metrics.

    Example: qa transcribe q-600-20240115-101015.wav --json
    """
    if len(audio) > 2:
        raise click.UsageError("give one recording or two leg files, not more")
    options = SpeechOptions(models_dir=models_dir or default_models_dir())
    try:
        engine = SpeechEngine(options)
        transcript = engine.transcribe_call(
            [Path(p) for p in audio], language=language, inbound=not outbound
        )
    except (AudioDecodeError, ModelError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        _print_json(transcript)
    else:
        _print_table(transcript)


def _print_json(transcript: Transcript) -> None:
    for turn in transcript.turns:
        record = turn.model_dump(mode="json", exclude={"words"})
        click.echo(json.dumps(record, ensure_ascii=False))
    summary = {
        "metrics": transcript.metrics.model_dump(mode="json"),
        "language": transcript.language,
        "channel_mode": transcript.channel_mode,
        "duration": transcript.duration,
        "role_confidence": transcript.role_confidence,
        "model": transcript.model,
    }
    click.echo(json.dumps(summary, ensure_ascii=False))


def _print_table(transcript: Transcript) -> None:
    click.echo(
        f"language {transcript.language}, {transcript.channel_mode}, "
        f"{transcript.duration:.1f} s, role confidence {transcript.role_confidence:.2f}"
    )
    if not transcript.turns:
        click.echo("(no speech)")
        return
    click.echo(f"{'role':<9} {'speaker':<11} {'start':>7} {'end':>7} {'conf':>5}  text")
    for turn in transcript.turns:
        click.echo(
            f"{turn.role.value:<9} {turn.speaker:<11} {turn.start:7.2f} {turn.end:7.2f} "
            f"{turn.confidence:5.2f}  {turn.text}"
        )
    metrics = transcript.metrics
    click.echo(
        f"silences over threshold: {len(metrics.silences)}, non-talk {metrics.non_talk_time:.1f} s,"
        f" overtalk {metrics.overtalk_count} ({metrics.overtalk_duration:.1f} s)"
    )
