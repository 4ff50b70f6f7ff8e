"""Template helpers: readable JSON with secrets masked, phone display, URL edits."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.http import QueryDict

from agents.masking import mask_json
from phone_numbers import phone

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
    """The current query string without ``keys`` (and back on page 1)."""
    params: QueryDict = context["request"].GET.copy()
    for key in (*keys, "page"):
        params.pop(key, None)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
