"""A rubric's draft as text (the Rubrics tab): checked with ``qa rubrics check``'s messages,
tried on stored calls (:mod:`qa.results.tryout`), and deployed as a new version — the file
replaced in the rubrics folder, the stored calls re-scored (:mod:`qa.results.rescore`) and the
change in the audit log::

    problems = check_draft(rubrics_dir, "inbound-service", text)     # [] when valid
    report = try_draft(db, rubrics_dir, "inbound-service", text, since=date(2026, 11, 1))
    summary = deploy_draft(db, rubrics_dir, "inbound-service", text, user, since=...)

The draft is checked inside a copy of the rubrics folder with the rubric's file replaced, so
it is checked with the folder's phrase and intent libraries, as deployed it would be.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path

import sqlite_utils

from qa.access import audit_log
from qa.access.permissions import Action, require
from qa.access.roles import User
from qa.results.rescore import RescoreSummary, find_rubric, rescore
from qa.results.tryout import TryReport, try_rubric
from scoring import Rubric, check_rubric_dir, load_rubrics

__all__ = ["DraftError", "check_draft", "deploy_draft", "deployed_rubrics", "try_draft"]


class DraftError(ValueError):
    """A draft that cannot be tried or deployed; the message lists the problems."""


def deployed_rubrics(rubrics_dir: Path) -> dict[str, tuple[Path, str]]:
    """Rubric id → (its file, its text), for the rubrics deployed in ``rubrics_dir``."""
    found = {}
    for rubric in load_rubrics(rubrics_dir):
        path = Path(rubric.source) if rubric.source else rubrics_dir / f"{rubric.id}.yaml"
        found[rubric.id] = (path, path.read_text(encoding="utf-8"))
    return found


@contextmanager
def _draft_folder(rubrics_dir: Path, rubric_id: str, text: str) -> Iterator[Path]:
    """A copy of the rubrics folder with the rubric's file replaced by the draft."""
    deployed = deployed_rubrics(rubrics_dir)
    if rubric_id not in deployed:
        raise DraftError(f"no deployed rubric {rubric_id!r} (known: {', '.join(sorted(deployed))})")
    with tempfile.TemporaryDirectory(prefix="callqa-draft-") as folder:
        copy = Path(folder) / "rubrics"
        shutil.copytree(rubrics_dir, copy)
        (copy / deployed[rubric_id][0].name).write_text(text, encoding="utf-8")
        yield copy


def check_draft(rubrics_dir: Path, rubric_id: str, text: str) -> list[str]:
    """The draft's problems, as ``qa rubrics check`` words them (none: it is valid)."""
    with _draft_folder(rubrics_dir, rubric_id, text) as folder:
        return [
            str(problem).replace(str(folder), str(rubrics_dir))
            for result in check_rubric_dir(folder)
            for problem in result.problems
        ]


def _loaded(folder: Path, rubric_id: str) -> Rubric:
    rubric = find_rubric(load_rubrics(folder), rubric_id)
    if rubric.id != rubric_id:
        raise DraftError(f"the draft's id is {rubric.id!r}: keep {rubric_id!r}")
    return rubric


def _draft_rubric(rubrics_dir: Path, rubric_id: str, text: str) -> Rubric:
    problems = check_draft(rubrics_dir, rubric_id, text)
    if problems:
        raise DraftError("\n".join(problems))
    with _draft_folder(rubrics_dir, rubric_id, text) as folder:
        try:
            return _loaded(folder, rubric_id)
        except LookupError:
            raise DraftError(f"the draft does not define rubric {rubric_id!r}") from None


def try_draft(
    db: sqlite_utils.Database,
    rubrics_dir: Path,
    rubric_id: str,
    text: str,
    *,
    since: date | None = None,
    until: date | None = None,
    agent: str | None = None,
    zone: tzinfo = UTC,
    masked: bool = True,
) -> TryReport:
    """What the draft would change on the stored calls of the period; writes nothing."""
    rubric = _draft_rubric(rubrics_dir, rubric_id, text)
    return try_rubric(db, rubric, since=since, until=until, agent=agent, zone=zone, masked=masked)


def deploy_draft(
    db: sqlite_utils.Database,
    rubrics_dir: Path,
    rubric_id: str,
    text: str,
    user: User,
    *,
    since: date | None = None,
    zone: tzinfo = UTC,
    reason: str = "",
) -> RescoreSummary:
    """Deploy the draft as the rubric's new version: its file replaced in ``rubrics_dir``, the
    stored calls that started on ``since`` or later re-scored, and the deployment in the audit
    log. The draft must be valid and carry a new ``version``."""
    require(user, Action.MANAGE_RUBRICS)
    rubric = _draft_rubric(rubrics_dir, rubric_id, text)
    path = deployed_rubrics(rubrics_dir)[rubric_id][0]
    old = find_rubric(load_rubrics(rubrics_dir), rubric_id)
    if rubric.version == old.version:
        raise DraftError(
            f"the draft keeps version {old.version!r}: give it a new version, so the calls "
            "scored with the deployed one keep theirs"
        )
    staged = path.with_suffix(path.suffix + ".deploying")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)  # atomic: a reader sees the old file or the new one
    with db.conn:
        audit_log.record(
            db, user.username, "rubric.deploy", target=rubric_id,
            before=f"v{old.version}", after=f"v{rubric.version}", reason=reason,
        )  # fmt: skip
    start = None if since is None else datetime.combine(since, time(0), tzinfo=zone)
    return rescore(db, rubric, since=start)
