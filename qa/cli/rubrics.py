"""``qa rubrics``: check, explain and publish the schema of QA rubrics."""

from __future__ import annotations

import json
from pathlib import Path

import click

from qa.config import default_rubrics_dir
from scoring import (
    Rubric,
    RubricError,
    check_rubric_dir,
    describe_rubric,
    load_rubric,
    load_rubrics,
    rubric_json_schema,
)

_DIR = click.Path(file_okay=False, path_type=Path)


@click.group()
def rubrics() -> None:
    """Check and explain QA rubrics (YAML) and their phrase libraries.

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
