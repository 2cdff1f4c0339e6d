"""``qa calibration``: start a calibration session and read its agreement report (per rubric item:
agreement and Fleiss' kappa, each reviewer's deviation from the consensus, the machine against
the consensus), as a table, JSON or CSV."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from rich.table import Table

from qa.access.roles import Role, User
from qa.cli.appeals import output_format
from qa.cli.export import DB
from qa.cli.results import console
from qa.db import open_db
from qa.review.calibration import (
    CalibrationReport,
    calibration_report,
    create_session,
    list_sessions,
)
from qa.review.state import ReviewWorkflowError

# The command line acts as an admin, as `qa users` does; the audit log names it.
_CLI = User("(qa calibration)", Role.ADMIN)
_CSV_COLUMNS = ("session_id", "rubric_id", "item_id", "calls", "agreement", "kappa",
                "machine_agreement", "consensus", "machine", "answers")  # fmt: skip


def _num(value: float | None) -> str:
    return "-" if value is None else f"{round(value, 2) + 0.0:.2f}"  # never "-0.00"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _verdicts(found: dict) -> str:
    return " ".join(f"{call}={v.value if v else 'tie'}" for call, v in found.items())


@click.group()
def calibration() -> None:
    """Calibration sessions: reviewers score the same calls blind (in qa serve's Calibration tab),
    and the report shows how far they agree.

    Example: qa calibration report --db var/demo.db --json
    """


@calibration.command()
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--title", required=True, help="What the session is, e.g. 'November'.")
@click.option("--call", "calls", multiple=True, required=True, help="A call to score (repeat).")
@click.option("--reviewer", "reviewers", multiple=True, required=True,
              help="A reviewer who scores blind (repeat; at least two).")  # fmt: skip
def create(db: Path, title: str, calls: tuple[str, ...], reviewers: tuple[str, ...]) -> None:
    """Start a session over the calls' latest scorecards.

    Example: qa calibration create --db var/demo.db --title November --call 1763651705.11
    --call 1763655760.42 --reviewer rita --reviewer rob --reviewer ria
    """
    try:
        session = create_session(open_db(db), _CLI, title, calls, reviewers)
    except ReviewWorkflowError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"started calibration session #{session.session_id}: {len(session.call_ids)} "
               f"call(s), reviewers {', '.join(session.reviewers)}")  # fmt: skip


def _table(report: CalibrationReport) -> Table:
    table = Table("item", "calls", "agreement", "Fleiss' kappa", "machine = consensus",
                  "consensus", "agreed answer")  # fmt: skip
    for i in report.items:
        table.add_row(i.rule, str(i.calls), _percent(i.agreement), _num(i.kappa),
                      _percent(i.machine_agreement), _verdicts(i.consensus),
                      _verdicts(i.answers) or "-")  # fmt: skip
    return table


@calibration.command()
@click.option("--db", type=DB, required=True, help="The results store.")
@click.option("--session", "session_id", type=int, help="The session (default: the newest).")
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per rubric item.")
def report(db: Path, session_id: int | None, as_json: bool, as_csv: bool) -> None:
    """A session's agreement: per rubric item, the share of reviewer pairs agreeing and Fleiss'
    kappa over the calls all reviewers scored, the machine against the consensus (the majority),
    the agreed answers recorded; overall kappa and each reviewer's deviation from the consensus.

    Example: qa calibration report --db var/demo.db --session 1 --csv > calibration.csv
    """
    fmt = output_format(as_json, as_csv)
    store = open_db(db)
    if session_id is None:
        sessions = list_sessions(store)
        if not sessions:
            raise click.ClickException(
                "no calibration sessions yet: start one with `qa calibration create` or in "
                "the Calibration tab"
            )
        session_id = sessions[0].session_id
    try:
        found = calibration_report(store, _CLI, session_id)
    except ReviewWorkflowError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(found.to_json(), ensure_ascii=False))
    elif fmt == "csv":
        writer = csv.DictWriter(sys.stdout, _CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for i in found.items:
            writer.writerow({
                "session_id": session_id, "rubric_id": i.rubric_id, "item_id": i.item_id,
                "calls": i.calls, "agreement": i.agreement, "kappa": i.kappa,
                "machine_agreement": i.machine_agreement, "consensus": _verdicts(i.consensus),
                "machine": _verdicts(i.machine), "answers": _verdicts(i.answers),
            })  # fmt: skip
    else:
        s = found.session
        click.echo(f"session #{s.session_id} {s.title} ({s.status}): {len(s.call_ids)} call(s), "
                   f"overall Fleiss' kappa {_num(found.kappa)}")  # fmt: skip
        for name in s.reviewers:
            click.echo(f"  {name}: scored {found.scored[name]}/{found.total_items}, off the "
                       f"consensus {_percent(found.deviation[name])}")  # fmt: skip
        console().print(_table(found))
