"""The one exception the rubric engine raises, and the problem records it carries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rubric or phrase-library file, located for the person fixing it."""

    file: str
    line: int | None
    where: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line is not None else self.file
        where = f" {self.where}:" if self.where else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{location}:{where} {self.message}{hint}"


class RubricError(ValueError):
    """A rubric or phrase library is invalid, or cannot be used as asked.

    ``problems`` lists every problem found (file, line, what is wrong, a hint); ``str()`` shows
    them one per line as ``file:line: path: message — hint``.
    """

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", line=None, where="", message=problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(problem).lstrip(": ") for problem in self.problems))

    @classmethod
    def single(
        cls,
        file: str | Path,
        message: str,
        *,
        line: int | None = None,
        where: str = "",
        hint: str = "",
    ) -> RubricError:
        """One problem in one file."""
        return cls([Problem(file=str(file), line=line, where=where, message=message, hint=hint)])
