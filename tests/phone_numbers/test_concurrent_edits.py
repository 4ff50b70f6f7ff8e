"""Compare-and-set under real concurrency: 20 threads x 50 edits of one number (PostgreSQL)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import pytest
from django.db import connection, connections

from audit.models import AuditEntry
from audit.services import Actor
from phone_numbers import services
from phone_numbers.models import PhoneNumber
from tests.factories import make_number

THREADS = 20
EDITS = 50

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; this test needs PostgreSQL's concurrency")


def test_every_edit_is_applied_and_audited_or_refused(owner):
    number = make_number(owner, "+14155550123", label="start")
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def editor(worker: int) -> None:
        try:
            start.wait()
            for edit in range(EDITS):
                current = PhoneNumber.objects.get(pk=number.pk)  # read, then write
                try:
                    services.phone_number_update(
                        number=current,
                        changes={"label": f"w{worker}-e{edit}"},
                        actor=Actor(f"worker {worker}", "api"),
                    )
                    result = "applied"
                except services.VersionConflict:
                    result = "conflict"
                with lock:
                    outcomes[result] += 1
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=editor, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    assert outcomes["applied"] + outcomes["conflict"] == THREADS * EDITS
    assert outcomes["applied"] > 0 and outcomes["conflict"] > 0
    final = PhoneNumber.objects.get(pk=number.pk)
    entries = AuditEntry.objects.filter(object_id=str(number.pk))
    # Nothing lost, nothing doubled: one entry and one version step per applied edit.
    assert entries.count() == outcomes["applied"]
    assert final.version == 1 + outcomes["applied"]
    latest = entries.order_by("-created_at", "-id").first()
    assert latest.changes["label"][1] == final.label
    # Each entry's "before" is the previous entry's "after": a single unbroken chain.
    chain = list(entries.order_by("created_at", "id").values_list("changes", flat=True))
    assert chain[0]["label"][0] == "start"
    for earlier, later in itertools.pairwise(chain):
        assert later["label"][0] == earlier["label"][1]
