"""API actors: each customer with a bearer token, and a client that sends it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from users.models import User
from users.services import api_token_create


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
