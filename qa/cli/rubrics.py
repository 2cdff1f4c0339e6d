"""``qa rubrics``: check, explain and publish the schema of QA rubrics."""

from __future__ import annotations

import json
from datetime import date, tzinfo
from pathlib import Path

import click

from qa.cli.export import DB, check_range, date_range_options
from qa.config import default_rubrics_dir
from qa.db import open_db
from qa.results.tryout import try_rubric
from scoring import (
    Rubric,
    RubricError,
    check_rubric_dir,
    describe_rubric,
    load_intent_libraries,
    load_phrase_libraries,
    load_rubric,
    load_rubrics,
    rubric_json_schema,
)

_DIR = click.Path(file_okay=False, path_type=Path)


@click.group()
def rubrics() -> None:
    """Check, explain and try QA rubrics (YAML) and their phrase libraries.

    Example: qa rubrics check rubrics/ && qa rubrics explain inbound-service
    """


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@rubrics.command()
@click.argument("directory", required=False, type=_DIR)
def check(directory: Path | None) -> None:
    """Validate every rubric and phrase library in DIRECTORY (default: the shipped rubrics/).

    Prints one line per file; exits 1 if any file has problems, each shown as file:line.

    Example: qa rubrics check rubrics/
    """
    directory = directory or default_rubrics_dir()
    results = check_rubric_dir(directory)
    failed = 0
    for result in results:
        if result.ok:
            click.echo(f"ok    {_shown(result.path)}  {result.summary}")
            continue
        failed += 1
        click.echo(f"FAIL  {_shown(result.path)}")
        for problem in result.problems:
            click.echo(f"  {problem}")
    if failed:
        raise click.ClickException(f"{failed} of {len(results)} files have problems (see above)")


def _find(name: str, directory: Path) -> Rubric:
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise click.ClickException(f"no rubric file {path}")
        return load_rubric(path)
    found = load_rubrics(directory)
    for rubric in found:
        if rubric.id == name:
            return rubric
    known = ", ".join(r.id for r in found)
    raise click.ClickException(f"no rubric with id {name!r} in {directory} (known: {known})")


@rubrics.command()
@click.argument("rubric")
@click.option("--dir", "directory", type=_DIR, default=None, help="Where to look up RUBRIC ids.")
def explain(rubric: str, directory: Path | None) -> None:
    """Print RUBRIC (an id in the rubrics directory, or a file path) in plain words.

    Example: qa rubrics explain inbound-service
    """
    try:
        found = _find(rubric, directory or default_rubrics_dir())
    except RubricError as error:
        raise click.ClickException(f"the rubric is invalid:\n{error}") from error
    click.echo(describe_rubric(found))


@rubrics.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of a rubric file (editors use it to complete and check YAML).

    Example: qa rubrics schema -o docs/rubric-schema.json
    """
    text = json.dumps(rubric_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _draft(path: Path, directory: Path) -> Rubric:
    """The draft file, with the phrase and intent libraries beside it or, when it has none
    there, those of ``directory`` (the deployed rubrics)."""
    beside = path.parent
    has_own = (beside / "phrases").is_dir() or (beside / "intents").is_dir()
    home = beside if has_own else directory
    libraries = load_phrase_libraries(sorted((home / "phrases").glob("*.y*ml")))
    intents = load_intent_libraries(sorted((home / "intents").glob("*.y*ml")))
    return load_rubric(path, libraries, intents)


@rubrics.command("try")
@click.argument("draft", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", type=DB, required=True, help="The results store (read only here).")
@date_range_options
@click.option("--agent", help="Only this agent's calls (id or name).")
@click.option(
    "--dir",
    "directory",
    type=_DIR,
    default=None,
    help="The deployed rubrics: a draft without libraries of its own uses theirs.",
)
@click.option("--examples", default=3, show_default=True, help="Example calls per change.")
@click.option("--json", "as_json", is_flag=True, help="One JSON report.")
@click.option("--unmasked", is_flag=True, help="Quote evidence with personal numbers.")
def try_command(
    draft: Path,
    db: Path,
    since: date | None,
    until: date | None,
    tz: tzinfo,
    agent: str | None,
    directory: Path | None,
    examples: int,
    as_json: bool,
    unmasked: bool,
) -> None:
    """Score the stored calls with DRAFT (a rubric file) without writing anything, and report
    per item and flag which verdicts would change (with example calls and evidence) and how
    the deployed and the draft verdicts agree with reviewers' decisions.

    Example: qa rubrics try drafts/inbound-service.yaml --db var/demo.db --since 2026-11-01
    """
    check_range(since, until)
    try:
        rubric = _draft(draft, directory or default_rubrics_dir())
    except RubricError as error:
        raise click.ClickException(f"the draft is invalid:\n{error}") from error
    store = open_db(db)
    report = try_rubric(store, rubric, since=since, until=until, agent=agent, zone=tz,
                        examples=examples, masked=not unmasked)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for line in report.lines():
        click.echo(line)
