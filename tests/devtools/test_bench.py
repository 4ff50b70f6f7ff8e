"""The benchmark compares like with like: its peer API answers what ours answers,
its deep-page cursor lands where an offset would, and wrk's report is read right.

(The benchmark itself is ``make bench``: figures, not assertions.)
"""

from __future__ import annotations

import pytest

from agents.models import ConnectionType
from core.models import RateCounter
from core.pagination import decode_cursor, keyset_page
from devtools.management.commands.bench import (
    Command,
    keep_why_section,
    measure_together,
    parse_wrk,
)
from devtools.peers import LEAN_BODY
from phone_numbers import queries
from phone_numbers.queries import NumberFilters
from tests.factories import (
    make_action,
    make_agent,
    make_connection,
    make_number,
    make_prompt,
    make_template,
    make_webhook,
)
from users.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(owner, other_tenant):
    llm = make_connection(owner, ConnectionType.OPENAI, {"openai_api_key": "sk-bench-secret-1"})
    twilio = make_connection(owner)
    prompt = make_prompt(owner, prompt_template=make_template(owner))
    agent = make_agent(
        owner, prompt=prompt, webhook=make_webhook(owner), openai_account_connection=llm
    )
    agent.actions.add(make_action(owner), make_action(owner))
    for i in range(23):
        make_number(
            owner,
            f"+1303555{i:04d}",
            inbound_agent=agent if i % 2 else None,
            telephony_account_connection=twilio if i % 3 else None,
            label=f"L{i}",
        )
    make_number(other_tenant, "+13035559999")


@pytest.mark.parametrize("peer", ["pages", "naive"])
@pytest.mark.parametrize(("page", "size"), [(1, 10), (3, 10), (1, 100)])
def test_the_drf_peers_return_what_our_api_returns(client, owner, inventory, peer, page, size):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=owner)[1]}"}
    query = {"page": page, "size": size}
    ours = client.get("/v1/numbers/list", query, **auth).json()
    theirs = client.get(f"/v1/_bench/{peer}", query, **auth).json()
    assert theirs["count"] == ours["total"] == 23
    assert theirs["results"] == ours["items"]


@pytest.mark.parametrize("size", [10, 100])
def test_the_by_the_book_peer_pages_by_cursor_to_the_same_items(client, owner, inventory, size):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=owner)[1]}"}
    ours = client.get("/v1/numbers/list", {"size": size}, **auth).json()
    theirs = client.get("/v1/_bench/book", {"size": size}, **auth).json()
    assert theirs["results"] == ours["items"]
    assert (theirs["next"] is not None) == ours["has_more"]


def test_every_peer_authenticates_and_throttles_like_the_api(client, owner, settings):
    for path in ("/v1/_bench/book", "/v1/_bench/pages", "/v1/_bench/naive", "/v1/_bench/lean"):
        assert client.get(path).status_code == 401
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=owner)[1]}"}
    answer = client.get("/v1/_bench/lean", **auth)
    assert answer.status_code == 200 and answer.content == LEAN_BODY
    assert RateCounter.objects.filter(key__startswith="token:").exists()


def test_the_deep_page_cursor_starts_where_the_offset_would(owner, inventory):
    queryset = queries.inventory(filters=NumberFilters(), sort="number", desc=False)
    token = Command()._cursor_at(15)
    page = keyset_page(queryset, size=5, cursor=decode_cursor(token, queryset))
    assert [n.pk for n in page.items] == [n.pk for n in queryset[15:20]]
    assert page.first_index == 16


WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/v1/numbers/list?size=10
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    74.30ms   12.01ms 190.00ms   80.00%
    Req/Sec   134.00     20.00   170.00     70.00%
  1345 requests in 10.01s, 9.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 5
  Latency Distribution
     50%   70.12ms
     75%   80.00ms
     90%   95.00ms
     99%  150.50ms
Requests/sec:    134.37
Transfer/sec:      0.91MB
"""


def test_wrk_errors_are_counted_and_not_served():
    result = parse_wrk(WRK_OUTPUT, seconds=10)
    assert (result["ok"], result["errors"], result["latency"]) == (1335, 10, "74.30ms")
    assert result["rps"] == pytest.approx(133.5)
    assert (result["p50"], result["p99"]) == ("70.12ms", "150.50ms")
    clean = parse_wrk(
        WRK_OUTPUT.replace("  Socket errors: connect 0, read 2, write 0, timeout 3\n", "").replace(
            "  Non-2xx or 3xx responses: 5\n", ""
        ),
        seconds=10,
    )
    assert (clean["ok"], clean["errors"]) == (1345, 0)


def test_a_new_report_keeps_the_hand_written_why_section():
    previous = "# Benchmarks\n\nold table\n\n## Why these choices\n\n- a reason: 1 ms\n"
    assert keep_why_section("# Benchmarks\n\nnew table\n", previous) == (
        "# Benchmarks\n\nnew table\n\n## Why these choices\n\n- a reason: 1 ms\n"
    )
    assert keep_why_section("# Benchmarks\n", "") == "# Benchmarks\n"


def test_the_health_filters_overview_and_account_page_cases_answer_200(
    client, superuser, owner, inventory
):
    client.force_login(superuser)
    rows = Command()._health_and_overview(client, {"HTTP_HX_REQUEST": "true"}, repeats=1)
    labels = [label for label, _result, _peer in rows]
    assert len(labels) == 2 * 4 + 2
    assert labels[-1] == "customer account page (the customer with the most numbers, 23)"
    assert all(result["status"] == 200 for _label, result, _peer in rows), rows
    assert all(result["queries"] < 20 for _label, result, _peer in rows), rows
    assert Command.biggest_customer() == (owner.pk, 23)


def test_measure_together_takes_turns_and_gives_each_call_its_repeats():
    calls: list[str] = []

    def call(name: str):
        def run():
            calls.append(name)
            return type("Answer", (), {"status_code": 200})()

        return run

    ours, peer = measure_together([(call("ours"), 8), (call("peer"), 2)])
    timed = calls[-10:]  # after the warm-ups and the counted calls
    assert timed[:4] == ["ours", "peer", "ours", "peer"] and timed[4:] == ["ours"] * 6
    assert ours["status"] == peer["status"] == 200 and ours["queries"] == 0
