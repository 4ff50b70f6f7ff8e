"""phone_numbers.health: each finding's filter and its row badge agree."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from phone_numbers import queries
from phone_numbers.health import HEALTH_FINDINGS, findings_for
from phone_numbers.models import PhoneNumber
from tests.factories import make_agent, make_connection, make_number, make_webhook

pytestmark = pytest.mark.django_db

# Which fixture numbers each finding names.
EXPECTED = {
    "routes_nowhere": {"nowhere", "wrong_conn", "placeholder"},
    "no_webhook": {"no_hook"},
    "misconfigured": {"wrong_conn", "vonage_twilio", "llm_mismatch"},
    "invalid_number": {"placeholder"},
}


@pytest.fixture
def numbers(owner, other_tenant):
    """A number for every finding, and for every near miss of one."""
    twilio = make_connection(owner)
    telnyx = make_connection(
        owner, type="account_connection_telnyx", credentials={"telnyx_api_key": "KEY" + "z" * 30}
    )
    api_key = make_connection(
        owner, type="account_connection_external_api_key", credentials={"api_key": "k" * 30}
    )
    openai = make_connection(
        owner, type="account_connection_openai", credentials={"openai_api_key": "sk-" + "x" * 40}
    )
    hook = make_webhook(owner)
    desk = make_agent(owner, name="Desk", webhook=hook, openai_account_connection=openai)
    no_hook = make_agent(owner, name="No hook")
    llm_mismatch = make_agent(
        owner, name="Wrong LLM", webhook=hook, openai_account_connection=twilio
    )
    theirs = make_agent(other_tenant, name="Theirs", webhook=make_webhook(other_tenant))
    made = {
        "fine": make_number(
            owner, "+14155550100", inbound_agent=desk, telephony_account_connection=twilio
        ),
        "telnyx_fine": make_number(
            owner,
            "+14155550101",
            inbound_agent=desk,
            telephony_provider="telnyx",
            telephony_account_connection=telnyx,
        ),
        "vonage_fine": make_number(
            owner,
            "+14155550102",
            inbound_agent=desk,
            telephony_provider="vonage",
            telephony_account_connection=api_key,
        ),
        "nowhere": make_number(owner, "+14155550103"),
        "outbound": make_number(owner, "+14155550104", outbound_only=True),
        "inactive": make_number(owner, "+14155550105", active=False),
        "no_hook": make_number(owner, "+14155550106", inbound_agent=no_hook),
        "wrong_conn": make_number(owner, "+14155550107", telephony_account_connection=telnyx),
        "vonage_twilio": make_number(
            owner,
            "+14155550108",
            inbound_agent=desk,
            telephony_provider="vonage",
            telephony_account_connection=twilio,
        ),
        "llm_mismatch": make_number(owner, "+14155550109", inbound_agent=llm_mismatch),
        "placeholder": make_number(other_tenant, "+1234567890"),
        "theirs": make_number(other_tenant, "+442079460123", inbound_agent=theirs),
    }
    return {name: n.pk for name, n in made.items()}


def names(numbers, pks) -> set[str]:
    return {name for name, pk in numbers.items() if pk in pks}


@pytest.mark.parametrize("key", list(HEALTH_FINDINGS))
def test_the_filter_and_the_row_test_name_the_same_numbers(numbers, key):
    finding = HEALTH_FINDINGS[key]
    filtered = set(PhoneNumber.objects.filter(finding.condition).values_list("pk", flat=True))
    shown = {n.pk for n in queries.inventory() if finding.applies(n)}
    assert names(numbers, filtered) == names(numbers, shown) == EXPECTED[key]


@pytest.mark.parametrize("key", list(HEALTH_FINDINGS))
def test_the_page_filtered_by_a_finding_lists_the_rows_that_show_its_badge(
    client, support, numbers, key
):
    client.force_login(support)
    url = reverse("numbers:list")
    filtered = set(re.findall(r'id="row-([0-9a-f-]+)"', client.get(url, {"health": key}).text))
    rows = client.get(url).text.split("<tr ")
    badged = {
        re.search(r'id="row-([0-9a-f-]+)"', row).group(1)
        for row in rows
        if f'data-finding="{key}"' in row
    }
    pks = {str(pk): name for name, pk in numbers.items()}
    assert {pks[pk] for pk in filtered} == {pks[pk] for pk in badged} == EXPECTED[key]


def test_the_row_query_loads_all_the_findings_need(numbers, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = {n.pk: {f.key for f in findings_for(n)} for n in queries.inventory()}
    assert found[numbers["wrong_conn"]] == {"routes_nowhere", "misconfigured"}
    assert found[numbers["fine"]] == set()


def test_the_detail_page_shows_the_numbers_findings(client, support, numbers):
    client.force_login(support)
    body = client.get(reverse("numbers:detail", args=[numbers["placeholder"]])).text
    assert 'data-finding="invalid_number"' in body and 'data-finding="routes_nowhere"' in body
    assert 'data-finding="misconfigured"' not in body


@pytest.mark.parametrize(
    ("key", "index"),
    [
        ("routes_nowhere", "number_routes_nowhere"),
        ("invalid_number", "number_invalid"),
        ("no_webhook", "number_agent_without_webhook"),
        ("misconfigured", "number_misconfigured"),
    ],
)
def test_a_filter_keeps_the_condition_of_its_partial_index(key, index):
    (partial,) = (i for i in PhoneNumber._meta.indexes if i.name == index)
    assert HEALTH_FINDINGS[key].condition == partial.condition
