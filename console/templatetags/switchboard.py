"""Template helpers: readable JSON with secrets masked, phone display, filter-chip links,
and the "N numbers" links to the filtered inventory."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html

from audit.reasons import ReasonField
from console.history import ReadableEntry, readable_entries
from console.lists import query_without
from console.times import time_tag
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
def timestamp(moment: Any, precision: str = "minutes") -> str:
    """A time as ``<time datetime title>`` (``console.times.time_tag``): the one way a
    page shows a time. ``{{ x.updated_at|timestamp }}``, ``|timestamp:"seconds"``."""
    return time_tag(moment, seconds=precision == "seconds")


@register.filter
def phone_display(number: str) -> str:
    return phone.display(number)


@register.simple_tag(takes_context=True)
def url_without(context: template.Context, key: str) -> str:
    """``console.lists.query_without``: a filter chip's remove link (page links, sort
    links and exports use Django's ``{% querystring %}``)."""
    return query_without(context["request"], key)


@register.simple_tag
def numbers_link(count: int, **filters: Any) -> str:
    """The words "N numbers", linked to the inventory filtered to exactly those numbers
    (``filters``: ``agent=``, ``prompt=``, ``webhook=``, ``connection=`` with an
    optional ``connection_role=``). ``count`` is a kept count (``phone_numbers.upkeep``),
    never counted per request; none is plain text."""
    text = f"{intcomma(count)} number{pluralize(count)}"
    if not count:
        return text
    url = f"{reverse('numbers:list')}?{urlencode(filters)}"
    return format_html('<a href="{}" data-numbers-link>{}</a>', url, text)


@register.simple_tag
def results_status(page: Any, noun: str) -> str:
    """What the live status region says after a list changes: "25 of about 12,400
    numbers" (the rows shown, then the list's total), or "No numbers". The only
    ``aria-live`` text of a list page, so a screen reader does not read the rows."""
    if page is None or not page.total:
        return f"No {noun}"
    about = "about " if page.total_is_estimated else ""
    return f"{intcomma(len(page.items))} of {about}{intcomma(page.total)} {noun}"


@register.simple_tag(takes_context=True)
def readable_history(context: template.Context, entries: Any) -> list[ReadableEntry]:
    """An object's entries as people read them (``console.history``), for this user."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return readable_entries(list(entries or []), user)


@register.simple_tag
def reason_input(entry_id: Any) -> str:
    """The reason box of a history's revert form (``audit.reasons.ReasonField``'s widget)."""
    return ReasonField().widget.render("reason", "", attrs={"id": f"reason-{entry_id}"})
