"""Rotating the credential keys: re-encrypt, drop the old key, everything still decrypts."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from agents.models import AccountConnection
from tests.factories import make_agent, make_connection
from vault import crypto
from vault.fields import reveal_secrets

pytestmark = pytest.mark.django_db


def test_rotation_moves_every_value_to_the_newest_key(owner, settings):
    old_key = settings.CREDENTIAL_KEYS[0]
    values = [{"twilio_auth_token": f"token-{i}-" + "x" * 20} for i in range(7)]
    for v in values:
        make_connection(owner, credentials=v)
    agent = make_agent(owner, voice={"provider": "elevenlabs", "api_key": "el-" + "v" * 30})
    new_key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [new_key, old_key]

    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "3", stdout=out)
    report = out.getvalue()
    assert f"'{crypto.key_id(old_key)}': 7" in report  # before
    assert "Re-encrypted 7" in report and f"'{crypto.key_id(new_key)}': 7" in report
    assert "Re-encrypted 1 secret(s) in JSON settings" in report

    settings.CREDENTIAL_KEYS = [new_key]  # the old key is gone
    agent.refresh_from_db()
    assert reveal_secrets(agent.voice)["api_key"] == "el-" + "v" * 30
    revealed = sorted(
        (c.reveal_credentials() for c in AccountConnection.objects.all()),
        key=lambda d: d["twilio_auth_token"],
    )
    assert revealed == sorted(values, key=lambda d: d["twilio_auth_token"])

    again = io.StringIO()
    call_command("rotate_encryption_keys", stdout=again)
    assert "Re-encrypted 0" in again.getvalue()
