"""Benchmark: does a login flood slow other users of the review app?

Starts ``qa serve`` on a free port over a fresh store, with a config that trusts 127.0.0.1 as a
reverse proxy, so that each flood attempt can come from its own forwarded address and name its
own username: no limit stops it, every attempt costs a full password hash (the worst case).
While FLOOD attempts run (CONCURRENCY at a time), a logged-in user requests the app's config
over and over; the script prints that user's median and max latency, before and during the
flood, and how long the flood took::

    .venv/bin/python scripts/bench_login_flood.py            # 300 attempts, 32 at a time
    .venv/bin/python scripts/bench_login_flood.py 600 64

Figures: docs/benchmarks.md ("Login flood").
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qa.access.roles import Role  # noqa: E402
from qa.access.users import add_user  # noqa: E402
from qa.db import open_db  # noqa: E402

PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise SystemExit(f"qa serve did not answer on {url}")


def _timed_gets(client: httpx.Client, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        response = client.get("config")
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        time.sleep(0.02)


def _summary(label: str, samples: list[float]) -> str:
    return (
        f"{label}: {len(samples)} requests, median {statistics.median(samples):.1f} ms, "
        f"max {max(samples):.1f} ms"
    )


def main(flood: int = 300, concurrency: int = 32) -> None:
    folder = Path(tempfile.mkdtemp(prefix="callqa-flood-"))
    db = folder / "qa.db"
    store = open_db(db)
    add_user(store, "admin", PASSWORD, Role.ADMIN)
    add_user(store, "steady", PASSWORD, Role.REVIEWER)
    store.close()
    config = folder / "serve.toml"
    config.write_text('trusted_proxies = ["127.0.0.1"]\n')
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from qa.cli import main; main()", "serve", "--db", str(db),
         "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        _wait(url, time.monotonic() + 90)
        steady = httpx.Client(base_url=url, timeout=60)
        login = steady.post("login", data={"username": "steady", "password": PASSWORD})
        assert login.status_code == 200, login.text
        baseline: list[float] = []
        stop = threading.Event()
        watcher = threading.Thread(target=_timed_gets, args=(steady, stop, baseline))
        watcher.start()
        time.sleep(3)
        stop.set()
        watcher.join()

        def knock(number: int) -> int:
            forwarded = {
                "X-Forwarded-For": f"10.{number // 65536}.{number // 256 % 256}.{number % 256}"
            }
            with httpx.Client(base_url=url, timeout=120) as client:
                data = {"username": f"attacker{number}", "password": "wrong guess"}
                return client.post("login", data=data, headers=forwarded).status_code

        during: list[float] = []
        stop = threading.Event()
        watcher = threading.Thread(target=_timed_gets, args=(steady, stop, during))
        watcher.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(pool.map(knock, range(flood)))
        flood_seconds = time.perf_counter() - started
        stop.set()
        watcher.join()
        refused = sum(1 for status in statuses if status == 400)
        print(f"login flood: {flood} attempts ({concurrency} at a time), {refused} refused, "
              f"{flood_seconds:.1f} s")  # fmt: skip
        print(_summary("another user, before the flood", baseline))
        print(_summary("another user, during the flood", during))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
