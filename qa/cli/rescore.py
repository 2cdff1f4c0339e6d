"""``qa rescore``: score stored calls with a changed rubric, without transcribing them again."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from qa.config import default_rubrics_dir
from qa.db import open_db
from qa.results import rescore as rescoring
from qa.results.rescore import RescoreSummary, UnknownRubricError, find_rubric
from scoring import RubricError, load_rubrics

_DB = click.Path(exists=True, dir_okay=False, path_type=Path)
_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_SHOWN_CHANGES = 20


def format_summary(summary: RescoreSummary) -> str:
    """The human-readable report of a re-scoring."""
    rubric = f"{summary.rubric_id} v{summary.version}"
    since = f" since {summary.since:%Y-%m-%d %H:%M} UTC" if summary.since else ""
    verb = "would re-score" if summary.dry_run else "re-scored"
    lines = [
        f"{verb} {summary.rescored} call(s) with {rubric} "
        f"({summary.stored} stored{since}; {summary.already} already had v{summary.version}, "
        f"{summary.not_applicable} not for this rubric)"
    ]
    compared = summary.rescored - summary.first
    if summary.rescored:
        lines.append(
            f"{len(summary.changes)} verdict(s) changed in {summary.calls_changed} of {compared} "
            f"call(s) scored before with another version; pass/fail changed in "
            f"{summary.passed_changed}"
            + (
                f"; {summary.first} scored with this rubric for the first time"
                if summary.first
                else ""
            )
        )
    for change in summary.changes[:_SHOWN_CHANGES]:
        lines.append(
            f"  {change.call_id}  {change.what} {change.id}: {change.before} → {change.after}"
        )
    if len(summary.changes) > _SHOWN_CHANGES:
        lines.append(f"  ... {len(summary.changes) - _SHOWN_CHANGES} more (--json lists all)")
    if summary.already and not summary.rescored:
        lines.append(
            f"every stored call already has a v{summary.version} scorecard: after changing the "
            "rubric, bump its version"
        )
    if summary.failed:
        lines.append(f"FAILED {len(summary.failed)}:")
        lines += [f"  {call_id}: {why}" for call_id, why in summary.failed]
    return "\n".join(lines)


@click.command()
@click.option("--rubric", "rubric_id", required=True, help="The id of the rubric to apply.")
@click.option("--db", type=_DB, required=True, help="The results store.")
@click.option(
    "--rubrics",
    "rubrics_dir",
    type=_DIR,
    default=None,
    help="Where the rubric files are (default: the shipped rubrics/).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
    default=None,
    help="Only calls that started on or after this date (UTC).",
)
@click.option("--dry-run", is_flag=True, help="Score and compare, but write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def rescore(
    rubric_id: str,
    db: Path,
    rubrics_dir: Path | None,
    since: datetime | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Re-apply a (changed) rubric to the transcripts in the store, without transcribing again.

    Calls that have no scorecard for the rubric's current version get one; scorecards of other
    versions are kept. Prints how many calls were re-scored and which verdicts changed. Exits 1
    if a call could not be scored.

    Example: qa rescore --rubric inbound-service --since 2026-11-01 --db var/qa.db
    """
    directory = rubrics_dir or default_rubrics_dir()
    try:
        rubric = find_rubric(load_rubrics(directory), rubric_id)
    except RubricError as error:
        raise click.ClickException(
            f"the rubrics in {directory} have problems (run qa rubrics check):\n{error}"
        ) from error
    except UnknownRubricError as error:
        raise click.ClickException(f"{error} in {directory}") from error
    store = open_db(db)
    try:
        summary = rescoring.rescore(store, rubric, since=since, dry_run=dry_run)
    finally:
        store.conn.close()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        click.echo(format_summary(summary))
    if summary.failed:
        raise SystemExit(1)
