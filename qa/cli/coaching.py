"""``qa coaching list``: coaching tasks (goal, due date, the moments of calls to listen to,
acknowledged, done) and the agent's average score before and after, as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.table import Table

from qa.cli.appeals import output_format
from qa.cli.export import DB
from qa.cli.results import console
from qa.db import open_db
from qa.records.coaching import coaching_trend, library, list_tasks, playlists

_CSV_COLUMNS = ("task_id", "agent", "goal", "due", "status", "created_by", "created_at",
                "acknowledged_at", "completed_by", "completed_at", "note", "moments",
                "score_before", "score_after")  # fmt: skip


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@click.group()
def coaching() -> None:
    """Coaching tasks for agents (assigned in qa serve's Coaching tab).

    Example: qa coaching list --db var/demo.db --status assigned
    """


@coaching.command("list")
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--agent", help="Only this agent (the identity calls carry).")
@click.option("--status", type=click.Choice(["assigned", "acknowledged", "done"]))
@click.option("--weeks", type=int, default=4, show_default=True,
              help="Weeks before and after a task its agent's average score covers.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per task.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def list_command(
    db: Path, agent: str | None, status: str | None, weeks: int, as_json: bool, as_csv: bool
) -> None:
    """Coaching tasks, newest first, with the agent's average score in the weeks before the task
    and after it.

    Example: qa coaching list --db var/demo.db --agent 1002 --json
    """
    fmt = output_format(as_json, as_csv)
    store = open_db(db)
    tasks = list_tasks(store, agent=agent, status=status)
    rows = []
    for task in tasks:
        before, after = coaching_trend(store, task, weeks=weeks)
        rows.append((task, {**task.to_json(), "score_before": _score(before),
                            "score_after": _score(after)}))  # fmt: skip
    if fmt == "json":
        for _, row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, _CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for task, row in rows:
            moments = " ".join(f"{m.call_id}@{m.seconds:g}" for m in task.moments)
            writer.writerow({**row, "moments": moments})
    elif not rows:
        click.echo("no coaching tasks match", err=True)
    else:
        table = Table("#", "agent", "goal", "due", "status", "moments", "score before", "after")
        for task, row in rows:
            table.add_row(str(task.task_id), task.agent, task.goal, task.due.isoformat(),
                          task.status, str(len(task.moments)), str(row["score_before"] or "-"),
                          str(row["score_after"] or "-"))  # fmt: skip
        console().print(table)


@coaching.command("library")
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--topic", help="Only calls tagged with this topic.")
@click.option("--kind", type=click.Choice(["good", "bad"]), help="Only good or bad examples.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per call.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def library_command(
    db: Path, topic: str | None, kind: str | None, as_json: bool, as_csv: bool
) -> None:
    """The library of exemplary calls (good and bad, tagged by topic), and its playlists for the
    monthly quality meeting.

    Example: qa coaching library --db var/demo.db --topic greeting --kind good
    """
    fmt = output_format(as_json, as_csv)
    store = open_db(db)
    calls = library(store, topic=topic, kind=kind)
    rows = [{"call_id": c.call_id, "kind": c.kind, "topics": " ".join(c.topics), "note": c.note,
             "agent": c.agent, "added_by": c.added_by} for c in calls]  # fmt: skip
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        for p in playlists(store):
            click.echo(json.dumps({"playlist": p.title, "playlist_id": p.playlist_id,
                                   "calls": list(p.call_ids)}, ensure_ascii=False))  # fmt: skip
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, list(rows[0]) if rows else ["call_id"],
                                lineterminator="\n")  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)
    elif not rows:
        click.echo("the library is empty: add calls in the Coaching tab", err=True)
    else:
        table = Table("call", "kind", "topics", "agent", "note")
        for c in calls:
            table.add_row(c.call_id, c.kind, ", ".join(c.topics), c.agent or "-", c.note)
        console().print(table)
        for p in playlists(store):
            click.echo(f"playlist #{p.playlist_id} {p.title}: {', '.join(p.call_ids)}")
