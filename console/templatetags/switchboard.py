"""Template helpers: readable JSON with secrets masked, phone display, URL edits."""

from __future__ import annotations

import json
from typing import Any

from django import template

from console.lists import list_query
from phone_numbers import phone
from vault.masking import mask_json

register = template.Library()


@register.filter
def masked_json(value: Any) -> str:
    """Pretty JSON with every secret-named key's value masked."""
    if value in (None, {}, []):
        return "—"
    return json.dumps(mask_json(value), indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def phone_display(number: str) -> str:
    return phone.display(number)


@register.simple_tag(takes_context=True)
def url_without(context: template.Context, *keys: str) -> str:
    """The current query string without ``keys``, back on the first page."""
    return list_query(context["request"], keys)


@register.simple_tag(name="list_query", takes_context=True)
def list_query_tag(context: template.Context, **changes: Any) -> str:
    """``console.lists.list_query`` for the current request."""
    return list_query(context["request"], **changes)
