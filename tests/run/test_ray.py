"""``qa run --ray`` on a real two-node Ray cluster on this machine (a head and one worker node,
one CPU each), started by the test: the sample store's scorecards are identical to a local run's;
an actor killed mid-run costs a retry on another actor, not a call; recordings shipped as bytes
(``--ray-ship-audio``) give the same result as the shared path.
"""

from __future__ import annotations

import json
import os
import shutil
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

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes on this machine; only their own processes are stopped afterwards."""
    from ray.cluster_utils import Cluster

    small = {"num_cpus": 1, "object_store_memory": 100 * 1024 * 1024}
    # On this machine's own address: a Ray driver rewrites 127.0.0.1 to it before connecting.
    nodes = Cluster(initialize_head=True, head_node_args={**small, "include_dashboard": False})
    nodes.add_node(**small)
    nodes.wait_for_nodes()
    try:
        yield nodes.address
    finally:
        nodes.shutdown()


def _actor_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"_CallActor" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _report(log: Path) -> dict:
    output = log.read_text()
    return json.loads(output[output.index('{"report_version"') :].splitlines()[0])


@pytest.fixture(scope="module")
def ray_run(cluster, tmp_path_factory) -> dict:
    """The sample store on the cluster; one actor killed once the first call is saved."""
    site = tmp_path_factory.mktemp("ray")
    config = make_site(site)
    db = site / "qa.db"
    log = site / "run.log"
    args = ("run", "--config", str(config), "--db", str(db), "--ray", cluster, "--workers", "auto")
    args = (*args, "--json")
    run = start_qa(*args, log=log)

    def first_saved() -> bool:
        try:
            return query(db, "select count(*) from calls where status = 'done'")[0][0] >= 1
        except Exception:
            return False

    try:
        started = wait_for(lambda: first_saved() or run.poll() is not None, timeout=400)
        assert started and run.poll() is None, log.read_text()[-3000:]
        actors = _actor_pids()
        killed = bool(actors)
        if killed:
            os.kill(actors[0], signal.SIGKILL)
        run.wait(timeout=500)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    return {"db": db, "code": run.returncode, "log": log, "killed": killed, "actors": actors}


def test_ray_spreads_the_calls_over_actors_on_both_nodes(ray_run):
    assert ray_run["code"] == 0, ray_run["log"].read_text()[-3000:]
    report = _report(ray_run["log"])
    assert report["failed"] == [] and report["done"] == 6
    assert report["executor"]["kind"] == "ray"
    assert report["executor"]["workers"] == 2  # one actor per node (one CPU each)
    assert "on 2 node(s)" in report["executor"]["reason"]
    assert report["executor"]["recordings"] == "read from the shared store path"
    assert len(ray_run["actors"]) == 2


def test_a_killed_actor_costs_a_retry_on_another_actor(ray_run):
    assert ray_run["killed"]
    report = _report(ray_run["log"])
    assert report["retried"] >= 1
    assert all(item["attempts"] == 1 for item in report["failed"])


def test_ray_gives_the_same_scorecards_as_a_local_run(ray_run, tmp_path_factory):
    db = ray_run["db"]
    assert_expected_verdicts(db)
    assert scorecards(db) == scorecards(local_reference(tmp_path_factory.getbasetemp()))


def test_recordings_shipped_as_bytes_give_the_same_result(cluster, tmp_path_factory):
    """One call, its recording sent to the actor with the task instead of read from the store."""
    site = tmp_path_factory.mktemp("ray-bytes")
    config = make_site(site)
    day = site / "store" / "monitor" / "2026" / "11" / "20"
    keep = "q-600-5551234567-20261120-091505-1795184105.101.wav"
    for recording in day.iterdir():
        if recording.name != keep:
            recording.unlink()
    db = site / "qa.db"
    log = site / "run.log"
    run = start_qa(
        "run", "--config", str(config), "--db", str(db), "--ray", cluster, "--ray-ship-audio",
        "--json", log=log,
    )  # fmt: skip
    assert run.wait(timeout=400) == 0, log.read_text()[-3000:]
    report = _report(log)
    assert report["done"] == 1 and report["failed"] == [] and report["retried"] == 0
    assert report["executor"]["recordings"] == "sent as bytes"
    reference = scorecards(local_reference(tmp_path_factory.getbasetemp()))
    mine = scorecards(db)
    assert mine == {key: card for key, card in reference.items() if key[0] == "1795184105.101"}
    shutil.rmtree(site / "store")
