"""Nightly-batch throughput: the sample store replicated to N calls, run with 1 and 2 worker
processes and on a 2-node local Ray cluster; prints a Markdown table ready for docs/operations.md.

    .venv/bin/python benchmarks/batch_bench.py                   # 54 calls: 1, 2 workers, Ray
    .venv/bin/python benchmarks/batch_bench.py --calls 12 --modes 1,2
    .venv/bin/python benchmarks/batch_bench.py --calls 20 --layout mono --modes auto

Each copy of the sample store gets new uniqueids (in the file names, Master.csv and queue_log),
so every copy is a new call to the pipeline. Each mode runs ``qa run`` as a subprocess into a
fresh database and reads its JSON run report: wall time (models loading included), audio time,
per-worker peak RSS. Figures depend on the machine being otherwise idle: the load average before
and after each run is printed with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
UNIQUEID = re.compile(r"(\d{9,10})\.(\d+)")


def layout_of(recording: Path) -> str:
    """``legs`` for a leg file (``-r``/``-t``), else ``mono`` or ``stereo`` by its channels."""
    if re.search(r"-[rt]\.\w+$", recording.name):
        return "legs"
    with wave.open(str(recording)) as audio:
        return "mono" if audio.getnchannels() == 1 else "stereo"


def replicate(target: Path, calls: int, layout: str | None = None) -> tuple[Path, int]:
    """Copy the sample store (only its calls recorded as ``layout``, if given) into ``target``
    until it holds at least ``calls`` calls; return the config to run it with and the number of
    copies."""
    source = SAMPLES / "store"
    recordings = [
        r
        for r in sorted((source / "monitor").rglob("*.wav"))
        if layout is None or (r.stat().st_size > 44 and layout_of(r) == layout)
    ]
    kept = {UNIQUEID.search(r.name).group(0) for r in recordings}
    per_copy = len({UNIQUEID.search(r.name).group(0) for r in recordings if r.stat().st_size > 44})
    copies = math.ceil(calls / per_copy)
    store = target / "store"
    if store.exists():
        shutil.rmtree(store)

    def renamed(text: str, copy: int) -> str:
        return UNIQUEID.sub(lambda m: f"{m.group(1)}.{int(m.group(2)) + 1000 * copy}", text)

    for recording in recordings:
        folder = store / recording.parent.relative_to(source)
        folder.mkdir(parents=True, exist_ok=True)
        for copy in range(copies):
            copied = folder / renamed(recording.name, copy)
            try:
                os.link(recording, copied)
            except OSError:
                shutil.copy2(recording, copied)
    for name in ("Master.csv", "queue_log"):
        lines = (source / name).read_text().splitlines()
        out = []
        for line in lines:
            found = UNIQUEID.search(line)
            if found and found.group(0) not in kept:
                continue  # a call of another layout
            if found:  # a call's line: one per copy
                out += [renamed(line, copy) for copy in range(copies)]
            else:
                out.append(line)
        (store / name).write_text("\n".join(out) + "\n")
    config = (SAMPLES / "demo.toml").read_text()
    (target / "bench.toml").write_text(config)
    return target / "bench.toml", copies


def loadavg() -> float:
    return os.getloadavg()[0]


def run_mode(config: Path, db: Path, flags: list[str]) -> dict:
    """``qa run`` with ``flags`` into a fresh ``db``; its JSON report plus the load average."""
    if db.exists():
        db.unlink()
    env = {**os.environ, "PYANNOTE_METRICS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
    before = loadavg()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", "from qa.cli import main; main()", "run", "--config", str(config),
         "--db", str(db), "--json", *flags],
        capture_output=True, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"qa run {' '.join(flags)} failed:\n{result.stdout}\n{result.stderr}")
    report = json.loads(result.stdout)
    report["process_seconds"] = elapsed
    report["load_before"], report["load_after"] = before, loadavg()
    return report


def start_ray_cluster():
    """Two Ray nodes on this machine, one CPU each (what a 2-node cluster on 2 cores can be)."""
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 200 * 1024 * 1024}
    cluster = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False})
    cluster.add_node(**small)
    cluster.wait_for_nodes()
    return cluster


def table(rows: list[tuple[str, dict]], baseline: float | None) -> str:
    lines = [
        "| mode | workers × threads | calls | audio (h) | wall (s) | audio h / wall h | "
        "per core | speed-up vs 1 worker | peak RSS per worker (MiB) | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, report in rows:
        executor = report["executor"]
        audio_h = report["audio_minutes"] / 60
        wall = report["wall_seconds"]
        throughput = audio_h / (wall / 3600)
        speedup = f"{throughput / baseline:.2f}×" if baseline else "—"
        peaks = ", ".join(f"{v:.0f}" for v in sorted(report["worker_peak_rss_mb"].values()))
        lines.append(
            f"| {name} | {executor['workers']} × {executor['threads_per_worker']} | "
            f"{report['done']} | {audio_h:.2f} | {wall:.1f} | {throughput:.1f} | "
            f"{throughput / (os.cpu_count() or 1):.1f} | {speedup} | "
            f"{peaks} | {report['load_before']:.1f} → {report['load_after']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="At least this many calls.")
    parser.add_argument("--modes", default="1,2,ray", help="Comma list of: worker counts, ray.")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    parser.add_argument(
        "--layout", choices=("mono", "stereo", "legs"), help="Only the calls recorded this way."
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="callqa-batch-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    config, copies = replicate(folder, args.calls, args.layout)
    kind = f"the sample store's {args.layout} calls" if args.layout else "the sample store"
    print(f"store: {copies} copies of {kind} in {folder}", file=sys.stderr)
    rows: list[tuple[str, dict]] = []
    baseline = None
    try:
        for mode in args.modes.split(","):
            mode = mode.strip()
            if mode == "ray":
                cluster = start_ray_cluster()
                try:
                    flags = ["--ray", cluster.address, "--workers", "auto"]
                    report = run_mode(config, folder / "ray.db", flags)
                finally:
                    cluster.shutdown()
                name = "Ray, 2 nodes × 1 CPU (same 2 cores)"
            else:
                report = run_mode(config, folder / f"w{mode}.db", ["--workers", mode])
                name = f"{mode} worker process{'es' if mode != '1' else ''}"
            throughput = report["audio_minutes"] / 60 / (report["wall_seconds"] / 3600)
            if mode == "1":
                baseline = throughput
            rows.append((name, report))
            print(f"{name}: {report['wall_seconds']:.1f} s", file=sys.stderr)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    calls = rows[0][1]["done"]
    print(
        f"\n{os.cpu_count()} cores ({cpu}); Whisper base int8, models loaded in each worker "
        f"(included); {calls} calls, {copies} copies of {kind}.\n"
    )
    print(table(rows, baseline))


if __name__ == "__main__":
    main()
