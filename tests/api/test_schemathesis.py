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
    return api_token_create(user=owner)[1]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    # The same examples every run (CI must not be flaky) and no replay of
    # examples saved by earlier local runs.
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_honours_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
