"""The call view's sentiment trend: a small inline SVG of each turn's polarity over the call,
customer and agent apart (▲: a raised voice), with the customer's figures, most negative moment
and the raised-voice moments beneath it.

Shared by whatever view shows a call (like ``ui.render``); it draws what
``qa.results.sentiment`` stored and never computes. Quotes are masked like the transcript."""

from __future__ import annotations

from html import escape

from qa.access.masking import mask_personal_data
from qa.results.sentiment import CallSentiment
from ui.render import clock

WIDTH, HEIGHT, PAD = 520, 120, 8
COLOURS = {"customer": "#c0392b", "agent": "#2471a3"}


def _point(start: float, polarity: float, duration: float) -> tuple[float, float]:
    x = PAD + (WIDTH - 2 * PAD) * (start / duration if duration > 0 else 0.0)
    y = PAD + (HEIGHT - 2 * PAD) * (1 - (polarity + 1) / 2)
    return round(x, 1), round(y, 1)


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def sentiment_html(found: CallSentiment | None, *, masked: bool) -> str:
    """The trend chart and the customer's figures; a note when the call has none measured."""
    if found is None or not found.turns:
        return '<p class="qa-sentiment qa-empty">Sentiment: not measured for this call.</p>'
    duration = max(turn.end for turn in found.turns)
    lines = []
    for role, colour in COLOURS.items():
        points = [_point((t.start + t.end) / 2, t.polarity, duration)
                  for t in found.turns if t.role == role]  # fmt: skip
        if not points:
            continue
        path = " ".join(f"{x},{y}" for x, y in points)
        lines.append(
            f'<polyline class="qa-sentiment-{role}" points="{path}" fill="none" '
            f'stroke="{colour}" stroke-width="2"/>'
            + "".join(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in points)
        )
    for loud in found.raised_voice:  # a raised voice: a triangle above the turn
        x = _point((loud.start + loud.end) / 2, 1, duration)[0]
        lines.append(
            f'<text class="qa-raised-voice" x="{x}" y="{PAD + 4}" text-anchor="middle" '
            f'font-size="10" fill="{COLOURS.get(loud.role, "#555")}">▲</text>'
        )
    zero = _point(0, 0, duration)[1]
    svg = (
        f'<svg class="qa-sentiment-chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="Sentiment per turn over the call">'
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fafafa" stroke="#ddd"/>'
        f'<line x1="{PAD}" y1="{zero}" x2="{WIDTH - PAD}" y2="{zero}" stroke="#bbb" '
        f'stroke-dasharray="4 3"/>{"".join(lines)}</svg>'
    )
    worst = found.most_negative
    moment = ""
    if worst is not None:
        text = mask_personal_data(worst.text) if masked else worst.text
        moment = f"<br>Most negative: {clock(worst.start)} ({worst.polarity:+.2f}) “{escape(text)}”"
    raised = "".join(
        f"<br>Raised voice: {escape(m.role)} at {clock(m.start)} ({m.louder_db:+.1f} dB"
        + (f", pitch ×{m.pitch_ratio:.2f}" if m.pitch_ratio else "")
        + ")"
        for m in found.raised_voice
    )
    legend = (
        f'<span style="color:{COLOURS["customer"]}">■ customer</span> '
        f'<span style="color:{COLOURS["agent"]}">■ agent</span>'
    )
    return (
        '<div class="qa-sentiment"><p><strong>Sentiment</strong> (−1 … +1) '
        + legend
        + "</p>"
        + svg
        + f"<p>Customer {_signed(found.customer_mean)} on average, "
        f"{_signed(found.customer_start)} → {_signed(found.customer_end)} "
        f"(shift {_signed(found.customer_shift)}); agent {_signed(found.agent_mean)}"
        + moment
        + raised
        + "</p></div>"
    )
