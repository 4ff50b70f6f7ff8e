"""The API's page cache (api.pagecache) never serves what changed, nor another's page.

Every committed change to an account's numbers or agent graph grows the account's
``inventory_version`` (audit.services.record, after the commit), and answers are
cached under it. These tests commit for real; elsewhere the cache is off
(tests/conftest.py).
"""

from __future__ import annotations

import pytest
from django.db import transaction

from agents.models import Agent
from agents.services import graph_object_save
from audit.services import Actor
from phone_numbers import services
from tests.factories import make_agent, make_number
from users.models import User

# Real commits: the version grows after each commit.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.page_cache]
LIST = "/v1/numbers/list"
ONE = "/v1/numbers"
UPDATE = "/v1/numbers/update?phone_number=%2B14155550100"
ACTOR = Actor("ops@switchboard.test", "admin")


@pytest.fixture
def number(api):
    agent = make_agent(api.user, name="Desk")
    return make_number(api.user, "+14155550100", inbound_agent=agent, label="Main")


def version(user: User) -> int:
    return User.objects.values_list("inventory_version", flat=True).get(pk=user.pk)


def test_a_repeated_request_is_answered_from_the_cache(api, number, django_assert_num_queries):
    first = api.get(LIST)
    with django_assert_num_queries(2):  # the token, the rate limit: no page query
        again = api.get(LIST)
    assert again.content == first.content and again["ETag"] == first["ETag"]


def test_an_edit_through_the_api_shows_at_once(api, number):
    assert api.get(ONE, {"phone_number": number.number}).json()["label"] == "Main"
    assert (
        api.post(f"{ONE}/update?phone_number=%2B14155550100", {"label": "New"}).status_code == 200
    )
    assert api.get(ONE, {"phone_number": number.number}).json()["label"] == "New"
    assert api.get(LIST).json()["items"][0]["label"] == "New"


def test_an_agent_edit_in_the_admin_shows_at_once(api, number):
    assert api.get(LIST).json()["items"][0]["inbound_agent_name"] == "Desk"
    agent = Agent.objects.get(pk=number.inbound_agent_id)
    agent.name = "Front desk"
    graph_object_save(obj=agent, actor=ACTOR)
    assert api.get(LIST).json()["items"][0]["inbound_agent_name"] == "Front desk"


def test_many_changes_in_one_transaction_grow_the_version_once(api, number):
    before = version(api.user)
    with transaction.atomic():
        for label in ("a", "b", "c"):
            number.refresh_from_db()
            services.phone_number_update(number=number, changes={"label": label}, actor=ACTOR)
    assert version(api.user) == before + 1


def test_a_rolled_back_change_grows_nothing(api, number):
    before = version(api.user)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.phone_number_update(number=number, changes={"label": "x"}, actor=ACTOR)
        raise RuntimeError
    assert version(api.user) == before


def test_a_change_in_a_rolled_back_savepoint_is_bumped_by_the_next_one(api, number):
    before = version(api.user)
    with transaction.atomic():
        try:
            with transaction.atomic():
                services.phone_number_update(number=number, changes={"label": "x"}, actor=ACTOR)
                raise RuntimeError
        except RuntimeError:
            pass
        number.refresh_from_db()
        services.phone_number_update(number=number, changes={"label": "kept"}, actor=ACTOR)
    assert version(api.user) == before + 1


def test_one_accounts_cached_page_is_never_anothers(api, other_api, number):
    make_number(other_api.user, "+14155550199", label="Theirs")
    mine, theirs = api.get(LIST).json(), other_api.get(LIST).json()
    assert [n["label"] for n in mine["items"]] == ["Main"]
    assert [n["label"] for n in theirs["items"]] == ["Theirs"]


def test_if_none_match_is_answered_from_a_cached_page(api, number):
    etag = api.get(LIST)["ETag"]
    assert api.get(LIST, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_without_the_cache_the_answers_are_the_same(api, number, settings):
    cached = api.get(LIST).content
    settings.API_PAGE_CACHE = False
    assert api.get(LIST).content == cached


def test_saving_an_account_read_earlier_keeps_the_grown_version(api, number):
    stale = User.objects.get(pk=api.user.pk)
    services.phone_number_update(number=number, changes={"label": "x"}, actor=ACTOR)
    grown = version(api.user)
    stale.name = "Renamed customer"
    stale.save()  # an admin form opened before the change
    assert version(api.user) == grown
    assert User.objects.get(pk=api.user.pk).name == "Renamed customer"
