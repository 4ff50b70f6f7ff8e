"""Where the secret rule draws its line: keys, credential-shaped values and URLs.

One table, so that a change of the rule shows as a change here. The rule
(``vault.masking.secret_preview``) decides for JSON fields and URL fields;
plain text (a description, a prompt's content) is never scanned.
"""

from __future__ import annotations

import pytest

from vault.masking import (
    DOTS,
    is_secret_key,
    looks_like_credential,
    mask_json,
    mask_url,
    url_has_secret,
)

SECRET_KEYS = [
    # the words, plural or not
    "key",
    "keys",
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "credential",
    "credentials",
    "signature",
    "auth",
    "Authorization",
    "authorization",
    "bearer",
    "Bearer",
    "cookie",
    "Set-Cookie",
    "jwt",
    "dsn",
    # every casing and separator
    "api_key",
    "api_keys",
    "apiKey",
    "apiKeys",
    "APIKey",
    "API_KEY",
    "x-api-key",
    "X-Api-Key",
    "ACCESS-TOKENS",
    "access_token",
    "accessToken",
    "refresh_tokens",
    "refreshTokens",
    "client_secret",
    "clientSecrets",
    "signing-secret",
    "private_key",
    "privateKey",
    "access_key_id",
    "secretAccessKey",
    "auth_token",
    "authToken",
    "crm_token",
    "session_cookie",
    # run together
    "apikey",
    "accesstoken",
    "clientsecret",
    "dbpassword",
    # the review's misses: short words, run-together key names, digits
    "pass",
    "pw",
    "creds",
    "passcode",
    "pin",
    "session",
    "sessionId",
    "session_id",
    "X-Session-Id",
    "sessionid",
    "sig",
    "client_assertion",
    "clientAssertion",
    "authkey",
    "signingkey",
    "masterkey",
    "privatekey",
    "secretkey",
    "accesskey",
    "awsaccesskey",
    "apiKey2",
    "password1",
    "key2",
    "api_key_2",
]

ORDINARY_KEYS = [
    "keywords",
    "monkey",
    "author",
    "authors",
    "tokenizer",
    "provider",
    "voice_id",
    "model",
    "language",
    "url",
    "headers",
    "region",
    "stability",
    # quantities: numbers about secrets, not secrets
    "token_count",
    "max_tokens",
    "maxTokens",
    "prompt_tokens",
    "completion_tokens",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "tokens_per_minute",
    "password_min_length",
    "key_count",
    # words that end in "key" but are not keys, and sessions that are settings
    "hotkey",
    "turkey",
    "whiskey",
    "keyboard",
    "keywords2",
    "session_timeout",
    "session_count",
    "assertion",
    "pinned",
    "passenger",
]


@pytest.mark.parametrize("name", SECRET_KEYS)
def test_a_secret_key_is_recognised(name):
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ORDINARY_KEYS)
def test_an_ordinary_key_is_not_a_secret(name):
    assert not is_secret_key(name)


CREDENTIAL_VALUES = [
    "Bearer sk-live-abcdefghijklmnopqrstuvwx",
    "bearer abcdefghijklmnopqrstuvwxyz012345",
    "Basic dXNlcjpwYXNzd29yZDEyMzQ1Njc4",
    "sk-abcdefghijklmnopqrstuvwx",
    "sk-proj-abcdefghijklmnopqrstuvwx",
    "sk_live_abcdefghijklmnopqrstuv",
    "sk_test_abcdefghijklmnopqrstuv",
    "rk_live_abcdefghijklmnopqrstuv",
    "xoxb-123456789012-abcdefghijkl",
    "xoxp-123456789012-abcdefghijkl",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijkl",
    "AKIAIOSFODNN7EXAMPLE",
    "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
    "whsec_abcdefghijklmnopqrstuvwx",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwx' https://x.test",
    # connection strings with a password
    "jdbc:postgresql://db.internal/app?user=u&password=s3cr3t-pw",
    "Server=db.internal;Database=app;User Id=u;Password=s3cr3t-pw;",
    "Driver={ODBC};UID=u;PWD=s3cr3t-pw",
    "DATABASE_URL=postgres://u:s3cr3t-pw@db.internal/app",
    # Basic with base64 of user:password, 8 characters and up
    "Basic dTpwYXNz",
    "basic YWRtaW46aHVudGVyMg==",
]

ORDINARY_VALUES = [
    "hello",
    "sk-short",  # the prefix alone, under 20 characters, is not a key
    "task-abcdefghijklmnopqrstuvwxyz",  # "sk-" inside a word
    "Bearer",
    "The bearer of this message",
    "akia is a name",
    "eyJ not a token",
    "https://api.example.com/context",
    "elevenlabs",
    "en-US",
    "Basic plan",
    "Basic authentication",  # a word, not base64 of user:password
    "password=",
    "Set the password in the dashboard",
    "postgres://db.internal/app",
]


@pytest.mark.parametrize("value", CREDENTIAL_VALUES)
def test_a_credential_shaped_value_is_a_secret_under_any_key(value):
    assert looks_like_credential(value)
    assert mask_json({"note": value})["note"].startswith(DOTS)


@pytest.mark.parametrize("value", ORDINARY_VALUES)
def test_an_ordinary_value_is_shown(value):
    assert not looks_like_credential(value)
    assert mask_json({"note": value}) == {"note": value}


URLS = [
    ("https://user:pw-123@hooks.example.com/x", "https://user:" + DOTS + "@hooks.example.com/x"),
    ("https://:onlypw@h.example.com/", "https://:" + DOTS + "@h.example.com/"),
    (
        "https://h.example.com/x?api_key=abc123&page=2",
        f"https://h.example.com/x?api_key={DOTS}&page=2",
    ),
    (
        "https://h.example.com/x?token=abcdefghijklmnopqrst",
        f"https://h.example.com/x?token={DOTS}qrst",
    ),
    ("https://h.example.com/x?accessToken=abc", f"https://h.example.com/x?accessToken={DOTS}"),
    (
        "https://h.example.com/x?sig=1#access_token=abc",
        f"https://h.example.com/x?sig={DOTS}#access_token={DOTS}",
    ),
    # a credential-shaped user name or path segment: that part masked
    (
        "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.example.com/org/repo.git",
        f"https://{DOTS}6789@github.example.com/org/repo.git",
    ),
    (
        "https://h.example.com/hook/sk_live_abcdefghijklmnopqrstuv/events",
        f"https://h.example.com/hook/{DOTS}stuv/events",
    ),
    (
        "https://h.example.com/x?session_id=abc&page=2",
        f"https://h.example.com/x?session_id={DOTS}&page=2",
    ),
    ("postgres://u:s3cr3t-pw@db.internal/app", f"postgres://u:{DOTS}@db.internal/app"),
    (
        "https://h.example.com/x?auth=Bearer%20abcdefghijklmnopqrstuv",
        f"https://h.example.com/x?auth={DOTS}stuv",
    ),
]
PLAIN_URLS = [
    "https://hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "https://h.example.com/x?page=2&max_tokens=10",
    "https://h.example.com/x?api_key=",
    "not a url",
]


@pytest.mark.parametrize(("url", "masked"), URLS)
def test_a_url_password_or_secret_parameter_is_masked_and_the_rest_shown(url, masked):
    assert url_has_secret(url)
    assert mask_url(url) == masked
    assert mask_json({"endpoint": url}) == {"endpoint": masked}


@pytest.mark.parametrize("url", PLAIN_URLS)
def test_a_url_without_secrets_is_shown_as_written(url):
    assert not url_has_secret(url)


def test_the_table_covers_at_least_sixty_keys_and_values():
    total = (
        len(SECRET_KEYS)
        + len(ORDINARY_KEYS)
        + len(CREDENTIAL_VALUES)
        + len(ORDINARY_VALUES)
        + len(URLS)
        + len(PLAIN_URLS)
    )
    assert total >= 60


def test_a_webhook_action_header_is_masked_and_its_neighbours_shown():
    config = {
        "url": "https://crm.example.com/hook",
        "headers": {"Authorization": "Bearer sk-live-abcdefghijklmnopqrstuvwx", "Accept": "json"},
        "max_tokens": 256,
        "token_count": 12,
    }
    assert mask_json(config) == {
        "url": "https://crm.example.com/hook",
        "headers": {"Authorization": DOTS + "uvwx", "Accept": "json"},
        "max_tokens": 256,
        "token_count": 12,
    }


@pytest.mark.parametrize(
    ("url", "masked"),
    URLS,
)
def test_a_masked_url_holds_no_credential_any_more(url, masked):
    assert not looks_like_credential(mask_url(url))


@pytest.mark.parametrize("name_key", ["name", "key", "header"])
def test_the_value_of_a_secret_named_header_pair_is_masked_and_its_name_shown(name_key):
    headers = [
        {name_key: "X-Api-Key", "value": "abcd1234"},
        {name_key: "Accept", "value": "application/json"},
    ]
    shown = mask_json({"headers": headers})["headers"]
    assert shown[0] == {name_key: "X-Api-Key", "value": DOTS}
    assert shown[1]["value"] == "application/json"


def test_a_header_pair_is_sealed_at_rest_and_kept_when_sent_back(owner):
    from agents.models import Action
    from tests.factories import make_action
    from vault.fields import reveal_secrets, seal_secrets

    config = {"headers": [{"name": "X-Api-Key", "value": "abcd1234"}]}
    sealed = seal_secrets(config)
    assert sealed["headers"][0]["name"] == "X-Api-Key"
    assert set(sealed["headers"][0]["value"]) == {"__sealed__", "preview"}

    action = Action.objects.get(pk=make_action(owner, config=config).pk)
    action.config = mask_json(action.config)
    action.full_clean()
    action.save()
    assert reveal_secrets(Action.objects.get(pk=action.pk).config) == config


def test_the_migration_rule_unseals_a_pair_name_an_older_rule_sealed():
    from vault import crypto
    from vault.fields import apply_secret_rule, reveal_secrets

    old = {
        "headers": [
            {
                "key": {"__sealed__": crypto.encrypt_json("X-Api-Key"), "preview": DOTS},
                "value": "abcd1234",
            }
        ]
    }
    fresh, moved = apply_secret_rule(old)
    assert moved == 2
    assert fresh["headers"][0]["key"] == "X-Api-Key"
    assert set(fresh["headers"][0]["value"]) == {"__sealed__", "preview"}
    assert reveal_secrets(fresh) == {"headers": [{"key": "X-Api-Key", "value": "abcd1234"}]}
    assert apply_secret_rule(fresh)[1] == 0
