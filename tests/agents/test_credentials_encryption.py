"""Credentials are encrypted at rest, decrypt only with the right key, never leak by repr."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.db import connection

from agents.models import AccountConnection
from tests.factories import make_connection
from vault import crypto
from vault.fields import SealedCredentials

pytestmark = pytest.mark.django_db

SECRET = "tok_live_7f3a9c2e51b84d06a1e2"


def raw_column(conn: AccountConnection) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM agents_accountconnection WHERE id = %s",
            [AccountConnection._meta.pk.get_db_prep_value(conn.pk, connection)],
        )
        return cursor.fetchone()[0]


def test_it_round_trips_credentials(owner):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET, "region": "us1"})
    loaded = AccountConnection.objects.get(pk=conn.pk)
    assert isinstance(loaded.credentials, SealedCredentials)
    assert loaded.reveal_credentials() == {"twilio_auth_token": SECRET, "region": "us1"}


def test_the_database_holds_only_ciphertext(owner):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET})
    stored = raw_column(conn)
    assert SECRET not in stored
    assert stored.startswith(f"v1:{crypto.key_id(crypto.keyring_keys()[0])}:")


def test_loading_a_row_does_not_decrypt_and_repr_shows_no_secret(owner, settings):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET})
    loaded = AccountConnection.objects.get(pk=conn.pk)
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]  # loading needs no key
    assert SECRET not in repr(loaded.credentials) + str(loaded.credentials) + repr(loaded)


def test_a_wrong_key_is_a_loud_error_not_ciphertext(owner, settings):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET})
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    loaded = AccountConnection.objects.get(pk=conn.pk)
    with pytest.raises(crypto.CredentialDecryptionError, match="not in CREDENTIAL_KEYS"):
        loaded.reveal_credentials()


def test_a_tampered_value_fails_authentication(owner):
    conn = make_connection(owner)
    stored = raw_column(conn)
    tampered = stored[:-6] + ("A" if stored[-6] != "A" else "B") + stored[-5:]
    with pytest.raises(crypto.CredentialDecryptionError):
        SealedCredentials(tampered).reveal()


def test_no_key_configured_is_refused(owner, settings):
    settings.CREDENTIAL_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="CREDENTIAL_KEYS"):
        make_connection(owner)


def test_an_old_key_still_decrypts_after_a_new_one_is_added(owner, settings):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET})
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode(), *settings.CREDENTIAL_KEYS]
    loaded = AccountConnection.objects.get(pk=conn.pk)
    assert loaded.reveal_credentials() == {"twilio_auth_token": SECRET}
    assert crypto.stored_key_id(crypto.reencrypt(loaded.credentials.stored)) == crypto.key_id(
        settings.CREDENTIAL_KEYS[0]
    )


def test_lookups_on_credentials_are_refused(owner):
    with pytest.raises(FieldError):
        list(AccountConnection.objects.filter(credentials__contains="AC"))
    with pytest.raises(FieldError):
        list(AccountConnection.objects.filter(credentials=SECRET))
    assert AccountConnection.objects.filter(credentials__isnull=True).count() == 0


def test_a_masked_preview_is_stored_with_the_credentials(owner):
    conn = make_connection(owner, credentials={"twilio_auth_token": SECRET, "pin": "1234"})
    loaded = AccountConnection.objects.get(pk=conn.pk)
    assert loaded.credentials_preview == {
        "twilio_auth_token": "\u2022" * 8 + SECRET[-4:],
        "pin": "\u2022" * 8,
    }
