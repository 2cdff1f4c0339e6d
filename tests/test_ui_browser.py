"""The review UI in a real Chromium: login, the calls table, the call view, audio seeking, masking.

`qa serve` runs in a subprocess over the fixture store of test_review (real WAV files); Debian's
chromium is driven by Playwright (never `playwright install`: the system browser is used).
"""

from __future__ import annotations

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from test_review import PHONE, build_review_store

from qa.db import open_db
from qa.users import Role, add_user

pytestmark = pytest.mark.browser

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
CALL_IDS = ["1763655760.42", "1763651705.11", "1763647200.7", "1763640000.3"]
COMPLAINT_CALL, GOOD_CALL = CALL_IDS[0], CALL_IDS[1]
REVIEWER_PASSWORD = "reviewer password 1"


@dataclass(frozen=True)
class Server:
    url: str
    admin_password: str


def _free_port() -> int:
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db_path = build_review_store(tmp_path_factory.mktemp("ui"))
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qa.cli import main; main()",
         "serve", "--db", str(db_path), "--port", str(port)],
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
        db = open_db(db_path)
        add_user(db, "rita", REVIEWER_PASSWORD, Role.REVIEWER)  # while the server runs
        db.close()
        yield Server(url=url, admin_password=found.group(1))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: run `make system` (scripts/install-system.sh)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _login(chromium: Browser, server: Server, username: str, password: str) -> Page:
    page = chromium.new_context(viewport={"width": 1400, "height": 1200}).new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url)
    page.get_by_label("username").fill(username)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    return page


def _open_call(page: Page, call_id: str) -> None:
    page.locator("#qa-calls [role=gridcell]", has_text=call_id).click()
    expect(page.locator("#qa-call-title")).to_contain_text(f"Call {call_id}")


def _audio(page: Page, expression: str):
    return page.evaluate(f"() => {{ const a = document.querySelector('#qa-audio audio'); "
                         f"return a ? {expression} : null; }}")  # fmt: skip


def _wait_for_audio(page: Page) -> None:
    """Until the player has a source and knows its duration."""
    page.wait_for_function(
        "() => { const a = document.querySelector('#qa-audio audio');"
        " return a && a.src && a.readyState >= 1; }"
    )


def _seek_by_clicking(page: Page, target: Locator, seconds: float) -> None:
    """Click ``target``; the player must be at ``seconds`` at once (not merely reach it by
    playing on), then keep playing from there."""
    target.click()
    position = _audio(page, "a.currentTime")
    assert seconds - 0.01 <= position < seconds + 1.0, f"audio at {position}, not {seconds}"
    page.wait_for_function(
        "(t) => document.querySelector('#qa-audio audio').currentTime > t", arg=seconds + 0.2
    )


def test_login_page_refuses_a_wrong_password(server: Server, chromium: Browser) -> None:
    page = _login(chromium, server, "admin", "not the password")
    expect(page.get_by_text("Incorrect Credentials")).to_be_visible()
    expect(page.locator("#qa-calls")).to_have_count(0)
    page.context.close()


def test_nothing_is_served_without_a_login(server: Server) -> None:
    for path in ("config", "gradio_api/info"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server.url + path, timeout=5)
        assert refused.value.code in (401, 403)


def test_admin_opens_a_call_and_evidence_seeks_the_audio(server: Server, chromium: Browser) -> None:
    page = _login(chromium, server, "admin", server.admin_password)
    expect(page.locator("#qa-header")).to_contain_text("Signed in as admin (admin")
    cells = page.locator("#qa-calls [role=gridcell]")
    for call_id in CALL_IDS:
        expect(cells.filter(has_text=re.compile(rf"^\s*{re.escape(call_id)}\s*$"))).to_have_count(1)
    expect(cells.filter(has_text="complaint (high)")).to_have_count(1)
    # The filters narrow the table on the server.
    page.get_by_label("Flagged only").check()
    expect(cells.filter(has_text=re.compile(r"^\s*17636\d+\.\d+\s*$"))).to_have_count(1)
    expect(cells.filter(has_text=COMPLAINT_CALL)).to_have_count(1)
    page.get_by_label("Flagged only").uncheck()
    expect(cells.filter(has_text=re.compile(r"^\s*17636\d+\.\d+\s*$"))).to_have_count(4)

    _open_call(page, COMPLAINT_CALL)
    transcript = page.locator("#qa-transcript")
    expect(transcript.locator(".qa-turn")).to_have_count(4)
    roles = transcript.locator(".qa-role").all_inner_texts()
    assert roles == ["Agent", "Customer", "Agent", "Customer"]
    expect(transcript.locator(".qa-turn").nth(1)).to_contain_text("0:02")
    scorecard = page.locator("#qa-scorecard")
    expect(scorecard).to_contain_text("inbound-service v1: 0/2 (0%)")
    expect(scorecard.locator("[data-item=greeting]")).to_contain_text("FAIL")
    expect(scorecard.locator("[data-item=greeting]")).to_contain_text("no greeting phrase")
    expect(scorecard.locator("[data-item=identity_verification]")).to_contain_text("N/A")
    flags = page.locator("#qa-flags")
    expect(flags).to_contain_text("high")
    expect(flags).to_contain_text("“I want to make a complaint, my internet is down again.”")

    # The player has the call's audio (served only behind the login).
    _wait_for_audio(page)
    src, duration = _audio(page, "[a.src, a.duration]")
    assert src.startswith(server.url) and src.endswith(f"{COMPLAINT_CALL}.wav")
    assert duration == pytest.approx(12.0, abs=0.1)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(src, timeout=5)

    # An evidence time seeks there; so does a transcript turn, which is then outlined.
    assert _audio(page, "a.currentTime") == 0
    _seek_by_clicking(page, flags.locator("a.qa-seek").first, 2.0)
    _seek_by_clicking(page, transcript.locator(".qa-turn").nth(3), 8.5)
    expect(transcript.locator(".qa-turn").nth(3)).to_have_class(re.compile(r"\bqa-playing\b"))
    page.context.close()


def test_reviewer_sees_phone_numbers_masked_admin_sees_them(
    server: Server, chromium: Browser
) -> None:
    admin = _login(chromium, server, "admin", server.admin_password)
    _open_call(admin, GOOD_CALL)
    expect(admin.locator("#qa-transcript")).to_contain_text(f"my number is {PHONE}.")
    admin.context.close()

    reviewer = _login(chromium, server, "rita", REVIEWER_PASSWORD)
    expect(reviewer.locator("#qa-header")).to_contain_text("rita (reviewer; personal numbers")
    _open_call(reviewer, GOOD_CALL)
    transcript = reviewer.locator("#qa-transcript")
    expect(transcript).to_contain_text("my number is [phone ···0134].")
    assert PHONE not in reviewer.content()
    expect(reviewer.locator("#qa-call-title")).to_contain_text("caller ···0134")
    # The leg pair plays as one stereo file; its evidence links still seek.
    expect(reviewer.locator("#qa-audio-note")).to_contain_text("two legs mixed to stereo")
    evidence = reviewer.locator("#qa-scorecard [data-item=identity_verification] a.qa-seek")
    _wait_for_audio(reviewer)
    _seek_by_clicking(reviewer, evidence, 7.5)
    reviewer.context.close()
