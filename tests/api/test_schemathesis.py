"""schemathesis drives every operation in-process: no 5xx, no schema violations."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from config.wsgi import application
from tests.factories import make_agent, make_number
from users.services import api_token_create

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", application)
CURRENT_TOKEN: dict[str, str] = {}
CALLS: list[str] = []


@schema.auth(refresh_interval=None)  # ask every time: the token comes from a fixture
class BearerToken:
    """Schemathesis applies the token itself, so its negative cases can leave it out
    (and then expect a 401) instead of our test putting it back."""

    def get(self, case, context):
        return CURRENT_TOKEN.get("value", "sb_none_none")  # none yet while collecting

    def set(self, case, data, context) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture
def keep_connection():
    """Calls go straight to the WSGI app, whose request signals would close the
    test's database connection (and its transaction) on PostgreSQL; Django's
    test client disconnects them the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def token(db, owner, keep_connection):
    agent = make_agent(owner, name="Desk")
    make_number(owner, "+14155550123", inbound_agent=agent)
    token = api_token_create(user=owner)[1]
    CURRENT_TOKEN["value"] = token
    return token


@schema.parametrize()
@settings(
    max_examples=200,  # 5 operations x 200: at least 1,000 requests per run
    deadline=None,
    # The same examples every run (CI must not be flaky) and no replay of
    # examples saved by earlier local runs.
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_honours_its_schema(case, token):
    CALLS.append(case.operation.label)
    case.call_and_validate()


def test_zz_the_run_made_at_least_a_thousand_requests():
    """Runs after the generated cases (file order): the fuzzing was not trivially short."""
    if not CALLS:
        pytest.skip("the schemathesis cases were not selected in this run")
    assert len(CALLS) >= 1000, f"only {len(CALLS)} generated requests"


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# Cases a derandomized run never generates: bad keys, deep and huge bodies,
# and a NUL in a query parameter. Each must be a documented 4xx.
HOSTILE_BODIES = {
    "nul-key": {"example_context": {"a\x00b": "v"}},
    "surrogate-key": {"example_context": {"\ud800": "v"}},
    "surrogate-value": {"label": "\udfff"},
    "deep": {"example_context": {"k": _nested(500)}},
    "huge": {"description": "x" * 2_000_000},
    "long-description": {"description": "x" * 10_001},
    "masked-without-secret": {"example_context": {"api_key": "\u2022" * 8}},
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_update_bodies_get_a_documented_4xx(name, token):
    operation = schema["/v1/numbers/update"]["POST"]
    case = operation.Case(
        query={"phone_number": "+14155550123"},
        body=HOSTILE_BODIES[name],
        media_type="application/json",
    )
    response = case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
    assert 400 <= response.status_code < 500, (name, response.status_code)


def test_a_nul_in_a_query_parameter_gets_a_documented_400(token):
    case = schema["/v1/numbers/list"]["GET"].Case(query={"sort_column": "number\x00"})
    response = case.call_and_validate(
        excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )
    assert response.status_code == 400
