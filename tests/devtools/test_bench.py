"""The benchmark compares like with like: its peer API answers what ours answers,
its deep-page cursor lands where an offset would, and wrk's report is read right.

(The benchmark itself is ``make bench``: figures, not assertions.)
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIRequestFactory, force_authenticate

from agents.models import ConnectionType
from core.pagination import decode_cursor, keyset_page
from devtools.management.commands.bench import Command, keep_why_section, naive_view, parse_wrk
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


@pytest.mark.parametrize("optimised", [True, False])
@pytest.mark.parametrize(("page", "size"), [(1, 10), (3, 10), (1, 100)])
def test_the_drf_peer_returns_what_our_api_returns(client, owner, inventory, optimised, page, size):
    _, token = api_token_create(user=owner)
    ours = client.get(
        "/v1/numbers/list", {"page": page, "size": size}, HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    request = APIRequestFactory().get("/naive", {"page": page, "size": size})
    force_authenticate(request, user=owner)
    response = naive_view(optimised)(request)
    response.render()
    peer = json.loads(response.rendered_content)
    assert peer["count"] == ours["total"] == 23
    assert peer["results"] == ours["items"]


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
Requests/sec:    134.37
Transfer/sec:      0.91MB
"""


def test_wrk_errors_are_counted_and_not_served():
    result = parse_wrk(WRK_OUTPUT, seconds=10)
    assert (result["ok"], result["errors"], result["latency"]) == (1335, 10, "74.30ms")
    assert result["rps"] == pytest.approx(133.5)
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
