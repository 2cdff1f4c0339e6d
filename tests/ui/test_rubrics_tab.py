"""The Rubrics tab's handlers called directly: only supervisors and admins; a draft checked with
``qa rubrics check``'s messages, tried without writing, deployed as a new version with the stored
calls re-scored and the deployment in the audit log. Over the review store, with a private copy
of the shipped rubrics as the site's rubrics folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import pytest
from records_store import PASSWORD, REVIEWER, SUPERVISOR
from review_store import build_review_store

from qa.access.audit_log import entries
from qa.access.roles import Role, User
from qa.access.users import add_user, list_users
from qa.db import open_db
from ui import rubrics
from ui.context import AppContext

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(tmp_path: Path) -> tuple[AppContext, dict[str, User]]:
    db_path = build_review_store(tmp_path)
    db = open_db(db_path)
    for name, role in ((REVIEWER, Role.REVIEWER), (SUPERVISOR, Role.SUPERVISOR)):
        add_user(db, name, PASSWORD, role)
    people = {user.username: user for user in list_users(db)}
    db.close()
    folder = tmp_path / "site-rubrics"
    shutil.copytree(REPO / "rubrics", folder)
    audio = tmp_path / "audio"
    audio.mkdir()
    return AppContext(db_path=db_path, audio_dir=audio, rubrics_dir=folder), people


def _count(ctx: AppContext, sql: str) -> int:
    db = open_db(ctx.db_path)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


def test_reviewers_are_refused(app) -> None:
    ctx, people = app
    with pytest.raises(gr.Error, match="may not try drafts"):
        rubrics.load_page(ctx, people[REVIEWER])
    with pytest.raises(gr.Error, match="may not"):
        rubrics.deploy(ctx, people[REVIEWER], "inbound-service", "id: x", "", "")


def test_check_try_and_deploy_a_draft(app) -> None:
    ctx, people = app
    lead = people[SUPERVISOR]
    choices, text = rubrics.load_page(ctx, lead)
    assert "inbound-service" in choices.choices[0] or "inbound-service" in str(choices.choices)
    text = rubrics.show(ctx, lead, "inbound-service")
    assert 'version: "8"' in text
    assert rubrics.check(ctx, lead, "inbound-service", text).startswith("ok")
    broken = text.replace("    weight: 20\n", "    weight: heavy\n", 1)
    message = rubrics.check(ctx, lead, "inbound-service", broken)
    assert message.startswith("FAIL") and "inbound-service.yaml" in message and "weight" in message

    draft = text.replace('version: "8"', 'version: "9"')
    cards = _count(ctx, "select count(*) from scorecards")
    report = rubrics.try_it(ctx, lead, "inbound-service", draft, "", "", "")
    assert report.startswith("inbound-service v9 (draft):")
    assert _count(ctx, "select count(*) from scorecards") == cards  # nothing written

    with pytest.raises(gr.Error, match="new version"):
        rubrics.deploy(ctx, lead, "inbound-service", text, "", "same version")
    message = rubrics.deploy(ctx, lead, "inbound-service", draft, "", "stricter closing")
    assert message.startswith("Deployed inbound-service v9: re-scored")
    assert 'version: "9"' in (ctx.rubrics_dir / "inbound-service.yaml").read_text()
    assert _count(ctx, "select count(*) from scorecards where rubric_version = '9'") > 0
    db = open_db(ctx.db_path)
    deployed = [e for e in entries(db) if e.action == "rubric.deploy"]
    db.close()
    assert [(e.actor, e.target, e.before, e.after, e.reason) for e in deployed] == [
        (SUPERVISOR, "inbound-service", "v8", "v9", "stricter closing")
    ]
