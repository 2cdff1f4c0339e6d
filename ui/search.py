"""The Search tab: find what was said (qa.search), open a hit with its turns around it and the
audio at that moment, save searches, share them by link, and work one as a review queue.

Handlers take ``(ctx, user, ...)`` and check the user's role on the server; hit text is masked
for roles that may not see personal numbers. A link ``?search=NUMBER`` opens a saved search::

    frame, note = run_search(ctx, user, *form_values)
    title, audio, note, context = open_hit(ctx, user, call_id, turn)
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

import gradio as gr
import pandas as pd

from qa.access.permissions import Action, PermissionDeniedError, sees_personal_data
from qa.access.roles import User
from qa.review.assignment import claim
from qa.review.call_view import CallNotFoundError, RecordingError, playable_audio
from qa.review.state import ReviewWorkflowError
from qa.search.query import (
    SearchHit,
    SearchQuery,
    SearchQueryError,
    hit_context,
    search,
)
from qa.search.saved import (
    SavedSearchError,
    get_search,
    list_searches,
    save_search,
    search_queue,
)
from ui.context import AppContext, permitted
from ui.render import CSS, clock
from ui.widgets import call_audio, parse_day, selected_cell

logger = logging.getLogger(__name__)

AUDIO_ELEM_ID = "qa-search-audio"
HEADERS = ["Call ID", "Started", "Agent", "At", "Role", "Match", "Text", "Turn"]
QUEUE_HEADERS = ["Call ID", "Review", "Assignee", "Hits", "First hit"]
MODES = {"Words and sounds": "sounds", "Words only": "words", "Meaning": "meaning"}
POSITIONS = {
    "Anywhere": None,
    "First N turns": "first_turns",
    "Last N turns": "last_turns",
    "First N seconds": "first_seconds",
    "Last N seconds": "last_seconds",
}
_ANY = "any"

# Clicking a turn seeks the tab's player; when a hit opens, the player goes to the hit once the
# call's audio is loaded (the context names its call, so the previous call's audio is never
# moved).
CONTEXT_JS = """
const player = () => document.querySelector('#AUDIO_ELEM_ID audio');
const play = (a, t) => { a.currentTime = t; const p = a.play(); if (p) p.catch(() => {}); };
let pending = null;
const seekWhenLoaded = (callFile, t) => {
  if (pending) clearInterval(pending);
  let tries = 0;
  pending = setInterval(() => {
    const a = player();
    tries += 1;
    if (a && a.src && a.src.includes(callFile) && a.readyState >= 1) {
      clearInterval(pending); pending = null; play(a, t);
    } else if (tries > 200) { clearInterval(pending); pending = null; }
  }, 100);
};
new MutationObserver(() => {
  const root = element.querySelector('[data-call-file]');
  const hit = element.querySelector('[data-hit]');
  if (root && hit) seekWhenLoaded(root.dataset.callFile, parseFloat(hit.dataset.seek));
}).observe(element, { childList: true, subtree: true });
element.addEventListener('click', (event) => {
  const target = event.target.closest('[data-seek]');
  const a = player();
  if (!target || !a) return;
  event.preventDefault();
  play(a, parseFloat(target.dataset.seek));
});
""".replace("AUDIO_ELEM_ID", AUDIO_ELEM_ID)

SEARCH_CSS = CSS + ".qa-hit { outline: 2px solid var(--color-accent); }\n"


def _masked(user: User) -> bool:
    return not sees_personal_data(user.role)


def _number(value: Any, label: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{label}: give a number, e.g. 5") from None


def query_from_form(
    text: str,
    mode: str,
    role: str,
    position: str,
    amount: Any,
    since: str,
    until: str,
    agent: str,
    queue: str,
    direction: str,
    language: str,
    item: str,
    flag: str,
    min_score: Any,
    max_score: Any,
    review_status: str,
    metric: str,
) -> SearchQuery:
    """The search the form describes; a gr.Error naming the field that is wrong."""
    kind = MODES.get(mode, "sounds")
    window: dict[str, Any] = {}
    where = POSITIONS.get(position)
    if where is not None:
        count = _number(amount, position)
        if count is None or count <= 0:
            raise gr.Error(f"{position}: give N, a number above 0")
        window[where] = int(count) if where.endswith("turns") else count
    return SearchQuery(
        text=(text or "").strip(),
        meaning=kind == "meaning",
        sounds_like=kind == "sounds",
        role=None if role in (None, "", _ANY) else role,
        since=parse_day(since, "Since"),
        until=parse_day(until, "Until"),
        agent=(agent or "").strip() or None,
        queue=(queue or "").strip() or None,
        direction=None if direction in (None, "", _ANY) else direction,
        language=(language or "").strip() or None,
        items=tuple(part.strip() for part in (item or "").split(",") if part.strip()),
        flags=tuple(part.strip() for part in (flag or "").split(",") if part.strip()),
        min_score=_number(min_score, "Min score"),
        max_score=_number(max_score, "Max score"),
        review_status=None if review_status in (None, "", _ANY) else review_status,
        metrics=tuple(part.strip() for part in (metric or "").split(",") if part.strip()),
        **window,
    )


def form_from_query(query: SearchQuery) -> list[Any]:
    """The form's values for a saved search (the inverse of :func:`query_from_form`)."""
    mode = "Meaning" if query.meaning else "Words and sounds" if query.sounds_like else "Words only"
    position, amount = "Anywhere", None
    for label, name in POSITIONS.items():
        if name and getattr(query, name) is not None:
            position, amount = label, getattr(query, name)
    return [
        query.text, mode, query.role or _ANY, position, amount,
        query.since.isoformat() if query.since else "",
        query.until.isoformat() if query.until else "",
        query.agent or "", query.queue or "", query.direction or _ANY, query.language or "",
        ", ".join(query.items), ", ".join(query.flags), query.min_score, query.max_score,
        query.review_status or _ANY, ", ".join(query.metrics),
    ]  # fmt: skip


def hits_frame(hits: tuple[SearchHit, ...]) -> pd.DataFrame:
    rows = [
        [hit.call_id, hit.call_start.strftime("%Y-%m-%d %H:%M"), hit.agent_name or hit.agent or "",
         clock(hit.at), hit.role,
         hit.match if hit.similarity is None else f"{hit.match} {hit.similarity:.2f}",
         hit.text, hit.turn]
        for hit in hits
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=HEADERS)


def _run(ctx: AppContext, user: User, query: SearchQuery) -> tuple[pd.DataFrame, str]:
    with ctx.db() as db:
        try:
            result = search(db, query, masked=_masked(user), zone=ctx.zone)
        except SearchQueryError as error:
            raise gr.Error(str(error)) from None
    calls = len(result.call_ids)
    note = f"{len(result.hits)} hit(s) in {calls} call(s)"
    if result.truncated:
        note += f": the first {query.limit} shown, narrow the search to see the rest"
    if result.masked:
        note += " · personal numbers masked for your role"
    return hits_frame(result.hits), note


def run_search(ctx: AppContext, user: User, *form: Any) -> tuple[pd.DataFrame, str]:
    """The hits of the search the form describes, as ``user`` may see them."""
    permitted(user, Action.VIEW_CALLS)
    return _run(ctx, user, query_from_form(*form))


def _context_html(call_id: str, turn: int, turns: list[tuple[int, str, float, float, str]]) -> str:
    call_file = escape(call_id.replace(" ", "_")) + ".wav"
    lines = [f'<div class="qa-transcript" data-call-file="{call_file}">']
    for number, role, start, end, text in turns:
        hit = " qa-hit" if number == turn else ""
        mark = " data-hit" if number == turn else ""
        lines.append(
            f'<div class="qa-turn qa-role-{escape(role)}{hit}" role="button" tabindex="0" '
            f'data-seek="{start:.2f}" data-end="{end:.2f}" data-turn="{number}"{mark}>'
            f'<span class="qa-time">{clock(start)}</span>'
            f'<span class="qa-role">{escape(role.capitalize())}</span>'
            f'<span class="qa-text">{escape(text)}</span></div>'
        )
    lines.append("</div>")
    return "\n".join(lines)


def open_hit(ctx: AppContext, user: User, call_id: str | None, turn: Any) -> list[Any]:
    """A hit's call: title, playable audio, a note, and the turns around the hit (masked for
    the role); the player then goes to the hit."""
    permitted(user, Action.VIEW_CALLS)
    if not call_id:
        return ["", None, "", ""]
    try:
        number = int(turn)
    except (TypeError, ValueError):
        raise gr.Error(f"no turn {turn!r} in call {call_id}") from None
    with ctx.db() as db:
        turns = hit_context(db, call_id, number, around=3, masked=_masked(user))
        if not turns:
            raise gr.Error(f"call {call_id} has no turn {number} in the search index")
        ctx.prune_audio()
        try:
            playable = playable_audio(db, call_id, ctx.audio_dir)
            audio_value, note = str(playable.path), f"Audio: {playable.description}."
        except (RecordingError, CallNotFoundError) as error:
            audio_value, note = None, f"**No audio:** {error}"
    at = next(start for n, _, start, _, _ in turns if n == number)
    title = f"<h3>Call {escape(call_id)} · turn {number} at {clock(at)}</h3>"
    logger.info("%s opened search hit %s/%d", user.username, call_id, number)
    return [title, audio_value, note, _context_html(call_id, number, turns)]


def saved_choices(ctx: AppContext, user: User) -> list[tuple[str, int]]:
    with ctx.db() as db:
        return [(s.name, s.search_id) for s in list_searches(db, user.username)]


def save_form(ctx: AppContext, user: User, name: str, *form: Any) -> tuple[Any, str]:
    """Save the form's search under ``name`` for ``user``; the saved list and its link."""
    permitted(user, Action.VIEW_CALLS)
    query = query_from_form(*form)
    with ctx.db() as db:
        try:
            saved = save_search(db, user, name or "", query)
        except ValueError as error:
            raise gr.Error(str(error)) from None
    choices = saved_choices(ctx, user)
    link = f"?search={saved.search_id}"
    return (
        gr.Dropdown(choices=choices, value=saved.search_id),
        f"Saved as “{escape(saved.name)}”. Share it: <a href='{link}'>{link}</a>",
    )


def open_saved(ctx: AppContext, user: User, search_id: Any) -> list[Any]:
    """A saved search (anyone's, by its number: shared links): its form values and hits."""
    permitted(user, Action.VIEW_CALLS)
    if search_id in (None, ""):
        return [gr.skip()] * 19
    with ctx.db() as db:
        try:
            saved = get_search(db, int(search_id))
        except (SavedSearchError, ValueError) as error:
            raise gr.Error(str(error)) from None
    frame, note = _run(ctx, user, saved.query)
    owner = "" if saved.owner == user.username else f" (shared by {escape(saved.owner)})"
    return [*form_from_query(saved.query), frame, f"“{escape(saved.name)}”{owner}: {note}"]


def queue_frame(ctx: AppContext, user: User, search_id: Any) -> pd.DataFrame:
    """The saved search as a review queue: its calls, newest first, with review status."""
    permitted(user, Action.VIEW_QUEUES)
    if search_id in (None, ""):
        raise gr.Error("Pick or save a search first")
    with ctx.db() as db:
        try:
            saved = get_search(db, int(search_id))
            rows = search_queue(db, saved, masked=_masked(user), zone=ctx.zone)
        except (SavedSearchError, SearchQueryError, ValueError) as error:
            raise gr.Error(str(error)) from None
    return pd.DataFrame(
        [[r.call_id, r.review_status, r.assignee or "", len(r.hits), r.hits[0].text] for r in rows],
        columns=QUEUE_HEADERS,
    )


def claim_next(ctx: AppContext, user: User, search_id: Any) -> tuple[pd.DataFrame, str]:
    """Claim the queue's next call nobody has (status new) for ``user``'s review."""
    permitted(user, Action.REVIEW_CALLS)
    frame = queue_frame(ctx, user, search_id)
    waiting = frame[frame["Review"] == "new"]
    if waiting.empty:
        return frame, "Nothing left to claim in this search."
    call_id = str(waiting.iloc[0]["Call ID"])
    with ctx.db() as db:
        try:
            claim(db, call_id, user)
        except (ReviewWorkflowError, PermissionDeniedError) as error:
            raise gr.Error(str(error)) from None
    message = f"Claimed call {call_id} for your review: open it in the Calls or Queues tab."
    return queue_frame(ctx, user, search_id), message


def build_tab(ctx: AppContext, app: gr.Blocks) -> None:
    """Lay out the Search tab inside the current Blocks context and wire its events."""
    with gr.Row():
        text = gr.Textbox(label="Said", placeholder="refund · 投诉 · I want my money back",
                          elem_id="qa-search-text", scale=4)  # fmt: skip
        mode = gr.Dropdown(list(MODES), value="Words and sounds", label="Match", scale=2)
        role = gr.Dropdown([_ANY, "agent", "customer"], value=_ANY, label="Said by", scale=1)
        position = gr.Dropdown(list(POSITIONS), value="Anywhere", label="Where", scale=2)
        amount = gr.Number(label="N", scale=1, minimum=0)
        go = gr.Button("Search", variant="primary", elem_id="qa-search-go", scale=1)
    with gr.Accordion("Filters", open=False):
        with gr.Row():
            since = gr.Textbox(label="Since (YYYY-MM-DD)")
            until = gr.Textbox(label="Until (YYYY-MM-DD)")
            agent = gr.Textbox(label="Agent (id or name)")
            queue = gr.Textbox(label="Queue")
            direction = gr.Dropdown([_ANY, "inbound", "outbound", "internal"], value=_ANY,
                                    label="Direction")  # fmt: skip
            language = gr.Textbox(label="Language (en, zh)")
        with gr.Row():
            item = gr.Textbox(label="Item verdict", placeholder="inbound-service/greeting=fail")
            flag = gr.Textbox(label="Flag", placeholder="complaint")
            min_score = gr.Number(label="Min score")
            max_score = gr.Number(label="Max score")
            review_status = gr.Dropdown([_ANY, "new", "in_review", "done", "disputed"],
                                        value=_ANY, label="Review status")  # fmt: skip
            metric = gr.Textbox(label="Metric", placeholder="silence_share>=0.3, duration>=60")
    form = [text, mode, role, position, amount, since, until, agent, queue, direction, language,
            item, flag, min_score, max_score, review_status, metric]  # fmt: skip
    note = gr.Markdown(elem_id="qa-search-note")
    hits = gr.Dataframe(value=hits_frame(()), headers=HEADERS, interactive=False, wrap=True,
                        max_height=360, elem_id="qa-search-hits",
                        label="Hits (newest call first): select one to hear it")  # fmt: skip
    title = gr.HTML("", elem_id="qa-search-title")
    audio = call_audio(AUDIO_ELEM_ID)
    audio_note = gr.Markdown()
    context = gr.HTML("", elem_id="qa-search-context", js_on_load=CONTEXT_JS,
                      css_template=SEARCH_CSS)  # fmt: skip
    with gr.Accordion("Saved searches", open=False):
        with gr.Row():
            saved = gr.Dropdown(label="My saved searches", choices=[], elem_id="qa-search-saved")
            name = gr.Textbox(label="Save as", placeholder="refund complaints")
            save = gr.Button("Save", size="sm")
            as_queue = gr.Button("Use as queue", size="sm")
            take = gr.Button("Claim next", size="sm")
        saved_note = gr.HTML(elem_id="qa-search-saved-note")
        queue_table = gr.Dataframe(headers=QUEUE_HEADERS, interactive=False, wrap=True,
                                   elem_id="qa-search-queue")  # fmt: skip
    view = [title, audio, audio_note, context]

    def on_load(request: gr.Request) -> list[Any]:
        user = ctx.viewer(request)
        choices = gr.Dropdown(choices=saved_choices(ctx, user))
        shared = (request.query_params or {}).get("search") if request else None
        if not shared:
            return [choices, *[gr.skip()] * 19]
        return [choices, *open_saved(ctx, user, shared)]

    # Gradio passes the request to a parameter annotated gr.Request, so the form's fields are
    # named (a *args handler would get none).
    def on_search(text: str, mode: str, role: str, position: str, amount: Any, since: str,
                  until: str, agent: str, queue: str, direction: str, language: str, item: str,
                  flag: str, min_score: Any, max_score: Any, review_status: str, metric: str,
                  request: gr.Request) -> tuple[pd.DataFrame, str]:  # fmt: skip
        return run_search(ctx, ctx.viewer(request), text, mode, role, position, amount, since,
                          until, agent, queue, direction, language, item, flag, min_score,
                          max_score, review_status, metric)  # fmt: skip

    def on_select(evt: gr.SelectData, request: gr.Request) -> list[Any]:
        user = ctx.viewer(request)
        return open_hit(ctx, user, selected_cell(evt, 0), selected_cell(evt, len(HEADERS) - 1))

    def on_save(name_value: str, text: str, mode: str, role: str, position: str, amount: Any,
                since: str, until: str, agent: str, queue: str, direction: str, language: str,
                item: str, flag: str, min_score: Any, max_score: Any, review_status: str,
                metric: str, request: gr.Request) -> tuple[Any, str]:  # fmt: skip
        return save_form(ctx, ctx.viewer(request), name_value, text, mode, role, position, amount,
                         since, until, agent, queue, direction, language, item, flag, min_score,
                         max_score, review_status, metric)  # fmt: skip

    def on_open_saved(search_id: Any, request: gr.Request) -> list[Any]:
        return open_saved(ctx, ctx.viewer(request), search_id)

    def on_queue(search_id: Any, request: gr.Request) -> pd.DataFrame:
        return queue_frame(ctx, ctx.viewer(request), search_id)

    def on_claim(search_id: Any, request: gr.Request) -> tuple[pd.DataFrame, str]:
        return claim_next(ctx, ctx.viewer(request), search_id)

    app.load(on_load, inputs=None, outputs=[saved, *form, hits, note])
    gr.on([go.click, text.submit], on_search, inputs=form, outputs=[hits, note])
    hits.select(on_select, inputs=None, outputs=view)
    save.click(on_save, inputs=[name, *form], outputs=[saved, saved_note])
    saved.input(on_open_saved, inputs=saved, outputs=[*form, hits, note])
    as_queue.click(on_queue, inputs=saved, outputs=queue_table)
    take.click(on_claim, inputs=saved, outputs=[queue_table, saved_note])
