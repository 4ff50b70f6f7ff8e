"""The masking rules: what a person may see of a secret."""

from __future__ import annotations

import pytest

from vault.masking import DOTS, is_secret_key, mask_all, mask_json, mask_secret


def test_long_values_show_dots_and_the_last_four():
    assert mask_secret("sk-proj-abcdefghijklmnop1234") == DOTS + "1234"


@pytest.mark.parametrize("value", ["", "x", "1234567890", "a" * 15])
def test_short_values_show_dots_only(value):
    assert mask_secret(value) == DOTS


def test_the_mask_never_reveals_the_length():
    assert len(mask_secret("a" * 16)) == len(mask_secret("b" * 200))
    assert mask_secret("a" * 3) == mask_secret("b" * 15)


def test_non_strings_are_masked_too_and_none_stays_none():
    assert mask_secret(12345678901234567890) == DOTS + "7890"
    assert mask_secret(True) == DOTS
    assert mask_secret(None) is None


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "APIKEY",
        "auth_token",
        "client_secret",
        "password",
        "signing-secret",
        "private_key",
        "accessKey",
        "pwd",
    ],
)
def test_secret_looking_keys_are_recognised(name):
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["keywords", "monkey", "voice_id", "tokenizer", "provider"])
def test_ordinary_keys_are_not(name):
    assert not is_secret_key(name)


def test_mask_json_masks_secret_keys_at_any_depth_and_keeps_the_rest():
    voice = {
        "provider": "elevenlabs",
        "api_key": "el_0123456789abcdefWXYZ",
        "settings": {"stability": 0.5, "auth": {"token": "short"}},
        "fallbacks": [{"apiKey": "x" * 20}],
    }
    assert mask_json(voice) == {
        "provider": "elevenlabs",
        "api_key": DOTS + "WXYZ",
        "settings": {"stability": 0.5, "auth": {"token": DOTS}},
        "fallbacks": [{"apiKey": DOTS + "xxxx"}],
    }


def test_mask_all_masks_every_leaf_and_keeps_key_names():
    assert mask_all({"sid": "AC" + "1" * 32, "nested": {"pin": 1234}}) == {
        "sid": DOTS + "1111",
        "nested": {"pin": DOTS},
    }
