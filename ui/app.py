"""The review app: Gradio Blocks with one module per tab, behind a login.

Usage::

    serve("var/demo.db")                       # http://127.0.0.1:7860, login required
    app = build_app("var/demo.db")   # the Blocks; launch them with launch_options()
    python -m ui var/demo.db --tabs calls,queues   # some tabs only (ui/__main__.py)

Users and roles come from the store (``qa users``); Gradio's login page checks passwords with
:func:`qa.access.users.authenticate`, and every handler learns the user from
``gr.Request.username``. The app binds to 127.0.0.1 unless told otherwise: put it behind a TLS
reverse proxy to open it to a network.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from qa import runtime
from qa.access.permissions import Action, can, sees_personal_data
from qa.access.roles import Role
from qa.config import Config
from qa.db import open_db
from qa.review.notifications import notifications
from qa.review.state import rubric_pass_marks
from scoring import RubricError
from ui import (
    agents,
    appeals,
    audit,
    calibration,
    calls,
    coaching,
    complaints,
    my_calls,
    queues,
    rubrics,
    rules,
    sampling,
    search,
    users,
)
from ui.context import AppContext
from ui.file_access import file_access_middleware
from ui.guard import guard_middleware, trust_proxies
from ui.login import AUTH_MESSAGE, client_middleware, login_check
from ui.render import APP_CSS
from ui.widgets import CallView

__all__ = ["TABS", "build_app", "launch_options", "serve"]

logger = logging.getLogger(__name__)

# tab key -> label, in the order the tabs show. The calls tab is built first: its builder returns
# the call view the queues tab opens calls in.
TABS: dict[str, str] = {
    "calls": "Calls",
    "queues": "Queues",
    "search": "Search",
    "agents": "Agents",
    "complaints": "Complaints",
    "audit": "Audit",
    "rubrics": "Rubrics",
    "users": "Users",
    "appeals": "Appeals",
    "rules": "Rules",
    "calibration": "Calibration",
    "sampling": "Sampling",
    "coaching": "Coaching",
    "my_calls": "My evaluations",
}
# The tabs an agent sees (their own calls and coaching tasks only); every other role sees every tab
# but My evaluations. Hiding is for the page only: each handler checks the role on the server.
AGENT_TABS = frozenset({"my_calls", "coaching"})
AGENTS_ONLY = frozenset({"my_calls"})
# the tabs that need nothing from another: each lays itself out inside the current Blocks context
_SELF_CONTAINED: dict[str, Callable[[AppContext, gr.Blocks], None]] = {
    "search": search.build_tab,
    "rubrics": rubrics.build_tab,
    "agents": agents.build_tab,
    "complaints": complaints.build_tab,
    "audit": audit.build_tab,
    "users": users.build_tab,
    "appeals": appeals.build_tab,
    "rules": rules.build_tab,
    "calibration": calibration.build_tab,
    "sampling": sampling.build_tab,
    "coaching": coaching.build_tab,
    "my_calls": my_calls.build_tab,
}


def sees_agent_tabs(role: Role) -> bool:
    """Whether ``role`` gets the agents' tabs (their own calls) instead of the staff ones."""
    return can(role, Action.VIEW_OWN_EVALUATIONS) and not can(role, Action.VIEW_CALLS)


def _audio_dir() -> Path:
    # Under the system temp folder, which Gradio may serve from; removed when the process ends.
    folder = Path(tempfile.mkdtemp(prefix="callqa-audio-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _pass_marks(config: Config) -> dict[tuple[str, str], float]:
    """The rubrics' pass marks, for scorecards scored before cards kept their own."""
    try:
        return rubric_pass_marks(config.rubrics)
    except (RubricError, OSError) as error:
        logger.warning("cannot read the rubrics in %s for pass marks: %s", config.rubrics, error)
        return {}


def build_app(
    db_path: str | Path, *, tabs: Sequence[str] | None = None, config: Config | None = None
) -> gr.Blocks:
    """The review app's Blocks for the store at ``db_path`` (all tabs, or the ``tabs`` named),
    with the review queue settings, time zone and rubrics of ``config`` (default: defaults).

    Launch it with :func:`launch_options` (login, host, no telemetry), or call :func:`serve`.
    """
    db_path = Path(db_path).resolve()
    open_db(db_path).close()  # migrate now, not inside the first request
    config = config or Config()
    ctx = AppContext(
        db_path=db_path,
        audio_dir=_audio_dir(),
        review=config.review,
        zone=config.zone,
        pass_marks=_pass_marks(config),
        rubrics_dir=config.rubrics,
        appeals=config.appeals,
        agreement=config.agreement,
        sampling=config.sampling,
    )
    chosen = list(tabs or TABS)
    unknown = [key for key in chosen if key not in TABS]
    if unknown:
        raise ValueError(f"unknown tab(s) {unknown}: choose from {sorted(TABS)}")
    if "calls" in chosen:  # built first: the other tabs open calls in its call view
        chosen.remove("calls")
        chosen.insert(0, "calls")
    elif "queues" in chosen:
        raise ValueError("the queues tab opens calls in the calls tab: choose both")
    with gr.Blocks(
        # Gradio's copies of call audio are deleted after two hours (checked every half hour).
        title="Call QA review",
        analytics_enabled=False,
        delete_cache=(1800, 7200),
    ) as app:
        header = gr.HTML(elem_id="qa-header")
        with gr.Tabs(elem_id="qa-tabs") as tab_set:
            call_view: CallView | None = None
            tab_list: list[gr.Tab] = []
            for key in chosen:
                with gr.Tab(TABS[key], id=key) as tab:
                    tab_list.append(tab)
                    if key == "calls":
                        call_view = calls.build_tab(ctx, app)
                    elif key == "queues":
                        assert call_view is not None  # checked above: calls is built first
                        queues.build_tab(ctx, app, call_view, tab_set, tab)
                    else:
                        _SELF_CONTAINED[key](ctx, app)

        def who(request: gr.Request) -> list[Any]:
            user = ctx.viewer(request)
            masking = "unmasked" if sees_personal_data(user.role) else "personal numbers masked"
            agent = sees_agent_tabs(user.role)
            shown = [key in AGENT_TABS if agent else key not in AGENTS_ONLY for key in chosen]
            with ctx.db() as db:
                todo = notifications(db, user, appeals=ctx.appeals)
            notes = "".join(
                f'<li data-notice="{n.kind}">{escape(n.text)} ({escape(n.tab)})</li>' for n in todo
            )
            return [
                f"Signed in as <b>{escape(user.username)}</b> ({user.role.value}; {masking}) · "
                f"times in {escape(ctx.zone.key)} · "
                '<a href="logout" target="_self">Log out</a>'
                + (f'<ul class="qa-notices" id="qa-notices">{notes}</ul>' if notes else ""),
                # "hidden", not False: Gradio 6.31 leaves a tab's button up on visible=False.
                # Tabs that stay are left alone: updating them reorders the tab list.
                *(gr.skip() if visible else gr.Tab(visible="hidden") for visible in shown),
            ]

        def landing(request: gr.Request) -> Any:
            # Agents land on My evaluations. Gradio 6.31 drops a `selected` sent with the load
            # that hides the staff tabs (the first tab, selected, is hidden), so a step of its
            # own selects the tab once the others are gone.
            agent = "my_calls" in chosen and sees_agent_tabs(ctx.viewer(request).role)
            return gr.Tabs(selected="my_calls") if agent else gr.skip()

        # The progress shows on the header only: Gradio's page walks every progress target of
        # every event so far, with all it contains, at each status change of any later event;
        # with the tabs among them, each click anywhere walked the whole app.
        app.load(who, inputs=None, outputs=[header, *tab_list], show_progress_on=header).then(
            landing, inputs=None, outputs=tab_set, show_progress_on=header
        )
    # Several reviewers at once: opening a call decodes its audio, which should not queue.
    app.queue(default_concurrency_limit=4)
    return app


def launch_options(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    config: Config | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: the login check against the store, the guard
    (origin check, session timeouts and revocation), the address, no share link, no server-side
    rendering (needs Node) and no API page. Trusts ``X-Forwarded-For`` only from the config's
    ``trusted_proxies`` (set for the server about to start)."""
    config = config or Config()
    trust_proxies(config.trusted_proxies)
    return {
        # qa.access.accounts' password check with its limits per user, client and both.
        "auth": login_check(db_path),
        "auth_message": AUTH_MESSAGE,
        "app_kwargs": {
            "middleware": [
                client_middleware(),
                *guard_middleware(db_path, config.allowed_origins),
                *file_access_middleware(),  # cached files for the session sent them only
            ]
        },
        "server_name": host,
        "server_port": port,
        "share": False,
        "ssr_mode": False,
        "mcp_server": False,
        "footer_links": [],
        "show_error": True,
        "css": APP_CSS,  # the one-screen call view (ui.render)
    }


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    tabs: Sequence[str] | None = None,
    block: bool = True,
    config: Config | None = None,
) -> gr.Blocks:
    """Build the app and serve it at http://HOST:PORT behind the login. ``block=False`` returns
    at once with the server running in the background (tests; stop it with ``app.close()``).
    ``config`` gives the review queue settings, time zone and rubrics (``qa serve --config``).
    The process environment is :mod:`qa.runtime`'s (no Gradio analytics, no hub lookups), and
    its umask 077 (what the server writes holds personal data)."""
    runtime.apply()
    # Everything the server writes (decoded audio, exports, Gradio's cached copies of them)
    # holds personal data: readable by this user only.
    os.umask(0o077)
    app = build_app(db_path, tabs=tabs, config=config)
    logger.info("serving the review app for %s on %s:%d", db_path, host, port)
    options = launch_options(db_path, host, port, config=config)
    app.launch(**options, prevent_thread_lock=not block, quiet=True)
    return app
