"""Named actors shared by the tests."""

from __future__ import annotations

import os

import pytest

from tests.factories import make_user
from users.models import User


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
