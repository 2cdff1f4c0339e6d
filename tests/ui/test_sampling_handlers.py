"""The Sampling tab's handlers called directly: a supervisor sees what the site's plan draws per
agent and day; reviewers and agents are refused on the server.

The store is tests/review_store.py's: three scored calls of three agents on 20 November 2026.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from review_store import build_review_store

from qa.access.roles import Role, User
from qa.config import SamplingPlan
from ui import sampling
from ui.context import AppContext


def test_the_plan_per_agent_and_day_for_leads_only(tmp_path: Path) -> None:
    plan = SamplingPlan(daily_share=0.1, min_per_agent_day=1, reviewer_quotas={"rita": 2})
    ctx = AppContext(db_path=build_review_store(tmp_path), audio_dir=tmp_path, sampling=plan)
    denied, body, summary, draws = sampling.load(ctx, User("sam", Role.SUPERVISOR))
    assert denied == "" and body.visible is True
    assert sorted(summary["Agent"]) == ["1001", "1002", "1003"]
    assert list(summary["Daily"]) == [1, 1, 1] and list(summary["Left"]) == [1, 1, 1]
    assert sorted(draws["Reviewer"]) == ["-", "rita", "rita"]  # rita's quota is 2 a day
    for refused in (User("rita", Role.REVIEWER), User("bob", Role.AGENT)):
        with pytest.raises(gr.Error, match="may not assign reviews"):
            sampling.plan_view(ctx, refused, "", "")
        notice, hidden, *_ = sampling.load(ctx, refused)
        assert "supervisors and admins" in notice and hidden.visible is False
    empty, _ = sampling.plan_view(ctx, User("sam", Role.SUPERVISOR), "2026-12-01", "")
    assert empty.empty
