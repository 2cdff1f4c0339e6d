"""``qa search``: find what was said in the stored calls (words, Chinese homophones, meaning),
by role and position in the call, with the call filters; as a table, JSON lines or CSV."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, tzinfo
from pathlib import Path
from typing import IO

import click
from rich.table import Table

from qa.cli.export import DB, check_range, date_range_options, output_options
from qa.cli.results import console
from qa.db import open_db
from qa.search.index import reindex_all
from qa.search.query import METRICS, SearchHit, SearchQuery, SearchQueryError, search

_COLUMNS = (
    "call_id", "call_start", "agent", "agent_name", "queue", "language", "direction", "turn",
    "role", "at", "end", "match", "similarity", "text",
)  # fmt: skip


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _table(hits: tuple[SearchHit, ...]) -> Table:
    table = Table("call", "start (UTC)", "agent", "at", "role", "match", "text")
    for hit in hits:
        table.add_row(
            hit.call_id,
            hit.call_start.strftime("%Y-%m-%d %H:%M"),
            hit.agent_name or hit.agent or "?",
            _clock(hit.at),
            hit.role,
            hit.match if hit.similarity is None else f"{hit.match} {hit.similarity:.2f}",
            hit.text,
        )
    return table


def _write(hits: tuple[SearchHit, ...], fmt: str, stream: IO[str]) -> None:
    if fmt == "json":
        for hit in hits:
            stream.write(json.dumps(hit.to_json(), ensure_ascii=False) + "\n")
        return
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for hit in hits:
        row = hit.to_json()
        writer.writerow(["" if row[c] is None else row[c] for c in _COLUMNS])


@click.command("search")
@click.argument("text", required=False, default="")
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--meaning", is_flag=True, help="By meaning (sentence vectors), not by words.")
@click.option("--exact", is_flag=True, help="Words only: no Chinese homophones (pinyin).")
@click.option("--role", type=click.Choice(["agent", "customer"]), help="Only what this role said.")
@click.option("--first-turns", type=int, help="Only in the call's first N turns.")
@click.option("--last-turns", type=int, help="Only in the call's last N turns.")
@click.option("--first-seconds", type=float, help="Only turns starting in the first N seconds.")
@click.option("--last-seconds", type=float, help="Only turns ending in the last N seconds.")
@date_range_options
@click.option("--agent", help="Only this agent's calls (id or name).")
@click.option("--queue", help="Only calls of this queue.")
@click.option("--direction", type=click.Choice(["inbound", "outbound", "internal", "unknown"]))
@click.option("--language", help="Only calls in this language (en, zh).")
@click.option("--item", "items", multiple=True, metavar="[RUBRIC/]ITEM=RESULT",
              help="Only calls whose item got RESULT (pass, fail, na); repeatable.")  # fmt: skip
@click.option("--flag", "flags", multiple=True, help="Only calls with this flag; repeatable.")
@click.option("--min-score", type=float, help="Only calls scoring at least this (any rubric).")
@click.option("--max-score", type=float, help="Only calls scoring at most this (any rubric).")
@click.option("--review-status", type=click.Choice(["new", "in_review", "done", "disputed"]))
@click.option("--metric", "metrics", multiple=True, metavar="NAME>=VALUE",
              help=f"A metric bound (<=, <, >, = too); NAME: {', '.join(METRICS)}.")  # fmt: skip
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many hits.")
@click.option("--json", "fmt", flag_value="json", help="One JSON object per hit per line.")
@click.option("--csv", "fmt", flag_value="csv", help="CSV with a header row.")
@click.option("--reindex", is_flag=True, help="Rebuild the search index from the stored calls.")
@output_options
def search_command(
    text: str,
    db: Path,
    meaning: bool,
    exact: bool,
    role: str | None,
    first_turns: int | None,
    last_turns: int | None,
    first_seconds: float | None,
    last_seconds: float | None,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
    queue: str | None,
    direction: str | None,
    language: str | None,
    items: tuple[str, ...],
    flags: tuple[str, ...],
    min_score: float | None,
    max_score: float | None,
    review_status: str | None,
    metrics: tuple[str, ...],
    limit: int,
    fmt: str | None,
    reindex: bool,
    output: Path | None,
    unmasked: bool,
) -> None:
    """Find TEXT in the stored transcripts: English by word, Chinese by character (投诉 finds
    我要投诉你们) and by sound (a homophone ASR wrote is found too), or by meaning. Personal
    numbers are masked unless --unmasked.

    Example: qa search "refund" --db var/demo.db --role customer --since 2026-11-01 --json
    """
    check_range(since, until)
    store = open_db(db)
    if reindex:
        click.echo(f"indexed {reindex_all(store)} call(s)", err=True)
        if not text:
            return
    query = SearchQuery(
        text=text, meaning=meaning, sounds_like=not exact, role=role, first_turns=first_turns,
        last_turns=last_turns, first_seconds=first_seconds, last_seconds=last_seconds,
        since=since, until=until, agent=agent, queue=queue, direction=direction,
        language=language, items=items, flags=flags, min_score=min_score, max_score=max_score,
        review_status=review_status, metrics=metrics, limit=limit,
    )  # fmt: skip
    try:
        result = search(store, query, masked=not unmasked, zone=tz)
    except SearchQueryError as error:
        raise click.ClickException(str(error)) from None
    if result.truncated:
        click.echo(f"showing the first {limit} hits: narrow the search or raise --limit", err=True)
    if fmt is None and output is None:
        if not result.hits:
            click.echo("no hits", err=True)
            return
        console().print(_table(result.hits))
        return
    if output is None:
        _write(result.hits, fmt or "json", sys.stdout)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as stream:
        _write(result.hits, fmt or ("csv" if output.suffix == ".csv" else "json"), stream)
    click.echo(f"wrote {len(result.hits)} hit(s) to {output}", err=True)
