"""Worker processes and the device choice.

How many workers and threads ``auto`` picks, and which device and compute type, are decided from
the machine's facts (cores, free memory, GPUs), which the tests state. Then a real
``qa run --workers 2`` on the sample store, with one worker process killed mid-run: every call is
still done once, the calls the dead worker held are retried, and the scorecards are identical to
a local one-process run.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from batch_sites import (
    assert_expected_verdicts,
    local_reference,
    make_site,
    query,
    scorecards,
    start_qa,
    wait_for,
)

from qa.config import Config, ConfigError
from qa.run.devices import choose_device
from qa.run.local import DEFAULT_WORKER_MEMORY_MB, PARENT_RESERVE_MB, plan_workers

# --- how many workers ---------------------------------------------------------------------------


def test_auto_takes_one_worker_per_core_when_memory_allows():
    plan = plan_workers("auto", cores=2, memory_mb=16_000, todo=100)
    assert (plan.workers, plan.threads) == (2, 1)
    plan = plan_workers("auto", cores=16, memory_mb=64_000, todo=100)
    assert (plan.workers, plan.threads) == (16, 1)


def test_auto_is_held_back_by_memory_and_by_the_calls_to_do():
    two_workers = PARENT_RESERVE_MB + 2 * DEFAULT_WORKER_MEMORY_MB + 10
    plan = plan_workers("auto", cores=16, memory_mb=two_workers, todo=100)
    assert (plan.workers, plan.threads) == (2, 8)
    assert plan_workers("auto", cores=16, memory_mb=64_000, todo=3).workers == 3
    assert plan_workers("auto", cores=8, memory_mb=500, todo=10).workers == 1
    big_model = plan_workers("auto", cores=8, memory_mb=10_000, worker_memory_mb=4000, todo=50)
    assert big_model.workers == 2


def test_threads_are_split_so_workers_do_not_oversubscribe_the_cores():
    assert plan_workers(2, cores=2).threads == 1
    assert plan_workers(1, cores=2).threads == 2
    assert plan_workers(3, cores=12).threads == 4
    assert plan_workers(2, cores=2, cpu_threads=3).threads == 3  # the operator's choice wins
    one_call = plan_workers(4, cores=4, todo=1)  # no worker is started without a call to take
    assert (one_call.workers, one_call.threads) == (1, 4)
    with pytest.raises(ConfigError, match="1 or more"):
        plan_workers(0, cores=2)


def test_a_gpu_gets_one_worker():
    assert plan_workers("auto", device="cuda", cores=16, memory_mb=64_000).workers == 1


# --- which device ---------------------------------------------------------------------------------

CUDA_TYPES = {"float32", "float16", "int8", "int8_float16", "bfloat16"}


def _choose(gpus: int, types: set[str], **config):
    return choose_device(Config(**config), gpus=lambda: gpus, supported=lambda device: types)


def test_auto_without_a_gpu_is_cpu_int8_sequential():
    choice = _choose(0, {"float32", "int8", "int8_float32"})
    assert (choice.device, choice.compute_type, choice.batch_size) == ("cpu", "int8", 0)
    assert choice.reason == "auto: no CUDA device"


def test_auto_with_a_gpu_is_cuda_float16_batched():
    choice = _choose(1, CUDA_TYPES)
    assert (choice.device, choice.compute_type, choice.batch_size) == ("cuda", "float16", 8)
    old_gpu = _choose(1, {"float32", "int8", "int8_float32", "int8_float16"})
    assert old_gpu.compute_type == "int8_float16"
    halved = _choose(1, CUDA_TYPES, compute_type="int8_float16", gpu_batch_size=16)
    assert (halved.compute_type, halved.batch_size) == ("int8_float16", 16)


def test_cpu_can_be_forced_on_a_gpu_host():
    choice = _choose(1, {"float32", "int8", "int8_float32"}, device="cpu")
    assert (choice.device, choice.compute_type, choice.batch_size) == ("cpu", "int8", 0)


def test_impossible_choices_say_what_to_do():
    with pytest.raises(ConfigError, match="sees no GPU"):
        _choose(0, set(), device="cuda")
    with pytest.raises(ConfigError, match=r"float16.*not supported on cpu"):
        _choose(0, {"float32", "int8", "int8_float32"}, compute_type="float16")


def test_this_machine_resolves_auto():
    choice = choose_device(Config())  # the real CTranslate2 answer, whatever the machine
    assert choice.device in ("cpu", "cuda")
    assert choice.compute_type in (("int8",) if choice.device == "cpu" else CUDA_TYPES)


@pytest.mark.models
def test_batched_decoding_runs_on_cpu_and_keeps_turns_apart(samples_dir):
    from asr import SpeechEngine, SpeechOptions

    recording = next((samples_dir / "store" / "monitor").rglob("*1795184105.101.wav"))
    engine = SpeechEngine(SpeechOptions(batch_size=4, cpu_threads=2))
    transcript = engine.transcribe_call([recording], language="en")
    roles = [turn.role.value for turn in transcript.turns]
    assert roles[:2] == ["agent", "customer"] and len(roles) >= 6
    assert "thank you for calling" in transcript.turns[0].text.lower()


# --- worker processes on the sample store ---------------------------------------------------------


def _worker_pids(parent: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except (OSError, NotADirectoryError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(proc.name))
    return pids


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory) -> dict:
    """``qa run --workers 2``, one worker killed once the first call is saved."""
    site = tmp_path_factory.mktemp("workers")
    config = make_site(site)
    db = site / "qa.db"
    log = site / "run.log"
    run = start_qa(
        "run", "--config", str(config), "--db", str(db), "--workers", "2", "--json", log=log
    )

    def first_saved() -> bool:
        try:
            return query(db, "select count(*) from calls where status = 'done'")[0][0] >= 1
        except Exception:
            return False

    try:
        assert wait_for(first_saved, timeout=400), log.read_text()
        victims = _worker_pids(run.pid)
        os.kill(victims[0], signal.SIGKILL)  # as the kernel's OOM killer would
        run.wait(timeout=500)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    output = log.read_text()
    report = json.loads(output[output.index('{"report_version"') :].splitlines()[0])
    return {"db": db, "report": report, "code": run.returncode, "output": output}


@pytest.mark.models
def test_a_dead_worker_costs_a_retry_not_a_call(two_workers):
    report = two_workers["report"]
    assert two_workers["code"] == 0, two_workers["output"][-3000:]
    assert report["failed"] == [] and report["done"] == 6
    assert report["retried"] >= 1
    assert report["executor"]["kind"] == "processes"
    assert (report["executor"]["workers"], report["executor"]["threads_per_worker"]) == (2, 1)
    assert len(report["worker_peak_rss_mb"]) >= 3  # the dead worker's successor too
    assert all(200 < peak < 4000 for peak in report["worker_peak_rss_mb"].values())


@pytest.mark.models
def test_worker_processes_give_the_same_scorecards_as_one_process(two_workers, tmp_path_factory):
    db = two_workers["db"]
    assert_expected_verdicts(db)
    assert scorecards(db) == scorecards(local_reference(tmp_path_factory.getbasetemp()))
