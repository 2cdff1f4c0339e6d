"""The architecture in docs/architecture.md, checked on every import (lazy ones included).

Packages: ``ui → qa → {asr, scoring} → calldata``, ``scoring → sentences`` (the sentence encoder
for intents, a leaf); ``asr`` and ``scoring`` never import each other.
Inside ``qa`` the areas are layered, each importing only itself and the areas to its right::

    cli | alerts | bench | records | review | run | results | search | access | ingest | core

(core: ``qa.alert_config``, ``qa.config``, ``qa.db``, ``qa.progress``, ``qa.runtime``, ``qa.sql``,
``qa.transcript_files``, and the store's schema, the ``qa.migrations`` package).
:data:`ALLOWED` lists the exceptions, each with its reason. No module may reach itself again
through its imports, wherever the import sits (at the top, inside a function, under
``if __name__ == "__main__":``).

Inside ``ui`` the tabs never import each other: what two tabs share lives in ``ui.context``,
``ui.render`` or ``ui.widgets``, and the call view the Queues tab opens calls in is handed to it
by ``ui.app``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("calldata", "sentences", "asr", "scoring", "qa", "ui")

#: package -> the packages it may import (besides itself)
PACKAGE_RULES = {
    "calldata": set(),
    "sentences": set(),
    "asr": {"calldata"},
    "scoring": {"calldata", "sentences"},
    "qa": {"asr", "scoring", "sentences", "calldata"},
    "ui": {"qa", "asr", "scoring", "sentences", "calldata"},
}
#: the areas inside qa, from the top: an area imports only itself and areas after it
QA_AREAS = (
    "cli", "alerts", "bench", "records", "review", "run", "results", "search", "access", "ingest",
    "core",
)  # fmt: skip
CORE = {
    "qa", "qa.alert_config", "qa.config", "qa.db", "qa.migrations", "qa.progress", "qa.runtime",
    "qa.sql", "qa.transcript_files",
}  # fmt: skip
#: packages in core: the store's schema, one module per migration (qa.db applies them)
CORE_PACKAGES = ("qa.migrations",)

#: (importer, imported) edges that break the rules above on purpose, with the reason
ALLOWED = {
    ("qa.cli.serve", "ui.app"): (
        "`qa serve` starts the review app; the import is lazy, inside the command, so the rest of "
        "the CLI never loads Gradio, and ui never imports qa.cli"
    ),
    ("qa.run.pipeline", "qa.records.complaints"): (
        "the nightly run opens a complaint case right after saving a call whose scorecards flag "
        "one (open_cases_from_flags); the case rules belong with the complaints"
    ),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
    }


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module that ``import name`` loads last (``a.b.c`` may be a name in ``a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every project module ``module`` imports, at the top, inside a function or under a
    condition (``if __name__ == "__main__":`` included)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` loads a.b when b is a module, else the name b from a
            targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for target in targets:
            resolved = _resolve(target)
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}
#: the review app's tabs (ui.app composes them)
UI_TABS = ("ui.calls", "ui.queues", "ui.agents", "ui.complaints", "ui.audit", "ui.users",
           "ui.search", "ui.rubrics",
           "ui.appeals", "ui.my_calls", "ui.rules", "ui.calibration",
           "ui.sampling", "ui.coaching")  # fmt: skip


def _area(module: str) -> str:
    if module in CORE or module.startswith(tuple(f"{package}." for package in CORE_PACKAGES)):
        return "core"
    return module.split(".")[1]


def _broken(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None when it may."""
    mine, theirs = importer.split(".")[0], imported.split(".")[0]
    if mine != theirs:
        if theirs not in PACKAGE_RULES[mine]:
            return f"{mine} may not import {theirs}"
        return None
    if mine != "qa":
        return None
    here, there = _area(importer), _area(imported)
    if QA_AREAS.index(there) < QA_AREAS.index(here):
        return f"qa area {here} may not import qa area {there} (it is above it)"
    return None


def test_every_qa_module_is_in_an_area() -> None:
    unknown = [m for m in MODULES if m.startswith("qa") and _area(m) not in QA_AREAS]
    assert not unknown, f"add these to an area in tests/test_layers.py and the docs: {unknown}"


def test_the_import_walker_sees_lazy_and_relative_imports() -> None:
    # a rule test that cannot see the imports it checks would pass whatever the code does
    assert "ui.app" in GRAPH["qa.cli.serve"]  # lazy, inside the command
    assert "qa.run.ray" in GRAPH["qa.run.pipeline"]  # lazy, only for --ray
    assert "qa.access.audit_log" in GRAPH["qa.access.users"]  # `from qa.access import audit_log`
    assert "ui.app" in GRAPH["ui.__main__"]  # `from ui.app import ...`
    assert set(UI_TABS) <= GRAPH["ui.app"]  # `from ui import agents, ...`: a module each


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_follow_the_layers(package: str) -> None:
    broken = [
        f"{importer} -> {imported}: {why}"
        for importer in sorted(m for m in GRAPH if m.split(".")[0] == package)
        for imported in sorted(GRAPH[importer])
        if (why := _broken(importer, imported)) and (importer, imported) not in ALLOWED
    ]
    assert not broken, "imports against docs/architecture.md:\n" + "\n".join(broken)


def test_no_tab_imports_another() -> None:
    coupled = [f"{tab} -> {other}" for tab in UI_TABS for other in sorted(GRAPH[tab])
               if other in UI_TABS]  # fmt: skip
    assert not coupled, "move what tabs share to ui/widgets.py or ui/render.py:\n" + "\n".join(
        coupled
    )


def test_every_allowed_exception_is_still_needed() -> None:
    stale = [edge for edge in ALLOWED if edge[1] not in GRAPH.get(edge[0], set())]
    assert not stale, f"no longer imported, remove from ALLOWED: {stale}"
    assert all(_broken(*edge) for edge in ALLOWED), "an ALLOWED edge breaks no rule"


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over the module graph, lazy imports included
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in GRAPH[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"
