"""The review desk's speed with a scripted reviewer: from "call opened" to "next call opened" for
a confirm-only review (Confirm all, Submit), in a real Chromium at 1366×768 against `qa serve`'s
app over a copy of a results store.

    python benchmarks/review_desk_bench.py --db var/demo.db --config samples/demo.toml
    python benchmarks/review_desk_bench.py --db var/demo.db --config samples/demo.toml --rounds 3
    python benchmarks/review_desk_bench.py --db var/demo.db --config samples/demo.toml --server-only

Every call of the store is put in the queues (``review.sample_rate = 1``), so the reviewer works
through all of them; each round starts from a fresh copy of the store. The time is app time:
the two clicks are sent as soon as the call is open (no reading), and the clock stops when the
next call's form is ready (its Submit shown). It prints each review's seconds, the median and
the 90th percentile. ``--server-only`` times the Submit handler in-process instead (the
server's share: save, find, claim and open the next call).
Needs Debian's chromium (/usr/bin/chromium) and Playwright, as the browser tests do.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as NoNextCall  # noqa: E402

from qa import runtime  # noqa: E402
from qa.access.roles import Role  # noqa: E402
from qa.access.users import add_user  # noqa: E402
from qa.config import Config, load_config  # noqa: E402
from qa.db import open_db  # noqa: E402
from ui.app import build_app, launch_options  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1366, 768


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_call(page: Page) -> str:
    found = re.search(r"Call (\S+)", page.locator("#qa-call-title").inner_text())
    return found.group(1) if found else ""


def _round(db_copy: Path, config: Config, browser_path: str) -> list[float]:
    """One reviewer through every queued call of a fresh store copy: seconds per review."""
    password = secrets.token_urlsafe(12)
    db = open_db(db_copy)
    add_user(db, "bench", password, Role.REVIEWER)
    db.close()
    port = _free_port()
    app = build_app(db_copy, config=config)
    app.launch(**launch_options(db_copy, "127.0.0.1", port), prevent_thread_lock=True, quiet=True)
    times: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=browser_path, args=["--headless", "--no-sandbox"]
            )
            page = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}).new_page()
            page.set_default_timeout(30_000)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_label("username").fill("bench")
            page.get_by_label("password").fill(password)
            page.get_by_role("button", name="Login").click()
            page.locator("#qa-calls [role=gridcell]").first.click()
            page.locator("#qa-review-next").click()  # the first call of the queues, taken
            page.wait_for_function(
                "() => document.querySelector('#qa-review-state')?.textContent"
                ".includes('assigned to bench')"
            )
            while True:
                page.locator("#qa-review-submit").wait_for()
                page.locator("#qa-audio audio").wait_for(state="attached")
                current = _open_call(page)
                started = time.perf_counter()
                page.locator("#qa-review-confirm-all").click()
                page.locator("#qa-review-submit").click()
                try:
                    page.wait_for_function(
                        "(c) => { const t = document.querySelector('#qa-call-title');"
                        " return t && !t.textContent.includes('Call ' + c + ' '); }",
                        arg=current,
                        timeout=10_000,
                    )
                except NoNextCall:  # the queues are done
                    break
                shown = time.perf_counter() - started
                page.locator("#qa-review-submit").wait_for()  # the next form, ready to work
                times.append(time.perf_counter() - started)
                print(f"  {current} -> {_open_call(page)}: {times[-1]:.2f} s "
                      f"(header shown after {shown:.2f} s)", flush=True)  # fmt: skip
            browser.close()
    finally:
        app.close()
    return times


def _server_round(db_copy: Path, config: Config) -> list[float]:
    """The same reviewer without a browser: the Submit handler (save, find, claim and open the
    next call) called in-process; seconds per review, the server's share of the time."""
    import gradio as gr

    from qa.access.users import get_user
    from ui import calls, queues
    from ui.context import AppContext
    from ui.review_form import PANEL_OUTPUTS

    db = open_db(db_copy)
    add_user(db, "bench", secrets.token_urlsafe(12), Role.REVIEWER)
    user = get_user(db, "bench")
    db.close()
    assert user is not None
    ctx = AppContext(db_path=db_copy, audio_dir=db_copy.parent, review=config.review,
                     zone=config.zone)  # fmt: skip
    with gr.Blocks():
        panel = calls.layout(ctx).panel
    queues.load(ctx, user, queues.MINE, True)
    form_at = 7 + PANEL_OUTPUTS.index("form")
    _, view = panel.open_next(user, None)
    times = []
    while True:
        form = view[form_at]
        fields = [("confirmed", item.verdict.value, "") for item in form.items]
        started = time.perf_counter()
        view = panel.submit(user, form, fields, "")
        if view[6] == form.call_id:  # nothing left: the same call again
            break
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, type=Path, help="the results store (copied)")
    parser.add_argument("--config", type=Path, help="the site's TOML (time zone, rubrics)")
    parser.add_argument("--rounds", type=int, default=2, help="fresh store copies to work")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--server-only", action="store_true",
                        help="time the Submit handler in-process, without a browser")  # fmt: skip
    args = parser.parse_args()
    runtime.apply()
    config = load_config(args.config) if args.config else Config()
    config = config.model_copy(update={"review": config.review.model_copy(
        update={"sample_rate": 1.0})})  # fmt: skip
    times: list[float] = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "store.db"
            shutil.copy(args.db, copy)
            print(f"round {n + 1}:", flush=True)
            if args.server_only:
                times += _server_round(copy, config)
            else:
                times += _round(copy, config, args.chromium)
    if not times:
        raise SystemExit("no call was reviewed: is the store scored (qa run)?")
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    what = "Submit handler (server)" if args.server_only else "call opened -> next call opened"
    print(
        f"confirm-only reviews: {len(times)}; {what}: "
        f"median {statistics.median(times):.2f} s, p90 {p90:.2f} s, max {max(times):.2f} s"
    )


if __name__ == "__main__":
    main()
