"""Helpers for the browser tests: `qa serve` in a subprocess, Debian's chromium through
Playwright (never `playwright install`), logging in, the audio player, and screenshots.

Screenshots go to ``test-artifacts/screenshots/`` (or ``$QA_SCREENSHOTS``); the tests print
where.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("QA_SCREENSHOTS", REPO / "test-artifacts" / "screenshots"))


@dataclass(frozen=True)
class Server:
    url: str
    admin_password: str
    db_path: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"qa serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise AssertionError(f"qa serve did not answer on {url}")


@contextlib.contextmanager
def serving(db_path: Path, extra_args: Sequence[str] = ()) -> Iterator[Server]:
    """``qa serve`` over ``db_path`` (which must have no users yet) on a free port, until the
    block ends; the first admin's password is read from its output."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qa.cli import main; main()",
         "serve", "--db", str(db_path), "--port", str(port), *extra_args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        output, deadline = "", time.monotonic() + 60
        while "Review UI: http://" not in output and time.monotonic() < deadline:
            try:
                output += lines.get(timeout=1)
            except queue.Empty:
                assert proc.poll() is None, f"qa serve exited early:\n{output}"
        found = re.search(
            r"No users yet: created admin with password (\S+); "
            r"change it with qa users passwd admin",
            output,
        )
        assert found, f"qa serve did not print the first admin password:\n{output}"
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc, deadline)
        yield Server(url=url, admin_password=found.group(1), db_path=db_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def serving_store(
    db_path: Path, *, problems: Sequence[str] = ("Traceback",), extra_args: Sequence[str] = ()
) -> Iterator[str]:
    """``qa serve`` over a store that already has its users, on a free port (with
    ``extra_args``, e.g. ``--config FILE``), until the block ends; yields the address. A handler
    that failed (or returned the wrong outputs) shows only in the server's log, so the block
    fails at its end if the log has a line with any of ``problems``."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    log = db_path.with_name("serve.log")
    with log.open("w") as output:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from qa.cli import main; main()",
             "serve", "--db", str(db_path), "--port", str(port), *extra_args],
            stdout=output, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    address = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(address, proc, time.monotonic() + 90)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    found = [line for line in log.read_text().splitlines() if any(p in line for p in problems)]
    assert not found, f"qa serve logged problems:\n{log.read_text()}"


@contextlib.contextmanager
def chromium_browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: run `make system` (scripts/install-system.sh)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def login(
    browser: Browser,
    server: Server,
    username: str,
    password: str,
    size: tuple[int, int] = (1400, 1200),
) -> Page:
    """A new browser context at the app (a window of ``size``), with the login form sent."""
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.set_default_timeout(30_000)  # a shared CI machine runs every tab's load event at once
    page.goto(server.url)
    send_login(page, username, password)
    return page


def send_login(page: Page, username: str, password: str) -> None:
    page.get_by_label("username").fill(username)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def audio(page: Page, expression: str):
    return page.evaluate(f"() => {{ const a = document.querySelector('#qa-audio audio'); "
                         f"return a ? {expression} : null; }}")  # fmt: skip


def wait_for_audio(page: Page) -> None:
    """Until the player has a source and knows its duration."""
    page.wait_for_function(
        "() => { const a = document.querySelector('#qa-audio audio');"
        " return a && a.src && a.readyState >= 1; }"
    )


def seek_by_clicking(page: Page, target: Locator, seconds: float) -> None:
    """Click ``target``; the player must be at ``seconds`` at once (not merely reach it by
    playing on), then keep playing from there."""
    target.click()
    position = audio(page, "a.currentTime")
    assert seconds - 0.01 <= position < seconds + 1.0, f"audio at {position}, not {seconds}"
    page.wait_for_function(
        "(t) => document.querySelector('#qa-audio audio').currentTime > t", arg=seconds + 0.2
    )


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot (of the whole page, or of the window) as ``name``.png under
    :data:`SCREENSHOTS` and say where."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


_BROKEN_HEADINGS_JS = """(table) => [...document.querySelectorAll(table + ' [role=columnheader]')]
  .map((cell) => cell.querySelector('.header') || cell)  // the heading, not its menu button
  .filter((cell) => {
    const text = cell.textContent.trim();
    if (!text || text.includes(' ')) return false;  // several words may wrap between them
    const range = document.createRange();
    range.selectNodeContents(cell);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return lines.size > 1;
  }).map((cell) => cell.textContent.trim())"""


def headings_whole(page: Page, table: str) -> None:
    """No one-word column heading of ``table`` is broken over two lines ("Machin e")."""
    expect(page.locator(f"{table} [role=columnheader]").first).to_be_visible()
    assert page.evaluate(_BROKEN_HEADINGS_JS, table) == []
