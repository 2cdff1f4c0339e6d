"""Pieces more than one tab uses: a day typed in a field, a CSV export to download, the cell of a
selected row, a call's audio player, and the call view other tabs open calls in.

The tabs import this module and :mod:`ui.render`, never each other.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from qa.access.roles import User
from qa.records.export import ExportTable
from ui.context import AppContext

EXPORT_MAX_AGE_S = 900.0
#: Seconds an export's original stays in the private folder: Gradio copies it into its cache
#: (what the browser downloads, deleted once fetched: ui.file_access) while the request that made
#: it ends, so the original is only needed for that moment.
EXPORT_ORIGINAL_KEEP_S = 60.0


def parse_day(text: str | None, label: str) -> date | None:
    """A YYYY-MM-DD field (blank: no bound); a gr.Error naming the field otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise gr.Error(f"{label}: write the day as YYYY-MM-DD, e.g. 2026-11-01") from None


def write_export(ctx: AppContext, table: ExportTable, username: str) -> Path:
    """The table as a CSV file in the app's private temp folder, readable by this user only (an
    auditor's export holds personal numbers unmasked), deleted :data:`EXPORT_ORIGINAL_KEEP_S`
    later (and any older ones left by a stopped timer on the next export)."""
    folder = ctx.audio_dir / "exports"
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)  # whatever the process umask (serve() sets 077; a library caller may not)
    cutoff = time.time() - EXPORT_MAX_AGE_S
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = folder / f"{table.kind.value}-{username}-{uuid.uuid4().hex[:8]}.csv"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8", newline="") as stream:
        table.write_csv(stream)
    remover = threading.Timer(EXPORT_ORIGINAL_KEEP_S, path.unlink, kwargs={"missing_ok": True})
    remover.daemon = True
    remover.start()
    return path


def call_audio(elem_id: str, **layout: Any) -> gr.Audio:
    """A call's audio player: played, never recorded or edited; ``elem_id`` is what the tab's
    seek-on-click script looks for."""
    return gr.Audio(
        label="Call audio",
        type="filepath",
        interactive=False,
        elem_id=elem_id,
        buttons=[],
        waveform_options=gr.WaveformOptions(show_recording_waveform=False),
        **layout,
    )


def selected_cell(evt: gr.SelectData, column: int) -> str | None:
    """The ``column`` cell of the table row the user selected (None: no such cell). The row's
    own cell, not its position: the user may have sorted the table."""
    row = evt.row_value or []
    return str(row[column]) if len(row) > column else None


@dataclass(frozen=True)
class CallView:
    """The Calls tab's call view, for other tabs to open a call in: ``open(user, call_id)``
    gives the values of ``outputs`` for that user; ``changed`` changes after every claim,
    release and submission in it."""

    outputs: list[Any]
    open: Callable[[User, str | None], list[Any]]
    changed: Any = None  # a gr.State bumped whenever a review changes: lists refresh on it
