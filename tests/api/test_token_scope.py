"""Scoped tokens: a read-only token reads everything its owner owns and writes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from phone_numbers.models import PhoneNumber
from tests.conftest import Api
from tests.factories import make_number
from users.models import ApiToken, TokenScope
from users.services import api_token_create

pytestmark = pytest.mark.django_db

UPDATE = "/v1/numbers/update?phone_number=%2B14155550123"


@pytest.fixture
def read_only(client, owner) -> Api:
    return Api(client, owner, api_token_create(user=owner, scope=TokenScope.READ)[1])


def test_a_read_only_token_reads(read_only, owner):
    make_number(owner, "+14155550123")
    assert read_only.get("/v1/numbers/list").status_code == 200
    assert read_only.get("/v1/numbers", {"phone_number": "+14155550123"}).status_code == 200


def test_a_read_only_token_cannot_update_and_is_told_why(read_only, owner):
    number = make_number(owner, "+14155550123", label="Main")
    response = read_only.post(UPDATE, {"label": "Hijacked"})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This API token is read-only: issue a read-write token to update numbers."
    }
    assert PhoneNumber.objects.get(pk=number.pk).label == "Main"


def test_tokens_issued_before_scopes_stay_read_write(api, owner):
    make_number(owner, "+14155550123")
    assert ApiToken.objects.get(user=owner).scope == TokenScope.READ_WRITE
    assert api.post(UPDATE, {"label": "New"}).status_code == 200


def test_the_command_issues_a_read_only_token(owner):
    out = io.StringIO()
    call_command("create_api_token", owner.email, "--read-only", stdout=out)
    assert "read only" in out.getvalue()
    api_token = ApiToken.objects.get(user=owner)
    assert api_token.scope == TokenScope.READ
    entry = AuditEntry.objects.get(object_type="users.apitoken")
    assert entry.actor_label == "command create_api_token"
    assert entry.changes["scope"] == [None, "Read only"]


def test_the_schema_documents_the_403(client):
    schema = client.get("/v1/openapi.json").json()
    assert "403" in schema["paths"]["/v1/numbers/update"]["post"]["responses"]
