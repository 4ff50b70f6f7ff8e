"""Validators for the free-form (JSON) fields of the upstream data model."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.deconstruct import deconstructible

# ASCII digits only: "\d" would take a fullwidth digit (U+FF14) and let look-alikes of real
# numbers in.
E164_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")

validate_http_url = URLValidator(schemes=["http", "https"], message="Enter an http(s) URL.")


def validate_e164(value: str) -> None:
    """E.164 syntax: a plus sign and up to 15 digits, the first not zero."""
    if not isinstance(value, str) or not E164_RE.match(value):
        raise ValidationError(
            "%(value)s is not an E.164 number (a + followed by up to 15 digits).",
            code="e164",
            params={"value": value},
        )


def validate_json_object(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.", code="object")


def validate_string_list(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Must be a list of strings.", code="string_list")


def validate_string_map(value: Any) -> None:
    validate_json_object(value)
    for key, item in value.items():
        if isinstance(item, dict) and "__sealed__" in item:
            continue  # a secret, encrypted at rest (vault.fields.seal_secrets)
        if not isinstance(item, str):
            raise ValidationError(
                "Value of %(key)s must be a string.", code="string_map", params={"key": key}
            )


def validate_collect_fields(value: Any) -> None:
    """A list of field names, or of field objects, as upstream sends them."""
    if not isinstance(value, list) or not all(isinstance(v, str | dict) for v in value):
        raise ValidationError(
            "Must be a list of strings or of field objects.", code="collect_fields"
        )


def validate_steering_pool(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError("Must be a list of E.164 numbers.", code="steering_pool")
    for entry in value:
        validate_e164(entry)


@deconstructible
class ChoiceListValidator:
    """A list whose every entry is one of ``allowed`` (webhook subscriptions)."""

    def __init__(self, allowed: Iterable[str], what: str) -> None:
        self.allowed = tuple(allowed)
        self.what = what

    def __call__(self, value: Any) -> None:
        if not isinstance(value, list):
            raise ValidationError(f"Must be a list of {self.what}.", code="choice_list")
        unknown = [v for v in value if v not in self.allowed]
        if unknown:
            raise ValidationError(
                "Unknown %(what)s: %(unknown)s. Allowed: %(allowed)s.",
                code="unknown_choice",
                params={
                    "what": self.what,
                    "unknown": ", ".join(map(str, unknown)),
                    "allowed": ", ".join(self.allowed),
                },
            )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ChoiceListValidator)
            and other.allowed == self.allowed
            and other.what == self.what
        )

    def __hash__(self) -> int:
        return hash((self.allowed, self.what))


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() else number
    return None


def validate_deepgram_keywords(value: Any) -> None:
    """A map of keyword to boost; numeric strings ("10") are accepted."""
    validate_json_object(value)
    for keyword, boost in value.items():
        if _as_number(boost) is None:
            raise ValidationError(
                "Boost of %(keyword)s must be a number, not %(boost)r.",
                code="deepgram_keywords",
                params={"keyword": keyword, "boost": boost},
            )


def normalize_deepgram_keywords(value: Any) -> Any:
    """Store boosts as numbers: {"kansas": "10"} becomes {"kansas": 10}."""
    if not isinstance(value, dict):
        return value
    out = {}
    for keyword, boost in value.items():
        number = _as_number(boost)
        out[keyword] = boost if number is None else number
    return out
