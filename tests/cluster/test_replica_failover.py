"""The standby stopped in the middle of a stream of reads, then started again (issue 20).

A bounded loop of page reads through the balancer (both app servers, two gunicorn
workers each). After a quarter of them the standby is stopped (``pg_ctl stop -m
fast``: its connections are cut under the app servers' feet). Not one request may
fail, and from then on the primary serves them. Started again, the standby gets the
reads back within a deadline (each process re-checks it every REPLICA_CHECK_SECONDS).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from scripts.cluster import descendants
from tests.cluster.harness import Cluster, World, served_by, signed_in, wait_for

pytestmark = pytest.mark.cluster

READS = 200
STOP_AFTER = 50


def test_reads_survive_the_standby_stopping_and_return_to_it(
    cluster: Cluster, world: World
) -> None:
    reader = signed_in(cluster.balancer, world.support, world.password)
    pages = [f"/numbers/{world.number['id']}/", "/numbers/?sort=number", "/"]

    def on_replica() -> bool:
        # Several rounds: the balancer spreads them over both servers' four workers.
        return all(served_by(reader.get(f"{cluster.balancer}{p}")) == "replica1" for p in pages * 4)

    wait_for("reads served by the standby before it stops", on_replica, timeout=60)

    seen: list[tuple[int, int, str | None]] = []  # (request, status, database)
    try:
        for i in range(READS):
            if i == STOP_AFTER:
                cluster.ctl("stop", "replica")
            answer = reader.get(f"{cluster.balancer}{pages[i % len(pages)]}")
            seen.append((i, answer.status_code, served_by(answer)))
    finally:
        cluster.ctl("start", "replica")

    failed = [s for s in seen if s[1] != 200]
    assert failed == [], f"{len(failed)} of {READS} reads failed: {failed[:10]}"
    before = {database for i, _, database in seen if i < STOP_AFTER}
    after = {database for i, _, database in seen if i >= STOP_AFTER}
    assert before == {"replica1"}
    assert after == {"default"}, "with the standby down, the primary serves every read"

    # Back: within the deadline every page is read from the standby again, on both
    # app servers (the balancer alternates between them).
    wait_for("reads back on the standby once it is up", on_replica, timeout=60)


FROZEN_READS = 40


def _standby_processes(cluster: Cluster) -> list[int]:
    data = Path(cluster.state["dirs"]["replica"])
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    return [postmaster, *descendants(postmaster)]


def test_reads_survive_a_standby_that_freezes(cluster: Cluster, world: World) -> None:
    """SIGSTOP: the standby keeps its connections open and answers nothing, so neither
    its statement timeout nor TCP keepalives can end a read. The client-side watchdog
    (core.replicas) cuts the read off, the view runs again on the primary: slow
    requests for a few seconds, not one failed, and no app server dropped by the
    balancer (its /healthz never waits on a replica)."""
    reader = signed_in(cluster.balancer, world.support, world.password)
    page = f"{cluster.balancer}/numbers/?sort=number"
    wait_for(
        "reads served by the standby",
        lambda: all(served_by(reader.get(page)) == "replica1" for _ in range(8)),
        timeout=60,
    )
    frozen = _standby_processes(cluster)
    seen: list[tuple[int, str | None, float]] = []
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(FROZEN_READS):
            started = time.monotonic()
            answer = reader.get(page)
            seen.append((answer.status_code, served_by(answer), time.monotonic() - started))
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    failed = [s for s in seen if s[0] != 200]
    assert failed == [], f"{len(failed)} of {FROZEN_READS} reads failed: {failed[:10]}"
    assert {database for _, database, _ in seen} == {"default"}
    slowest = max(seconds for _, _, seconds in seen)
    assert slowest < 15, f"a read waited {slowest:.1f} s on the frozen standby"
    wait_for(
        "reads back on the standby once it thaws",
        lambda: served_by(reader.get(page)) == "replica1",
        timeout=60,
    )
