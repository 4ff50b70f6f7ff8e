"""Named actors shared by the tests."""

from __future__ import annotations

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
