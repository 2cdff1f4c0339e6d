"""YAML parsing that remembers where every value came from, and turns pydantic errors into
:class:`~scoring.errors.Problem` records with file, line and a hint."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from scoring.errors import Problem, RubricError

PathKey = tuple[str | int, ...]


@dataclass
class YamlSource:
    """A parsed YAML document plus the line (1-based) of every mapping key and list item."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the deepest node on ``path`` that exists."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def problem(self, path: PathKey, message: str, hint: str = "") -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), message, hint)


def format_path(path: PathKey) -> str:
    """('items', 0, 'check', 'all', 1) → 'items[0].check.all[1]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], problems: list[str]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(f"{line}\tduplicate key {key!r} (first at line {seen[key]})")
            seen[key] = line
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines, problems)


def read_yaml(path: Path) -> YamlSource:
    """Parse one YAML file, recording node lines; raises RubricError for unreadable YAML."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RubricError.single(file, f"cannot read the file: {error}") from error
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise RubricError.single(
            file, f"not valid YAML: {problem}", line=line, hint="check indentation and quoting"
        ) from error
    finally:
        loader.dispose()
    source = YamlSource(file=file, data=data)
    if node is not None:
        source.lines[()] = node.start_mark.line + 1
        duplicates: list[str] = []
        _walk(node, (), source.lines, duplicates)
        if duplicates:
            raise RubricError(
                [
                    Problem(
                        file,
                        int(entry.split("\t")[0]),
                        "",
                        entry.split("\t")[1],
                        "each key may appear once per mapping",
                    )
                    for entry in duplicates
                ]
            )
    return source


# ---- pydantic errors → problems -------------------------------------------------------------


def _candidates(annotation: Any) -> list[Any]:
    """Flatten Optional/Union/Annotated into the alternatives a value may be."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(annotation) for c in _candidates(arg)]
    return [annotation]


def _step(types_here: list[Any], key: str | int) -> list[Any]:
    following: list[Any] = []
    for candidate in types_here:
        origin = typing.get_origin(candidate)
        args = typing.get_args(candidate)
        if (
            isinstance(candidate, type)
            and issubclass(candidate, BaseModel)
            and isinstance(key, str)
        ):
            for name, info in candidate.model_fields.items():
                if key in (info.alias, name):
                    following.extend(_candidates(info.annotation))
        elif origin in (tuple, list) and isinstance(key, int) and args:
            following.extend(_candidates(args[0]))
        elif origin is dict and isinstance(key, str) and len(args) == 2:
            following.extend(_candidates(args[1]))
    return following


def allowed_keys(model: type[BaseModel], path: PathKey) -> list[str]:
    """The keys a mapping at ``path`` may have, found by following the model's annotations."""
    here: list[Any] = [model]
    for key in path:
        here = _step(here, key)
    keys: list[str] = []
    for candidate in here:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            keys.extend(info.alias or name for name, info in candidate.model_fields.items())
    return list(dict.fromkeys(keys))


def _data_path(data: Any, loc: tuple[Any, ...], missing: bool = False) -> PathKey:
    """Keep the parts of a pydantic ``loc`` that index into the data (drop union tags).

    For a missing key (``missing``) the last part is kept although the data lacks it."""
    path: list[str | int] = []
    here = data
    for part in loc:
        in_dict = isinstance(here, dict) and part in here
        in_list = isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        if in_dict or in_list:
            path.append(part)
            here = here[part]
        elif missing and isinstance(here, dict) and part == loc[-1] and isinstance(part, str):
            path.append(part)  # a missing key: name it, the line falls back to its mapping
            break
    return tuple(path)


# pydantic speaks Python; rubric authors write YAML.
_YAML_WORDS = (
    ("a valid tuple", "a list"),
    ("a valid list", "a list"),
    ("a valid dictionary", "a mapping (key: value)"),
    ("Tuple should", "The list should"),
    ("Dictionary should", "The mapping should"),
)


def _describe(error: ErrorDetails, source: YamlSource, model: type[BaseModel]) -> Problem:
    kind = error["type"]
    path = _data_path(source.data, error["loc"], missing=kind == "missing")
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else str(error["loc"][-1])
        allowed = allowed_keys(model, path[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        else:
            hint = "allowed keys here: " + ", ".join(allowed) if allowed else ""
        return source.problem(path, f"unknown key {key!r}", hint)
    if kind == "missing":
        key = str(path[-1]) if path else str(error["loc"][-1])
        return source.problem(path, f"missing required key {key!r}", "add it")
    message = str(error["msg"]).removeprefix("Value error, ")
    for pydantic_word, yaml_word in _YAML_WORDS:
        message = message.replace(pydantic_word, yaml_word)
    if kind != "value_error" and "input" in error:
        shown = repr(error["input"])
        message += f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    return source.problem(path, message)


def validate(model: type[BaseModel], source: YamlSource) -> BaseModel:
    """Validate parsed YAML against a model; raise RubricError listing every located problem."""
    if not isinstance(source.data, dict):
        raise RubricError.single(
            source.file, "the file must be a YAML mapping (key: value lines)", line=1
        )
    try:
        return model.model_validate(source.data)
    except ValidationError as error:
        errors = error.errors()
        paths = [
            _data_path(source.data, tuple(e["loc"]), missing=e["type"] == "missing") for e in errors
        ]
        # A failing child also fails its container ("items: too short", the other branch of a
        # union): report only the deepest problems.
        kept = [
            e
            for e, path in zip(errors, paths, strict=True)
            if not any(len(other) > len(path) and other[: len(path)] == path for other in paths)
        ]
        problems = list(dict.fromkeys(_describe(e, source, model) for e in kept))
        raise RubricError(problems) from error
