"""``qa runs``: past runs of ``qa run`` on a database, newest first (see :mod:`qa.run.report`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.db import open_db
from qa.run.report import RunRecord, list_runs


def _row(run: RunRecord) -> str:
    report = run.report or {}
    rtf = report.get("real_time_factor")
    executor = report.get("executor") or {}
    device = (report.get("device") or {}).get("device", "")
    workers = f"{executor.get('workers', '')} {executor.get('kind', '')}".strip()
    return (
        f"{run.run_id:>5}  {run.started_at[:19]:<19}  {run.status:<8}  {run.found:>5}  "
        f"{run.done:>5}  {run.skipped:>5}  {run.failed:>5}  {(run.audio_seconds or 0) / 60:>8.1f}  "
        f"{run.wall_seconds or 0:>8.1f}  {'' if rtf is None else f'{rtf:.3f}':>6}  "
        f"{workers:<13}  {device}"
    ).rstrip()


@click.command()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--last", type=click.IntRange(min=1), help="Only the last N runs.")
@click.option("--json", "as_json", is_flag=True, help="Each run's full report, one per line.")
def runs(db: Path, last: int | None, as_json: bool) -> None:
    """List past runs: when, status, calls found/done/skipped/failed, audio, wall time, RTF.

    A run still marked ``running`` is either running now or was killed; the next run takes its
    lock over and marks it ``crashed``. --json prints each run's stored report (docs/operations.md).

    Example: qa runs --db var/demo.db --last 5

    Example: qa runs --db var/demo.db --json --last 1 | jq .failed
    """
    if not db.exists():
        raise click.ClickException(f"{db} does not exist: pass the --db that qa run uses")
    store = open_db(db)
    try:
        records = list_runs(store, last=last)
    finally:
        store.conn.close()
    if as_json:
        for record in records:
            click.echo(json.dumps(record.to_json(), ensure_ascii=False))
        return
    if not records:
        click.echo("no runs yet")
        return
    click.echo(
        f"{'run':>5}  {'started (UTC)':<19}  {'status':<8}  {'found':>5}  {'done':>5}  "
        f"{'skip':>5}  {'fail':>5}  {'audio min':>8}  {'wall s':>8}  {'RTF':>6}  "
        f"{'workers':<13}  device"
    )
    for record in records:
        click.echo(_row(record))
