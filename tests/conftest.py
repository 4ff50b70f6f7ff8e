"""Named actors shared by the tests."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user
from users.models import User
from users.services import api_token_create


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:
    """A read replica alias, ``replica1``, that is the primary's test database (a test
    mirror: nothing more to create). Unused unless a test turns routing on with
    ``settings.DATABASE_REPLICAS = ["replica1"]`` (tests/core/test_replicas.py)."""
    from django.conf import settings

    if "replica1" not in settings.DATABASES:
        default = settings.DATABASES["default"]
        settings.DATABASES["replica1"] = {
            **default,
            "TEST": {**default.get("TEST", {}), "MIRROR": "default"},
        }


@pytest.fixture
def owner(db) -> User:
    """A customer account that owns an inventory."""
    return make_user("owner@acme.example")


@pytest.fixture
def other_tenant(db) -> User:
    """A second customer, whose objects the first must never reach."""
    return make_user("owner@globex.example")


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@switchboard.test", "pw-root-123456")


def _staff_in(email: str, group: str) -> User:
    from users.management.commands.setup_roles import ensure_roles

    user = User.objects.create_user(email, "pw-staff-123456", is_staff=True)
    user.groups.add(ensure_roles()[group])
    return user


@pytest.fixture
def support(db) -> User:
    """Support staff: view permission on every model, nothing else."""
    return _staff_in("support@switchboard.test", "Support")


@pytest.fixture
def number_admin(db) -> User:
    """Edits labels and inbound agents; views everything."""
    return _staff_in("numbers@switchboard.test", "Number admins")


@pytest.fixture
def staff_without_permissions(db) -> User:
    return User.objects.create_user("intern@switchboard.test", "pw-intern-123456", is_staff=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness costs ~0.3 s per test user; it tests nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _api_page_cache(request, settings) -> None:
    """The API's page cache is off, but in tests marked ``page_cache``.

    The cache is invalidated by a version grown after each commit, and a test's
    writes never commit (pytest-django rolls them back): with the cache on, a test
    that writes and reads again would be served its first read. The marked tests
    commit for real (``django_db(transaction=True)``). Each starts with an empty
    cache: every test's database starts its accounts at version 0."""
    from django.core.cache import caches

    caches["api_pages"].clear()
    settings.API_PAGE_CACHE = request.node.get_closest_marker("page_cache") is not None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Under CI=true a skipped browser test is a failure: CI must really run them."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI") == "true"
        and report.skipped
        and item.get_closest_marker("browser") is not None
    ):
        report.outcome = "failed"
        report.longrepr = f"Browser test skipped under CI=true: {report.longrepr}"


@dataclass
class Api:
    """Speaks to /v1/ as one customer, with ``Authorization: Bearer``."""

    client: Client
    user: User
    token: str

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str):
        return self.client.get(
            path, params or {}, HTTP_AUTHORIZATION=f"Bearer {self.token}", **headers
        )

    def post(self, path: str, body: Any, **headers: str):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            path,
            data,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
            **headers,
        )


@pytest.fixture
def api(client, owner) -> Api:
    return Api(client, owner, api_token_create(user=owner, name="tests")[1])


@pytest.fixture
def other_api(client, other_tenant) -> Api:
    return Api(client, other_tenant, api_token_create(user=other_tenant, name="tests")[1])
