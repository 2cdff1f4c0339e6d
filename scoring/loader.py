"""Loading and checking rubric files and phrase libraries.

A rubric directory holds rubric files (``*.yaml`` / ``*.yml`` at its top level), phrase
libraries (``phrases/*.yaml``) and intent libraries (``intents/*.yaml``). Every problem is
reported with its file and line.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar, cast

from scoring.errors import Problem, RubricError
from scoring.matching import compile_regex
from scoring.normalize import normalize_text
from scoring.phrases import (
    PhraseSyntaxError,
    expand_alternatives,
    languages_of,
    phrases_for,
    primary_language,
)
from scoring.schema import (
    Condition,
    FlagSpec,
    IntentLibrary,
    IntentLibraryFile,
    IntentSpec,
    Item,
    MatchMode,
    PhraseLibrary,
    PhraseLibraryFile,
    PhraseSpec,
    Rubric,
)
from scoring.yamlsource import PathKey, YamlSource, read_yaml, validate

logger = logging.getLogger(__name__)

PHRASES_DIR = "phrases"
INTENTS_DIR = "intents"
_Library = TypeVar("_Library", PhraseLibrary, IntentLibrary)
_POSITIONAL = ("phrase", "before", "all", "any")


@dataclass(frozen=True)
class FileCheck:
    """The result of checking one file: what it is, a one-line summary, and its problems."""

    path: Path
    kind: str  # "rubric", "phrases" or "intents"
    summary: str
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def walk_conditions(rubric: Rubric) -> Iterator[tuple[PathKey, Condition]]:
    """Every condition node of a rubric with its path in the file (items[0].check.all[1]...)."""
    for i, item in enumerate(rubric.items):
        if item.applies_if is not None:
            yield from _walk(item.applies_if, ("items", i, "applies_if"))
        yield from _walk(item.check, ("items", i, "check"))
    for i, flag in enumerate(rubric.flags):
        yield from _walk(flag.when, ("flags", i, "when"))
        for j, rule in enumerate(flag.severity):
            yield from _walk(rule.when, ("flags", i, "severity", j, "when"))
        for j, kind in enumerate(flag.kind):
            yield from _walk(kind.when, ("flags", i, "kind", j, "when"))


def _walk(condition: Condition, path: PathKey) -> Iterator[tuple[PathKey, Condition]]:
    yield path, condition
    kind = condition.kind
    if kind in ("all", "any"):
        children = condition.all_ if kind == "all" else condition.any_
        for index, child in enumerate(children or ()):
            yield from _walk(child, (*path, kind, index))
    elif kind == "not" and condition.not_ is not None:
        yield from _walk(condition.not_, (*path, "not"))
    elif kind in ("before", "after"):
        order = condition.before if kind == "before" else condition.after
        if order is not None:
            yield from _walk(order.first, (*path, kind, "first"))
            yield from _walk(order.then, (*path, kind, "then"))


def is_positional(condition: Condition) -> bool:
    """Whether the condition is met at a point in the call (so ``before``/``after`` can order
    it): a phrase, an ordering, a count with ``at_least``, or all/any holding one."""
    kind = condition.kind
    if kind in ("phrase", "intent", "before", "after"):
        return True
    if kind == "count" and condition.count is not None:
        return condition.count.at_least is not None
    if kind in ("all", "any"):
        children = condition.all_ if kind == "all" else condition.any_
        return any(is_positional(child) for child in children or ())
    return False


def _phrase_problems(phrases: Iterable[str], source: YamlSource, path: PathKey) -> list[Problem]:
    problems = []
    for phrase in phrases:
        try:
            variants = expand_alternatives(phrase)
        except PhraseSyntaxError as error:
            problems.append(source.problem(path, str(error), "write alternatives as {a|b}"))
            continue
        if any(not normalize_text(variant) for variant in variants):
            problems.append(
                source.problem(
                    path,
                    f"phrase {phrase!r} can be empty once punctuation is removed",
                    "phrases are matched without punctuation; give it words",
                )
            )
    return problems


def _regex_problems(patterns: Iterable[str], source: YamlSource, path: PathKey) -> list[Problem]:
    problems = []
    for pattern in patterns:
        try:
            compile_regex(pattern)
        except re.error as error:
            problems.append(
                source.problem(
                    path,
                    f"bad regular expression {pattern!r}: {error}",
                    "regexes are searched in normalised text (lowercase, no punctuation)",
                )
            )
    return problems


def _check_rubric(
    rubric: Rubric,
    source: YamlSource,
    libraries: dict[str, PhraseLibrary],
    intents: dict[str, IntentLibrary],
) -> list[Problem]:
    problems: list[Problem] = []
    for group, entries in (("items", rubric.items), ("flags", rubric.flags)):
        seen: dict[str, int] = {}
        # items and flags both have ids (mypy joins the two tuples to their base class)
        for index, entry in enumerate(cast("Sequence[Item | FlagSpec]", entries)):
            if entry.id in seen:
                problems.append(
                    source.problem(
                        (group, index, "id"),
                        f"duplicate {group[:-1]} id {entry.id!r}",
                        f"ids must be unique; first used at {group}[{seen[entry.id]}]",
                    )
                )
            seen.setdefault(entry.id, index)
    languages = {lang.split("-")[0].split("_")[0] for lang in rubric.applies_to.languages}
    for path, condition in walk_conditions(rubric):
        kind = condition.kind
        order = condition.before if kind == "before" else condition.after
        if order is not None:
            for side in ("first", "then"):
                operand = getattr(order, side)
                if not is_positional(operand):
                    problems.append(
                        source.problem(
                            (*path, kind, side),
                            f"'{side}' of '{kind}' is a {operand.kind!r} condition: it has no time",
                            "use a phrase, a count with at_least, or all/any holding one: "
                            "something said at a point in the call",
                        )
                    )
        if condition.intent is not None:
            problems.extend(
                _intent_problems(condition.intent, (*path, "intent"), source, intents, languages)
            )
            continue
        if condition.phrase is not None:
            spec, here = condition.phrase, (*path, "phrase")
        elif condition.count is not None:
            spec, here = condition.count.phrase, (*path, "count", "phrase")
        else:
            continue
        problems.extend(_spec_problems(spec, here, source, libraries, languages))
    return problems


def _inline(lists: dict[str, tuple[str, ...]] | tuple[str, ...] | None) -> list[str]:
    if isinstance(lists, tuple):
        return list(lists)
    if isinstance(lists, dict):
        return [p for phrases in lists.values() for p in phrases]
    return []


def _unknown(
    names: Iterable[str], known: dict[str, _Library], what: str, folder: str
) -> list[tuple[str, str]]:
    """(message, hint) for each name that is not a loaded library."""
    found = []
    for name in names:
        if name in known:
            continue
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else (
                f"define it in {folder}/*.yaml beside the rubric"
                + (f" (known: {', '.join(sorted(known))})" if known else "")
            )
        )
        found.append((f"unknown {what} {name!r}", hint))
    return found


def _missing_languages(
    here: PathKey, source: YamlSource, missing: set[str], what: str, where: str
) -> list[Problem]:
    """One problem per rubric language a condition has no ``what`` (phrases, examples) for."""
    return [
        source.problem(
            here,
            f"no {language!r} {what} here, but the rubric applies to {language!r}",
            f"add {language}: [...] to the {what} or to the {where}",
        )
        for language in sorted(missing)
    ]


def _intent_problems(
    spec: IntentSpec,
    here: PathKey,
    source: YamlSource,
    intents: dict[str, IntentLibrary],
    languages: set[str],
) -> list[Problem]:
    """Problems of one intent condition: unknown libraries, empty examples, missing languages."""
    problems = [
        source.problem((*here, "library"), message, hint)
        for message, hint in _unknown(spec.libraries, intents, "intent library", INTENTS_DIR)
    ]
    for key, lists in (("examples", spec.examples), ("exclude", spec.exclude)):
        problems.extend(
            source.problem((*here, key), f"example {example!r} has no words", "give it words")
            for example in _inline(lists)
            if not normalize_text(example)
        )
    if problems or isinstance(spec.examples, tuple):
        return problems
    have = {primary_language(key) for key in (spec.examples or {})}
    for name in spec.libraries:
        have.update(primary_language(key) for key in intents[name].examples)
    return _missing_languages(here, source, languages - have, "examples", "intent library")


def _spec_problems(
    spec: PhraseSpec,
    here: PathKey,
    source: YamlSource,
    libraries: dict[str, PhraseLibrary],
    languages: set[str],
) -> list[Problem]:
    """Problems of one phrase condition: unknown libraries, bad phrases or regexes, missing
    languages, and more distinct phrases asked for than listed."""
    problems: list[Problem] = []
    missing = [name for name in spec.libraries if name not in libraries]
    problems.extend(
        source.problem((*here, "library"), message, hint)
        for message, hint in _unknown(missing, libraries, "phrase library", PHRASES_DIR)
    )
    regex = spec.match is MatchMode.REGEX
    for name in spec.libraries:
        if name in libraries and libraries[name].regex != regex:
            kind = "regular expressions" if libraries[name].regex else "plain phrases"
            problems.append(
                source.problem(
                    (*here, "library"),
                    f"phrase library {name!r} holds {kind}, but this condition matches "
                    f"{spec.match.value}",
                    "use match: regex with regex libraries (regex: true), and only with them",
                )
            )
    for key, lists in (("phrases", spec.phrases), ("exclude", spec.exclude)):
        written = _inline(lists)
        if regex:
            problems.extend(_regex_problems(written, source, (*here, key)))
        else:
            problems.extend(_phrase_problems(written, source, (*here, key)))
    have = languages_of(spec, libraries)
    if have is not None and languages and not missing:
        problems.extend(_missing_languages(here, source, languages - have, "phrases", "library"))
    if spec.min_phrases is not None and not missing:
        for language in sorted(languages or {""}):
            listed = phrases_for(spec, language, libraries) if language else ()
            if language and len(listed) < spec.min_phrases:
                problems.append(
                    source.problem(
                        (*here, "min_phrases"),
                        f"min_phrases is {spec.min_phrases} but only {len(listed)} "
                        f"{language!r} phrases are listed",
                        "list more phrases or lower min_phrases",
                    )
                )
    return problems


def _load_library_file(path: Path) -> dict[str, PhraseLibrary]:
    source = read_yaml(path)
    parsed = cast(PhraseLibraryFile, validate(PhraseLibraryFile, source))
    problems: list[Problem] = []
    for name, library in parsed.libraries.items():
        for key in ("phrases", "exclude"):
            for language, phrases in getattr(library, key).items():
                where = ("libraries", name, key, language)
                if library.regex:
                    problems.extend(_regex_problems(phrases, source, where))
                else:
                    problems.extend(_phrase_problems(phrases, source, where))
    if problems:
        raise RubricError(problems)
    return dict(parsed.libraries)


def _load_intent_file(path: Path) -> dict[str, IntentLibrary]:
    source = read_yaml(path)
    parsed = cast(IntentLibraryFile, validate(IntentLibraryFile, source))
    problems: list[Problem] = []
    for name, library in parsed.intents.items():
        for key in ("examples", "exclude"):
            for language, examples in getattr(library, key).items():
                problems.extend(
                    source.problem(
                        ("intents", name, key, language),
                        f"example {example!r} has no words",
                        "give each example the words of a whole utterance",
                    )
                    for example in examples
                    if not normalize_text(example)
                )
    if problems:
        raise RubricError(problems)
    return dict(parsed.intents)


def _load_named(
    paths: Iterable[Path | str],
    read: Callable[[Path], dict[str, _Library]],
    what: str,
    key: str,
) -> dict[str, _Library]:
    """Every library of the files, by name (``key``: the files' top-level key)."""
    found: dict[str, _Library] = {}
    origin: dict[str, Path] = {}
    problems: list[Problem] = []
    for path in map(Path, paths):
        try:
            named = read(path)
        except RubricError as error:
            problems.extend(error.problems)
            continue
        for name, library in named.items():
            if name in found:
                problems.append(
                    Problem(
                        str(path),
                        None,
                        f"{key}.{name}",
                        f"{what} {name!r} is also defined in {origin[name]}",
                        f"{what} names must be unique across files",
                    )
                )
                continue
            found[name] = library
            origin[name] = path
    if problems:
        raise RubricError(problems)
    return found


def load_phrase_libraries(paths: Iterable[Path | str]) -> dict[str, PhraseLibrary]:
    """Load phrase-library files into one name → library map; names must be unique."""
    return _load_named(paths, _load_library_file, "phrase library", "libraries")


def load_intent_libraries(paths: Iterable[Path | str]) -> dict[str, IntentLibrary]:
    """Load intent-library files into one name → intent map; names must be unique."""
    return _load_named(paths, _load_intent_file, "intent library", "intents")


def _library_files(directory: Path, folder_name: str = PHRASES_DIR) -> list[Path]:
    folder = directory / folder_name
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def _rubric_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_rubric(
    path: Path | str,
    libraries: dict[str, PhraseLibrary] | None = None,
    intents: dict[str, IntentLibrary] | None = None,
) -> Rubric:
    """Load and check one rubric file.

    Phrase and intent libraries come from ``libraries`` / ``intents`` or, when None, from
    ``phrases/`` / ``intents/`` beside the file. Raises RubricError (file:line: what is wrong —
    hint) for any problem.

    Example: ``rubric = load_rubric("rubrics/inbound-service.yaml")``
    """
    path = Path(path)
    if libraries is None:
        libraries = load_phrase_libraries(_library_files(path.parent))
    if intents is None:
        intents = load_intent_libraries(_library_files(path.parent, INTENTS_DIR))
    source = read_yaml(path)
    rubric = cast(Rubric, validate(Rubric, source))
    problems = _check_rubric(rubric, source, libraries, intents)
    if problems:
        raise RubricError(problems)
    logger.debug("loaded rubric %s v%s from %s", rubric.id, rubric.version, path)
    return rubric.with_libraries(libraries, source=str(path), intents=intents)


def load_rubrics(directory: Path | str) -> list[Rubric]:
    """Load every rubric in a directory with its phrase and intent libraries (``phrases/*.yaml``,
    ``intents/*.yaml``).

    Raises RubricError listing every problem in every file, or when there is no rubric.

    Example: ``rubrics = load_rubrics("rubrics")``
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise RubricError.single(
            directory,
            "no such rubric directory",
            hint="pass the folder that holds the rubric *.yaml files",
        )
    libraries = load_phrase_libraries(_library_files(directory))
    intents = load_intent_libraries(_library_files(directory, INTENTS_DIR))
    rubrics: list[Rubric] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in _rubric_files(directory):
        try:
            rubric = load_rubric(path, libraries, intents)
        except RubricError as error:
            problems.extend(error.problems)
            continue
        if rubric.id in seen:
            problems.append(
                Problem(
                    str(path),
                    1,
                    "id",
                    f"rubric id {rubric.id!r} is also used by {seen[rubric.id]}",
                    "give each rubric its own id",
                )
            )
            continue
        seen[rubric.id] = str(path)
        rubrics.append(rubric)
    if problems:
        raise RubricError(problems)
    if not rubrics:
        raise RubricError.single(
            directory, "no rubric files (*.yaml) here", hint="see docs/rubrics.md for the format"
        )
    return rubrics


def _check_libraries(
    paths: list[Path],
    load: Callable[[list[Path]], dict[str, _Library]],
    kind: str,
    checks: list[FileCheck],
) -> dict[str, _Library]:
    """Load library files one by one, appending a check per file; the libraries that loaded."""
    found: dict[str, _Library] = {}
    for path in paths:
        try:
            named = load([path])
        except RubricError as error:
            checks.append(FileCheck(path, kind, "invalid", error.problems))
            continue
        clashes = sorted(set(named) & set(found))
        if clashes:
            problem = Problem(
                str(path),
                None,
                "",
                f"libraries defined twice: {', '.join(clashes)}",
                "library names must be unique across files",
            )
            checks.append(FileCheck(path, kind, "invalid", (problem,)))
            continue
        found.update(named)
        label = "phrase libraries" if kind == "phrases" else "intents"
        checks.append(FileCheck(path, kind, f"{label}: {', '.join(named)}"))
    return found


def check_rubric_dir(directory: Path | str) -> list[FileCheck]:
    """Check every phrase library and rubric in a directory, one :class:`FileCheck` per file."""
    directory = Path(directory)
    if not directory.is_dir():
        problem = Problem(str(directory), None, "", "no such rubric directory")
        return [FileCheck(directory, "rubric", "missing", (problem,))]
    checks: list[FileCheck] = []
    libraries = _check_libraries(
        _library_files(directory), load_phrase_libraries, "phrases", checks
    )
    intents = _check_libraries(
        _library_files(directory, INTENTS_DIR), load_intent_libraries, "intents", checks
    )
    rubric_ids: dict[str, Path] = {}
    for path in _rubric_files(directory):
        try:
            rubric = load_rubric(path, libraries, intents)
        except RubricError as error:
            checks.append(FileCheck(path, "rubric", "invalid", error.problems))
            continue
        if rubric.id in rubric_ids:
            problem = Problem(
                str(path),
                1,
                "id",
                f"rubric id {rubric.id!r} is also used by {rubric_ids[rubric.id]}",
                "give each rubric its own id",
            )
            checks.append(FileCheck(path, "rubric", "invalid", (problem,)))
            continue
        rubric_ids[rubric.id] = path
        items, flags = len(rubric.items), len(rubric.flags)
        summary = (
            f"rubric {rubric.id} v{rubric.version}: {items} item{'s' * (items != 1)}, "
            f"{flags} flag{'s' * (flags != 1)}"
        )
        checks.append(FileCheck(path, "rubric", summary))
    if not rubric_ids and not any(c.kind == "rubric" for c in checks):
        problem = Problem(str(directory), None, "", "no rubric files (*.yaml) here")
        checks.append(FileCheck(directory, "rubric", "missing", (problem,)))
    return checks
