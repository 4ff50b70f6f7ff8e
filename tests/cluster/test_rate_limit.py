"""One API rate limit across both app servers, counted in the cluster's Redis (issue 20).

``make test-cluster`` starts the cluster with ``API_RATE_LIMIT=20/min``: twenty
requests of one token, spread over app servers A and B, pass; the 21st, wherever it
lands, is a 429, and the counter is the key ``ratelimit:token:<prefix>`` in Redis.
"""

from __future__ import annotations

import pytest

from tests.cluster.harness import Cluster, World, api_get, new_token

pytestmark = pytest.mark.cluster

LIMIT = 20


def test_the_21st_request_over_both_app_servers_is_429(cluster: Cluster, world: World) -> None:
    if cluster.state["env"].get("API_RATE_LIMIT") != f"{LIMIT}/min":
        pytest.skip(
            f"the cluster runs without API_RATE_LIMIT={LIMIT}/min (make test-cluster sets it)"
        )
    token = new_token(cluster, world)  # its own window, fresh
    servers = (cluster.a, cluster.b)

    statuses = [
        api_get(servers[i % 2], token["token"], "/v1/numbers/list", page=1, size=10).status_code
        for i in range(LIMIT)
    ]
    assert statuses == [200] * LIMIT
    over = api_get(cluster.balancer, token["token"], "/v1/numbers/list", page=1, size=10)
    assert over.status_code == 429, over.text[:300]
    assert int(over.headers["Retry-After"]) >= 1
    # The other app server refuses it too: one counter, not one per server.
    assert api_get(cluster.b, token["token"], "/v1/numbers/list").status_code == 429

    key = f"ratelimit:token:{token['prefix']}"
    store = cluster.redis(db=0)
    assert int(store.get(key)) == LIMIT + 2, sorted(store.keys("ratelimit:*"))
    assert 0 < store.pttl(key) <= 60_000
