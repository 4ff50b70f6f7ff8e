"""Sessions across app servers, and the cluster's Redis going away (issue 20).

Sessions live in PostgreSQL: signed in on A, the same cookie is signed in on B.
With Redis stopped (the cache, read pins, rate-limit counters and the job queue are
there), pages and the API keep answering: no 5xx, the rate limit fails open, and
every read goes to the primary (pins cannot be known).
"""

from __future__ import annotations

import pytest

from tests.cluster.harness import Browser, Cluster, World, api_get, served_by, signed_in

pytestmark = pytest.mark.cluster

ROUNDS = 15


def test_a_session_signed_in_on_a_works_on_b(cluster: Cluster, world: World) -> None:
    on_a = signed_in(cluster.a, world.support, world.password)
    on_b = Browser()
    on_b.session.cookies.set("sessionid", on_a.session.cookies["sessionid"])

    page = on_b.get(f"{cluster.b}/numbers/")
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))
    assert world.support in page.text  # the signed-in user's own name on the page
    assert Browser().get(f"{cluster.b}/numbers/").status_code == 302  # no cookie: login


def test_with_redis_stopped_pages_and_the_api_answer_without_5xx(
    cluster: Cluster, world: World
) -> None:
    reader = signed_in(cluster.balancer, world.support, world.password)
    token = world.tokens[1]["token"]
    pages = ["/", "/numbers/?sort=number", f"/numbers/{world.number['id']}/", "/jobs/"]
    seen: list[tuple[str, int, str | None]] = []
    cluster.ctl("stop", "redis")
    try:
        # Signing in needs no Redis either (sessions and lockouts are in PostgreSQL).
        late = signed_in(cluster.a, world.admin, world.password)
        for _ in range(ROUNDS):
            for base in (cluster.a, cluster.b, cluster.balancer):
                for path in pages:
                    answer = reader.get(f"{base}{path}")
                    seen.append((f"{base}{path}", answer.status_code, served_by(answer)))
                answer = api_get(base, token, "/v1/numbers/list", page=1, size=10)
                seen.append((f"{base} API list", answer.status_code, served_by(answer)))
            answer = late.get(f"{cluster.b}/numbers/")
            seen.append(("admin on B", answer.status_code, served_by(answer)))
    finally:
        cluster.ctl("start", "redis")

    errors = [s for s in seen if s[1] >= 500]
    assert errors == [], f"{len(errors)} of {len(seen)} requests were 5xx: {errors[:10]}"
    assert {status for _, status, _ in seen} == {200}, sorted({s[:2] for s in seen if s[1] != 200})
    # Pins unknown while the cache is away: the primary serves every read.
    assert {database for *_, database in seen} == {"default"}

    # Redis back (empty: no persistence): pages still answer, and the throttle counts again.
    assert reader.get(f"{cluster.balancer}/numbers/").status_code == 200
    assert api_get(cluster.balancer, token, "/v1/numbers/list").status_code == 200
