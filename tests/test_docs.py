"""The docs are part of the product: a command or a setting that users cannot find is a defect."""

from __future__ import annotations

import re
from pathlib import Path

import click

from qa.cli import main
from qa.config import Config

REPO = Path(__file__).resolve().parent.parent


def _commands(group: click.Group, prefix: str = "qa") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, full))
        else:
            names.append(full)
    return names


def test_every_command_is_in_the_readme_with_an_example():
    readme = (REPO / "README.md").read_text()
    missing = [name for name in _commands(main) if not re.search(rf"^{name}\b", readme, re.M)]
    assert not missing, f"README.md has no example line for: {missing}"


def test_every_command_help_has_an_example():
    def walk(group: click.Group):
        for command in group.commands.values():
            yield command
            if isinstance(command, click.Group):
                yield from walk(command)

    lacking = [c.name for c in walk(main) if "qa " not in (c.help or "")]
    assert not lacking, f"commands whose --help shows no example: {lacking}"


def test_every_config_key_is_documented():
    doc = (REPO / "docs" / "configuration.md").read_text()
    missing = [key for key in Config.model_fields if f"`{key}`" not in doc]
    assert not missing, f"docs/configuration.md does not document: {missing}"


def test_quick_start_is_exactly_the_two_make_commands():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_the_architecture_module_map_names_every_qa_module():
    doc = (REPO / "docs" / "architecture.md").read_text()
    table = doc.split("## The `qa` package, module by module", 1)[1]
    rows = {
        line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")
    }
    qa = REPO / "qa"
    missing = []
    for path in sorted(qa.glob("*.py")):
        if path.stem != "__init__" and f"`qa/{path.name}`" not in rows["core"]:
            missing.append(f"qa/{path.name}")
    for folder in sorted(p for p in qa.iterdir() if (p / "__init__.py").exists()):
        row = next((line for line in rows.values() if f"`qa/{folder.name}/`" in line), None)
        if row is None:
            missing.append(f"qa/{folder.name}/")
            continue
        if folder.name in ("cli", "bench"):  # one module per command (group): the folder is named
            continue
        for path in sorted(folder.iterdir()):
            name = f"`{path.stem}`" if path.suffix == ".py" else f"`{path.name}/`"
            if path.stem != "__init__" and not path.name.startswith("__") and name not in row:
                missing.append(f"qa/{folder.name}/{path.name}")
    assert not missing, f"docs/architecture.md's module map does not name: {missing}"
