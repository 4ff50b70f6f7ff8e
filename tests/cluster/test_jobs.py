"""Background jobs across servers on the cluster's RQ queue (issue 20).

An export started through app server A is run by the cluster's RQ worker, and its
page and file are served by app server B (the file is in the media directory both
share). An import's apply killed mid-work (SIGKILL of its worker and RQ's work horse,
as a lost machine would) leaves nothing half-applied in the primary; the job shows
stalled, and Retry through B runs it whole on the cluster's worker.

To stop the apply at a known point, the cluster's worker is swapped for one started
here (``tests.jobs.worker_main``: ``manage.py rqworker`` plus a pause at the job's
first progress write) on the same queue, database and media; the cluster's worker
is started again for the retry.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from scripts.cluster import descendants
from tests.cluster.harness import (
    BASE_DIR,
    Cluster,
    World,
    job_id_from,
    job_state,
    make_world,
    signed_in,
    wait_for,
)
from tests.jobs.worker_main import PAUSE_AFTER_ENV, PAUSED_FILE_ENV
from tests.jobs.workers import process_alive, worker_command

pytestmark = pytest.mark.cluster

ROWS = 1_200  # three of the CSV import's 500-row batches
FINISHED = {"Succeeded", "Failed", "Cancelled"}


def test_an_export_started_on_a_is_run_by_the_worker_and_followed_on_b(
    cluster: Cluster, world: World
) -> None:
    on_a = signed_in(cluster.a, world.support, world.password)
    started = on_a.post(
        f"{cluster.a}/numbers/export-job", {"query": "sort=number", "format": "csv"}
    )
    job_id = job_id_from(started)

    state = wait_for(
        "the export finished (seen through app server B)",
        lambda: (s := job_state(on_a, cluster.b, job_id)) in FINISHED and s,
        timeout=120,
    )
    assert state == "Succeeded"
    [(db_state, done, total)] = cluster.sql(
        "primary", "SELECT state, done, total FROM jobs_job WHERE id = %s", (job_id,)
    )
    assert db_state == "succeeded" and done == total
    [(numbers,)] = cluster.sql("primary", "SELECT count(*) FROM numbers_phonenumber")
    assert total == numbers

    download = on_a.get(f"{cluster.b}/jobs/{job_id}/download")
    assert download.status_code == 200, download.status_code
    header, *rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert header[0] == "number" and len(rows) == numbers
    assert f"'{world.number['number']}" in {row[0] for row in rows}


def _paused_worker(cluster: Cluster, scratch: Path) -> subprocess.Popen[bytes]:
    """``manage.py rqworker`` on the cluster's queue that stops at its first progress
    write, transaction open, and names the process doing the work in ``paused``."""
    env = {
        **cluster.env(),
        PAUSE_AFTER_ENV: "1",
        PAUSED_FILE_ENV: str(scratch / "paused"),
    }
    with (scratch / "worker.log").open("wb") as log:
        return subprocess.Popen(  # noqa: S603 - our own worker entry point
            [
                sys.executable,
                "-m",
                "tests.jobs.worker_main",
                *worker_command("rq", name=f"cluster-test-{os.getpid()}"),
            ],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill(process: subprocess.Popen[bytes], *also: int) -> None:
    """SIGKILL the worker, everything under it and ``also``; wait until they are gone."""
    pids = list(dict.fromkeys([process.pid, *descendants(process.pid), *also]))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    process.wait(timeout=30)
    wait_for("the killed worker's processes gone", lambda: not any(map(process_alive, pids)))


def test_an_apply_killed_mid_work_leaves_nothing_half_applied(cluster: Cluster) -> None:
    people = make_world(cluster, numbers=ROWS, tokens=0, label="before-import")
    label = f"imported-{people.tag}"
    ids = tuple(n["id"] for n in people.numbers)
    on_a = signed_in(cluster.a, people.admin, people.password)
    on_b = signed_in(cluster.b, people.admin, people.password)

    def relabelled() -> int:
        return cluster.sql(
            "primary",
            "SELECT count(*) FROM numbers_phonenumber WHERE label = %s AND id = ANY(%s::uuid[])",
            (label, list(ids)),
        )[0][0]

    body = "number,label\n" + "".join(f"{n['number']},{label}\n" for n in people.numbers)
    page = on_a.get(f"{cluster.a}/imports/new")
    assert page.status_code == 200
    upload = on_a.post(
        f"{cluster.a}/imports/new",
        {"format": "csv", "reason": "CLUSTER-KILL"},
        files={"file": ("relabel.csv", body.encode(), "text/csv")},
    )
    preview = job_id_from(upload)
    wait_for(
        "the preview run by the cluster's worker",
        lambda: job_state(on_b, cluster.b, preview) == "Succeeded",
        timeout=120,
    )

    cluster.ctl("stop", "worker")
    with tempfile.TemporaryDirectory(prefix="cluster-worker-") as scratch_dir:
        scratch = Path(scratch_dir)
        worker = _paused_worker(cluster, scratch)
        try:
            apply = job_id_from(on_a.post(f"{cluster.a}/imports/{preview}/apply", {}))
            paused = scratch / "paused"
            wait_for(
                "the apply paused at its first progress write",
                lambda: paused.exists() or worker.poll() is not None,
                timeout=120,
            )
            assert worker.poll() is None, (scratch / "worker.log").read_text()[-3000:]
            # 500 rows written inside the apply's open transaction: none visible.
            assert relabelled() == 0
            # Its progress (kept in Redis while the transaction is open) is seen on B.
            wait_for(
                "the apply shown running, 500 of 1,200 rows, on B",
                lambda: (
                    job_state(on_b, cluster.b, apply) == "Running"
                    and "<dd>500 of 1,200</dd>" in on_b.get(f"{cluster.b}/jobs/{apply}/").text
                ),
            )
            _kill(worker, int(paused.read_text()))
        finally:
            if worker.poll() is None:
                _kill(worker)
    cluster.ctl("start", "worker")

    assert relabelled() == 0, "a killed apply must leave nothing half-applied"
    assert cluster.sql(
        "primary",
        "SELECT count(*) FROM audit_auditentry WHERE request_id = %s",
        (f"job-{apply.replace('-', '')}",),
    ) == [(0,)]

    # No heartbeat any more: the page says so (JOBS_HEARTBEAT_TIMEOUT, 10 s under
    # make test-cluster), and Retry through B runs the same apply again, whole.
    wait_for(
        "the killed apply shown stalled",
        lambda: job_state(on_b, cluster.b, apply) == "Stalled",
        timeout=120 + int(cluster.state["env"].get("JOBS_HEARTBEAT_TIMEOUT", "120")),
    )
    retried = job_id_from(on_b.post(f"{cluster.b}/jobs/{apply}/retry", {}))
    state = wait_for(
        "the retried apply finished",
        lambda: (s := job_state(on_b, cluster.b, retried)) in FINISHED and s,
        timeout=120,
    )
    assert state == "Succeeded"
    assert relabelled() == ROWS
    [(first,)] = cluster.sql("primary", "SELECT state FROM jobs_job WHERE id = %s", (apply,))
    assert first == "failed"
