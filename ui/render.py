"""HTML for the call view: transcript, scorecard and flags, from the typed records.

Every piece of text is escaped. Elements carrying ``data-seek="SECONDS"`` are the seek targets:
:data:`SEEK_JS` (run on each HTML component's load) moves the page's call audio player there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from html import escape

from calldata import Evidence, Flag, ItemResult, Role, Scorecard, Transcript, Verdict
from qa.access.audit_log import AuditEntry
from qa.review.state import ItemDecision, ReviewedScorecard

AUDIO_ELEM_ID = "qa-audio"

# One delegated listener per HTML component: it survives re-renders of the component's value.
SEEK_JS = """
const seek = (target, event) => {
  const audio = document.querySelector('#AUDIO_ELEM_ID audio');
  if (!audio) return;
  let at = parseFloat(target.dataset.seek);
  if (target.dataset.seekSpan !== undefined) {  // a span (the waveform): the time under the pointer
    const box = target.getBoundingClientRect();
    at = (event.clientX - box.left) / box.width * parseFloat(target.dataset.seekSpan);
  }
  audio.currentTime = at;
  const playing = audio.play();
  if (playing) playing.catch(() => {});
};
element.addEventListener('click', (event) => {
  const target = event.target.closest('[data-seek], [data-seek-span]');
  if (!target) return;
  event.preventDefault();
  seek(target, event);
});
element.addEventListener('keydown', (event) => {
  const target = event.target.closest('[data-seek]');
  if (target && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    seek(target, event);
  }
});
""".replace("AUDIO_ELEM_ID", AUDIO_ELEM_ID)

# The transcript also follows playback: the turn under the play head is outlined. Media events
# do not bubble, so the listener captures them on the document.
TRANSCRIPT_JS = (
    SEEK_JS
    + """
document.addEventListener('timeupdate', (event) => {
  const audio = event.target;
  if (!audio.closest || !audio.closest('#AUDIO_ELEM_ID')) return;
  const now = audio.currentTime;
  element.querySelectorAll('.qa-turn').forEach((turn) => {
    const start = parseFloat(turn.dataset.seek), end = parseFloat(turn.dataset.end);
    turn.classList.toggle('qa-playing', now >= start && now < end);
  });
}, true);
""".replace("AUDIO_ELEM_ID", AUDIO_ELEM_ID)
)

# The review desk's keys, one listener for the page (registered once however often the call view
# loads). Keys typed into a field are the field's; the others drive the player and the form.
KEYS_JS = """
if (!window.qaDeskKeys) {
  window.qaDeskKeys = true;
  const player = () => document.querySelector('#AUDIO_ELEM_ID audio');
  const items = () => [...document.querySelectorAll('.qa-review-item')];
  const press = (selector) => { const b = document.querySelector(selector); if (b) b.click(); };
  let current = -1;
  const focusItem = (index) => {
    const all = items();
    if (!all.length) return null;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((row, i) => row.classList.toggle('qa-focused', i === current));
    all[current].scrollIntoView({block: 'nearest'});
    return all[current];
  };
  const decide = (name) => {
    const row = items()[current] || focusItem(0);
    if (!row) return;
    const label = [...row.querySelectorAll('label')].find((l) => l.textContent.trim() === name);
    if (label) label.click();
    if (name === 'Override') row.querySelector('[id^=qa-verdict-] input')?.focus();
  };
  const speeds = [0.75, 1, 1.25, 1.5, 1.75, 2, 2.5];
  const speed = (way) => {
    const a = player();
    if (!a) return;
    const at = speeds.findIndex((s) => s >= a.playbackRate - 0.01);
    a.playbackRate = speeds[Math.max(0, Math.min(speeds.length - 1, (at < 0 ? 1 : at) + way))];
    const shown = document.querySelector('#qa-speed');
    if (shown) shown.textContent = a.playbackRate + '×';
  };
  document.addEventListener('keydown', (event) => {
    const t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = t && (t.isContentEditable || ['TEXTAREA', 'SELECT'].includes(t.tagName)
      || (t.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'range'].includes(t.type)));
    if (typing) {
      if (event.key === 'Escape') t.blur();
      return;
    }
    const a = player();
    const actions = {
      ' ': () => a && (a.paused ? a.play().catch(() => {}) : a.pause()),
      'k': () => a && (a.paused ? a.play().catch(() => {}) : a.pause()),
      'ArrowLeft': () => a && (a.currentTime = Math.max(0, a.currentTime - 5)),
      'ArrowRight': () => a && (a.currentTime = a.currentTime + 5),
      '[': () => speed(-1),
      ']': () => speed(1),
      'ArrowDown': () => focusItem(current + 1),
      'ArrowUp': () => focusItem(current - 1),
      'c': () => decide('Confirm'),
      'r': () => decide('Reject'),
      'o': () => decide('Override'),
      'a': () => press('#qa-review-confirm-all'),
      's': () => press('#qa-review-submit'),
      'n': () => press('#qa-review-next'),
    };
    const act = actions[event.key];
    if (!act || !document.querySelector('#qa-call-title')?.offsetParent) return;
    event.preventDefault();
    act();
  });
  document.addEventListener('timeupdate', (event) => {
    const a = event.target, head = document.querySelector('#qa-wave-head');
    const wave = document.querySelector('#qa-waveform');
    if (!head || !wave || !a.closest || !a.closest('#AUDIO_ELEM_ID')) return;
    const width = wave.viewBox.baseVal.width, duration = parseFloat(wave.dataset.duration);
    head.setAttribute('x', String(Math.min(width, a.currentTime / duration * width)));
  }, true);
}
""".replace("AUDIO_ELEM_ID", AUDIO_ELEM_ID)

#: the page's own rules (Blocks.launch css): the one-screen call view, table headers
APP_CSS = """
.qa-pane { max-height: calc(100vh - 175px); overflow-y: auto; flex-wrap: nowrap !important; }
/* a pane's parts keep their height and the pane scrolls (shrunk, a long form's call comment and
   flag heading were squashed to nothing) */
.qa-pane > * { flex-shrink: 0; }
#qa-desk { min-height: calc(100vh - 150px); }  /* room to scroll the call's title to the top */
/* a column heading breaks between words, never inside one ("Machin e") */
.gradio-container th, .gradio-container th *, [role=columnheader], [role=columnheader] * {
  word-break: keep-all !important; overflow-wrap: normal !important; hyphens: none; }
.qa-review-bar { position: sticky; top: 0; z-index: 5; background: var(--background-fill-primary); }
.qa-review-item.qa-focused { outline: 2px solid var(--color-accent); border-radius: 6px; }
#qa-waveform { width: 100%; height: 48px; display: block; cursor: pointer; }
.qa-wave-bar { stroke: var(--neutral-400); stroke-width: .8; fill: none; }
.qa-wave-hit { fill: transparent; }
.qa-wave-mark { fill-opacity: .9; }
.qa-wave-fail { fill: #dc2626; } .qa-wave-pass { fill: #059669; } .qa-wave-na { fill: #6b7280; }
#qa-wave-head { fill: var(--color-accent); }
kbd { border: 1px solid var(--border-color-primary); border-radius: 3px; padding: 0 .25em;
  font-size: .85em; }
"""

CSS = """
.qa-turn { display: grid; grid-template-columns: 3.5em 6.5em 1fr; gap: .5em; padding: .35em .5em;
  border-radius: 6px; cursor: pointer; margin-bottom: 2px; }
.qa-turn:hover, .qa-turn:focus { outline: 1px solid var(--color-accent); }
.qa-turn.qa-playing { outline: 2px solid var(--color-accent); }
.qa-role-agent { background: rgba(59, 130, 246, .12); }
.qa-role-customer { background: rgba(16, 185, 129, .12); }
.qa-role-unknown { background: rgba(156, 163, 175, .15); }
.qa-time, .qa-seek { font-variant-numeric: tabular-nums; }
.qa-role { font-weight: 600; }
.qa-low { opacity: .7; font-style: italic; }
.qa-card h4 { margin: .2em 0 .5em; }
.qa-item { border-top: 1px solid var(--border-color-primary); padding: .4em 0; }
.qa-verdict { display: inline-block; min-width: 3.2em; text-align: center; border-radius: 4px;
  font-weight: 700; font-size: .85em; padding: 0 .3em; margin-right: .4em; }
.qa-pass { background: rgba(16, 185, 129, .25); }
.qa-fail { background: rgba(239, 68, 68, .3); }
.qa-na { background: rgba(156, 163, 175, .3); }
.qa-sev-critical, .qa-sev-high { background: rgba(239, 68, 68, .3); }
.qa-sev-medium { background: rgba(245, 158, 11, .3); }
.qa-sev-low { background: rgba(156, 163, 175, .3); }
.qa-reason { font-size: .9em; opacity: .85; }
.qa-evidence { margin: .2em 0 0 1em; font-size: .92em; }
.qa-seek { cursor: pointer; text-decoration: underline; margin-right: .4em; }
.qa-empty { opacity: .7; }
.qa-human { margin-left: .4em; font-size: .9em; }
.qa-counts { font-weight: 600; }
.qa-audit { width: 100%; border-collapse: collapse; font-size: .9em; }
.qa-audit td, .qa-audit th { border-top: 1px solid var(--border-color-primary); padding: .25em .4em;
  text-align: left; vertical-align: top; }
.qa-more summary { cursor: pointer; list-style: none; }
.qa-more summary::-webkit-details-marker { display: none; }
.qa-more[open] summary { display: none; }
.qa-more-link { text-decoration: underline; opacity: .8; font-size: .9em; }
.qa-dispute { margin: .3em 0; padding: .4em .6em; border-radius: 6px;
  background: rgba(245, 158, 11, .18); }
.qa-denied { padding: .8em; border-radius: 6px; background: rgba(239, 68, 68, .15); }
"""

_ROLE_LABELS = {Role.AGENT: "Agent", Role.CUSTOMER: "Customer", Role.UNKNOWN: "Unknown"}
_VERDICT_LABELS = {Verdict.PASS: "PASS", Verdict.FAIL: "FAIL", Verdict.NA: "N/A"}


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a time in seconds."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def local_time(moment: datetime | None, zone: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``moment`` in the site's time zone (a naive time is taken as UTC); ``-`` for none."""
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(fmt)


#: texts longer than this are shortened, with the rest a click away
SHORT_TEXT = 160


def shortened(text: str, limit: int = SHORT_TEXT) -> str:
    """``text`` cut at a word to about ``limit`` characters with "…" (table cells; the full text
    is in the record the row opens)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return f"{cut}…"


def expandable_html(text: str, limit: int = SHORT_TEXT) -> str:
    """``text`` escaped; when long, its start with "…" and a click (``<details>``) for the rest."""
    short = shortened(text, limit)
    if short == " ".join(text.split()):
        return escape(text)
    return (
        f'<details class="qa-more"><summary>{escape(short)} <span class="qa-more-link">'
        f"show all ({len(text)} characters)</span></summary>{escape(text)}</details>"
    )


def _seek_attr(seconds: float) -> str:
    return f'data-seek="{seconds:.2f}"'


def transcript_html(transcript: Transcript | None, *, masked: bool) -> str:
    """The turns in time order, each with its time, role label and text; a click seeks."""
    if transcript is None:
        return '<p class="qa-empty">No transcript yet: the call has not been processed.</p>'
    if not transcript.turns:
        return '<p class="qa-empty">No speech was found in this recording.</p>'
    note = "personal numbers masked for your role" if masked else "unmasked"
    lines = [
        f'<div class="qa-transcript" data-turns="{len(transcript.turns)}">',
        f'<p class="qa-empty">{escape(transcript.language)} · {escape(transcript.channel_mode)}'
        f" · role confidence {transcript.role_confidence:.0%} · {note}</p>",
    ]
    for turn in transcript.turns:
        low = " qa-low" if turn.confidence < 0.5 else ""
        lines.append(
            f'<div class="qa-turn qa-role-{turn.role.value}{low}" role="button" tabindex="0" '
            f'{_seek_attr(turn.start)} data-end="{turn.end:.2f}" data-turn="{turn.index}" '
            f'title="{clock(turn.start)}-{clock(turn.end)}, confidence {turn.confidence:.0%}">'
            f'<span class="qa-time">{clock(turn.start)}</span>'
            f'<span class="qa-role">{_ROLE_LABELS[turn.role]}</span>'
            f'<span class="qa-text">{escape(turn.text)}</span></div>'
        )
    lines.append("</div>")
    return "\n".join(lines)


#: Evidence from words heard with less confidence than this is marked for the reviewer (and
#: puts the call in the low-confidence queue, qa.review.queues).
LOW_EVIDENCE_CONFIDENCE = 0.6


def _evidence_html(evidence: tuple[Evidence, ...]) -> str:
    if not evidence:
        return ""
    rows = [
        f'<div class="qa-evidence"><a class="qa-seek" href="#" {_seek_attr(e.start)} '
        f'title="play from {clock(e.start)}">{clock(e.start)}</a>'
        f"<b>{_ROLE_LABELS[e.speaker]}</b>: “{escape(e.text)}”"
        + (f' <span class="qa-reason">(matched “{escape(e.matched)}”{_how_close(e)})</span>'
           if e.matched else "")
        + _doubt(e)
        + "</div>"
        for e in evidence
    ]  # fmt: skip
    return "".join(rows)


def _how_close(evidence: Evidence) -> str:
    similarity = evidence.similarity
    return "" if similarity is None or similarity >= 1.0 else f", similarity {similarity:.2f}"


def _doubt(evidence: Evidence) -> str:
    """A warning when the words were heard with low confidence: they may be misheard."""
    confidence = evidence.confidence
    if confidence is None or confidence >= LOW_EVIDENCE_CONFIDENCE:
        return ""
    return (
        f' <span class="qa-doubt" title="the recogniser was unsure of these words">'
        f"heard with {confidence:.0%} confidence — check the audio</span>"
    )


def _badge(verdict: Verdict) -> str:
    return f'<span class="qa-verdict qa-{verdict.value}">{_VERDICT_LABELS[verdict]}</span>'


def _decision_html(decision: ItemDecision | None) -> str:
    """The reviewer's decision on an item, beside the machine's verdict."""
    if decision is None:
        return ""
    comment = f" “{expandable_html(decision.comment)}”" if decision.comment else ""
    return (
        f'<div class="qa-human" data-decision="{decision.decision.value}">reviewer '
        f"{escape(decision.reviewer)}: {decision.decision.value} → {_badge(decision.verdict)}"
        f"{comment}</div>"
    )


def _item_html(item: ItemResult, decision: ItemDecision | None = None) -> str:
    critical = " · <b>critical</b>" if item.critical else ""
    return (
        f'<div class="qa-item" data-item="{escape(item.id)}">'
        f"{_badge(item.result)}"
        f'<b>{escape(item.title or item.id)}</b> <span class="qa-reason">'
        f"weight {item.weight:g}{critical}</span>"
        + _decision_html(decision)
        + (f'<div class="qa-reason">{escape(item.reason)}</div>' if item.reason else "")
        + _evidence_html(item.evidence)
        + "</div>"
    )


def _result(card: Scorecard) -> str:
    percent = 100.0 * card.score / card.max_score if card.max_score else 0.0
    verdict = "PASS" if card.passed else "FAIL"
    return (
        f"{card.score:g}/{card.max_score:g} ({percent:.0f}%) "
        f'<span class="qa-verdict qa-{"pass" if card.passed else "fail"}">{verdict}</span>'
    )


def scorecard_html(cards: tuple[Scorecard, ...], reviewed: Sequence[ReviewedScorecard] = ()) -> str:
    """Each scorecard: the machine's score, then every item's verdict, reason and evidence
    links; where a review was submitted, the reviewer's result (which counts) and decisions."""
    if not cards:
        return '<p class="qa-empty">Not scored yet.</p>'
    by_id = {(r.machine.rubric_id, r.machine.rubric_version): r for r in reviewed if r.reviewed}
    parts = []
    for card in cards:
        review = by_id.get((card.rubric_id, card.rubric_version))
        decisions = {d.item_id: d for d in review.decisions} if review else {}
        counted = (
            f'<div class="qa-counts" data-counts="human">Reviewed by '
            f"{escape(review.reviewer or '')}: {_result(review.card)} — this result counts</div>"
            if review
            else ""
        )
        parts.append(
            f'<div class="qa-card" data-rubric="{escape(card.rubric_id)}">'
            f"<h4>{escape(card.rubric_id)} v{escape(card.rubric_version)}: {_result(card)}</h4>"
            + counted
            + "".join(_item_html(item, decisions.get(item.id)) for item in card.items)
            + "</div>"
        )
    return "\n".join(parts)


def audit_html(trail: Sequence[AuditEntry], zone: tzinfo = UTC) -> str:
    """The audit trail: when (in the site's ``zone``), who, what, before → after, why; oldest
    first."""
    if not trail:
        return '<p class="qa-empty">No changes yet.</p>'
    rows = "".join(
        f'<tr data-action="{escape(e.action)}">'
        f"<td>{local_time(e.at, zone, '%Y-%m-%d %H:%M:%S')}</td>"
        f"<td>{escape(e.actor)}</td><td>{escape(e.action)}</td><td>{escape(e.target)}</td>"
        f"<td>{escape(e.before or '')} → {escape(e.after or '')}</td>"
        f"<td>{expandable_html(e.reason)}</td></tr>"
        for e in trail
    )
    return (
        '<table class="qa-audit"><thead><tr><th>When</th><th>Who</th><th>What</th>'
        "<th>Which</th><th>Before → after</th><th>Why</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def denied_html(message: str) -> str:
    """A refusal shown in place of a page the user's role may not use."""
    return f'<div class="qa-denied" role="alert">{escape(message)}</div>'


def flags_html(flags: tuple[Flag, ...]) -> str:
    """Flags with severity and the evidence that raised them."""
    if not flags:
        return '<p class="qa-empty">No flags.</p>'
    return "\n".join(
        f'<div class="qa-item qa-flag" data-flag="{escape(flag.id)}">'
        f'<span class="qa-verdict qa-sev-{escape(flag.severity)}">{escape(flag.severity)}</span>'
        f"<b>{escape(flag.title or flag.id)}</b>" + _evidence_html(flag.evidence) + "</div>"
        for flag in flags
    )
