"""Phone number parsing and display, through Google's libphonenumber port."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_NON_DIGITS = re.compile(r"\D+")


def parse(number: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None


def is_valid(number: str) -> bool:
    """True when libphonenumber knows the number as valid for its region."""
    parsed = parse(number)
    return parsed is not None and phonenumbers.is_valid_number(parsed)


@lru_cache(maxsize=65_536)
def display(number: str) -> str:
    """The number formatted for reading (+1 415-555-0123); E.164 if unparseable."""
    parsed = parse(number)
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def search_digits(text: str) -> str:
    """The digits of a search: "(415) 555" and "415 555" both give "415555"."""
    return _NON_DIGITS.sub("", text)
