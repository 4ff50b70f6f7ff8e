"""Read-your-writes across app servers while the standby is behind (issue 20).

Replay on the standby is paused (``pg_wal_replay_pause()``), so it keeps serving the
old label while the primary has the new one. The editor's next read, on the OTHER
app server, is pinned to the primary (the pin lives in Redis, shared by both) and
shows the edit; another person's read of the same number in that moment is served
by the standby: it shows the old label and ``X-Read-Database: replica1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.cluster.harness import (
    Browser,
    Cluster,
    World,
    api_get,
    api_post,
    make_world,
    served_by,
    signed_in,
    wait_for,
)

pytestmark = pytest.mark.cluster

VERSION_INPUT = re.compile(r'name="version" value="(\d+)"')


@contextmanager
def replay_paused(cluster: Cluster) -> Iterator[None]:
    """The standby receives WAL but applies none of it until the block ends.

    Just before, a commit on the primary that the standby replays: while paused, the
    standby's lag is the age of the last transaction it replayed (core.replicas),
    and a quiet minute before the pause would make it look a minute behind at once.
    """
    cluster.sql("primary", "SELECT txid_current()")  # a commit record, replayed below
    target = cluster.sql("primary", "SELECT pg_current_wal_lsn()::text")[0][0]
    wait_for(
        "the standby replayed the primary's last commit",
        lambda: cluster.sql("replica", "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[
            0
        ][0],
    )
    cluster.sql("replica", "SELECT pg_wal_replay_pause()")
    try:
        wait_for(
            "replay paused on the standby",
            lambda: (
                cluster.sql("replica", "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused"
            ),
        )
        yield
    finally:
        cluster.sql("replica", "SELECT pg_wal_replay_resume()")


def label_in(cluster: Cluster, part: str, number_id: str) -> str:
    return cluster.sql(part, "SELECT label FROM numbers_phonenumber WHERE id = %s", (number_id,))[
        0
    ][0]


def shown_label(page_html: str, number_id: str) -> str:
    """The label in the number page's Label cell (its history also names old labels)."""
    found = re.search(rf'id="panel-label-{number_id}" data-cell>([^<]*)', page_html)
    assert found, page_html[:2000]
    return found.group(1).strip()


def read_from_replica(browser: Browser, url: str, number_id: str, expected: str) -> None:
    """Wait until ``browser``'s reads of ``url`` are served by the standby (a fresh
    sign-in may pin its first seconds to the primary) and show ``expected``."""

    def on_replica() -> bool:
        page = browser.get(url)
        assert page.status_code == 200, page.status_code
        return served_by(page) == "replica1" and shown_label(page.text, number_id) == expected

    wait_for(f"{url} served by the standby", on_replica, timeout=60)


@pytest.fixture
def people(cluster: Cluster) -> World:
    return make_world(cluster, numbers=3, tokens=2, label="before-edit")


def test_an_edit_on_a_is_seen_at_once_on_b_while_others_read_the_replica(
    cluster: Cluster, people: World
) -> None:
    number_id = people.number["id"]
    detail = f"/numbers/{number_id}/"
    editor = signed_in(cluster.a, people.admin, people.password)
    reader = signed_in(cluster.b, people.support, people.password)
    old, new = "before-edit", f"edited-on-a-{people.tag}"
    read_from_replica(reader, f"{cluster.b}{detail}", number_id, old)
    read_from_replica(editor, f"{cluster.b}{detail}", number_id, old)

    with replay_paused(cluster):
        # The console's edit flow without JavaScript, on app server A: the form (its
        # version), then the post, answered by a redirect to the number's page.
        form = editor.get(f"{cluster.a}/numbers/{number_id}/label/edit")
        assert form.status_code == 200, form.status_code
        version = VERSION_INPUT.search(form.text).group(1)
        saved = editor.post(
            f"{cluster.a}/numbers/{number_id}/label",
            {"version": version, "slot": "panel", "label": new, "reason": "CLUSTER-1"},
        )
        assert saved.status_code == 303, (saved.status_code, saved.text[:500])
        assert (
            label_in(cluster, "primary", number_id),
            label_in(cluster, "replica", number_id),
        ) == (
            new,
            old,
        ), "the standby must still be behind the primary for this test to mean anything"

        # The editor, on app server B: its own edit, read from the primary.
        mine = editor.get(f"{cluster.b}{detail}")
        assert mine.status_code == 200
        assert (shown_label(mine.text, number_id), served_by(mine)) == (new, "default")

        # Someone else at that moment, on B and on A: the standby's (old) answer.
        for base in (cluster.b, cluster.a):
            theirs = reader.get(f"{base}{detail}")
            assert theirs.status_code == 200
            assert (shown_label(theirs.text, number_id), served_by(theirs)) == (old, "replica1")

    # Replay resumed: the standby catches up and the reader sees the edit from it.
    read_from_replica(reader, f"{cluster.b}{detail}", number_id, new)


def test_an_api_write_on_a_is_read_back_on_b_by_the_same_token(
    cluster: Cluster, people: World
) -> None:
    writer, other = people.tokens[0]["token"], people.tokens[1]["token"]
    number = people.number["number"]
    old, new = "before-edit", f"api-edit-{people.tag}"

    def from_replica(token: str, label: str) -> bool:
        answer = api_get(cluster.b, token, "/v1/numbers", phone_number=number)
        assert answer.status_code == 200, answer.text[:500]
        return served_by(answer) == "replica1" and answer.json()["label"] == label

    wait_for("the API's reads served by the standby", lambda: from_replica(writer, old), 60)

    with replay_paused(cluster):
        wrote = api_post(
            cluster.a, writer, "/v1/numbers/update", {"label": new}, phone_number=number
        )
        assert wrote.status_code == 200, wrote.text[:500]
        assert label_in(cluster, "replica", people.number["id"]) == old

        mine = api_get(cluster.b, writer, "/v1/numbers", phone_number=number)
        assert mine.status_code == 200
        assert (mine.json()["label"], served_by(mine)) == (new, "default")

        # Another token (another script of the same customer) is not pinned.
        theirs = api_get(cluster.b, other, "/v1/numbers", phone_number=number)
        assert theirs.status_code == 200
        assert (theirs.json()["label"], served_by(theirs)) == (old, "replica1")

    wait_for("the standby caught up", lambda: from_replica(other, new), 60)
