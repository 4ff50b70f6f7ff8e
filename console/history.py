"""The audit trail as people read it: labels, values as written, times with their zone.

``readable_entries`` turns stored entries into what the history and the trail
show: each field by the label the console gives it, each value as a person
writes it (yes/no, a formatted number, an agent's name linking to its page
when the entry kept its id, JSON as ``key: value`` lines, "—" for nothing),
the reason, and whether the entry can be reverted by this user (or why not).
Entries hold masked secrets only; nothing here unmasks anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from audit.models import Action, AuditEntry
from audit.queries import reverted_by
from console.links import pk_url
from console.times import iso_utc, utc_text
from phone_numbers import phone
from phone_numbers.models import PhoneNumber
from phone_numbers.services import revert_refusal

# The console page of each object type that has one.
OBJECT_PAGES = {
    "numbers.phonenumber": "numbers:detail",
    "agents.agent": "agents:detail",
    "agents.webhook": "agents:webhook",
    "agents.accountconnection": "agents:connection",
    "users.user": "customers:detail",  # an account: its page (console.customers)
}
CHANGE_NUMBERS = "numbers.change_phonenumber"
NUMBER = PhoneNumber._meta.label_lower
# Bookkeeping inside a secret's entry (a fingerprint of the ciphertext): never shown.
HIDDEN_KEYS = frozenset({"_revision"})
TEXT_SHOWN = 500  # characters of a long text value; the CSV export has all of it
NOTHING = mark_safe('<span class="muted">—</span>')


@dataclass(frozen=True)
class ChangeRow:
    label: str
    before: SafeString
    after: SafeString


@dataclass(frozen=True)
class ReadableEntry:
    entry: AuditEntry
    object_kind: str  # "Phone number", "Agent"
    object_name: str  # the object as people write it (a formatted number)
    object_url: str | None
    when: str  # "2025-03-01 14:02:11 UTC", in the site's zone
    iso: str
    rows: list[ChangeRow]
    shows_before: bool  # an update shows old → new; a creation or deletion one value
    revert_url: str | None  # the revert form, when this user may revert it now
    cannot_revert: str  # why not, for a number's entry this user could otherwise revert
    reverted_by: int | None
    restores: list[ChangeRow]  # what a revert writes: current → restored

    @property
    def id(self) -> int:
        return self.entry.pk


def when(moment: datetime) -> str:
    """A time as the trail shows it (``console.times``: UTC, named; pages use
    ``|timestamp``, which also gives the ISO time and the reader's zone)."""
    return utc_text(moment, seconds=True)


def object_url(entry: AuditEntry) -> str | None:
    """Where an entry's object lives in the console (None when it has no page)."""
    name = OBJECT_PAGES.get(entry.object_type)
    if name is None or entry.action == Action.DELETE:
        return None
    return pk_url(name, entry.object_id)


def entry_url(entry_id: int) -> str:
    """The trail showing one entry."""
    return f"{reverse('audit:list')}?entry={entry_id}"


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, name: str) -> Any:
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def field_label(model: type[models.Model] | None, name: str) -> str:
    """A field as the console names it: its verbose name ("Inbound agent")."""
    field = _field(model, name)
    verbose = getattr(field, "verbose_name", None)
    return capfirst(str(verbose)) if verbose else capfirst(name.replace("_", " "))


def _text(value: str) -> SafeString:
    if len(value) > TEXT_SHOWN:
        return format_html('{}<span class="muted">…</span>', value[:TEXT_SHOWN])
    return format_html("{}", value)


def _scalar(value: Any) -> SafeString:
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return format_html("{}", "yes" if value else "no")
    return _text(str(value))


def _leaves(value: Any) -> dict[str, Any]:
    """JSON (already masked in the entry) as ``{dotted.path: leaf}``; bookkeeping keys out."""
    leaves: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key in sorted(node, key=str):
                if key not in HIDDEN_KEYS:
                    walk(f"{prefix}.{key}" if prefix else str(key), node[key])
        elif isinstance(node, list) and any(isinstance(v, dict | list) for v in node):
            for i, item in enumerate(node):
                walk(f"{prefix}[{i}]", item)
        else:
            leaves[prefix] = node

    if value not in (None, {}):
        walk("", value)
    return leaves


def _leaf(value: Any) -> SafeString:
    if isinstance(value, list):
        return _text(", ".join(str(v) for v in value)) if value else NOTHING
    return _scalar(value)


def _json(value: Any) -> SafeString:
    """JSON as ``key: value`` lines, nested keys dotted."""
    lines = _leaves(value)
    if not lines and isinstance(value, dict) and value:  # a secret's fingerprint alone
        return mark_safe('<span class="muted">set</span>')
    if not lines:
        return NOTHING
    if list(lines) == [""]:
        return _leaf(lines[""])
    return format_html(
        '<span class="kv">{}</span>',
        format_html_join(
            mark_safe("<br>"),
            '<span class="k">{}</span>: {}',
            ((k, _leaf(v)) for k, v in lines.items()),
        ),
    )


def readable_value(
    model: type[models.Model] | None, name: str, value: Any, ref: Any = None
) -> SafeString:
    """One value of one field as a person writes it."""
    field = _field(model, name)
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, dict):
        return _json(value)
    if isinstance(value, list):
        return _text(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return _scalar(value)
    if model is PhoneNumber and name == "number" and isinstance(value, str):
        return format_html('<span title="{}">{}</span>', value, phone.display(value))
    if field is not None and getattr(field, "choices", None) and not field.is_relation:
        return _text(str(dict(field.flatchoices).get(value, value)))
    if field is not None and field.is_relation and ref:
        page = OBJECT_PAGES.get(field.related_model._meta.label_lower)
        if page:
            return format_html('<a href="{}">{}</a>', pk_url(page, ref), value)
    return _scalar(value)


def _json_rows(label: str, before: Any, after: Any) -> list[ChangeRow]:
    """A JSON field's change as one row per key that changed (Example context, then the key)."""
    old, new = _leaves(before), _leaves(after)
    changed = [p for p in sorted(set(old) | set(new)) if old.get(p) != new.get(p)]
    if not changed:  # only a secret's fingerprint moved: replaced by one that masks the same
        replaced = format_html('{} <span class="muted">(replaced)</span>', _json(after))
        return [ChangeRow(label, _json(before), replaced)]
    return [
        ChangeRow(
            format_html('{} › <span class="k">{}</span>', label, path) if path else label,
            _leaf(old.get(path)),
            _leaf(new.get(path)),
        )
        for path in changed
    ]


def change_rows(entry: AuditEntry) -> list[ChangeRow]:
    """The entry's changes, one row per field (per key of a JSON field), labelled and
    written as people read them."""
    model = _model(entry.object_type)
    refs = entry.refs or {}
    rows: list[ChangeRow] = []
    for name, pair in entry.changes.items():
        before, after = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        label = field_label(model, name)
        if isinstance(before, dict) or isinstance(after, dict):
            rows.extend(_json_rows(label, before, after))
            continue
        ids = refs.get(name) or [None, None]
        old = readable_value(model, name, before, ids[0])
        new = readable_value(model, name, after, ids[1])
        rows.append(ChangeRow(label, old, new))
    return rows


def readable_entries(entries: list[AuditEntry], user: Any) -> list[ReadableEntry]:
    """``entries`` as the history and the trail show them, for ``user`` (one query)."""
    may_revert = user.has_perm(CHANGE_NUMBERS)
    undone = reverted_by(entries)
    readable = []
    for entry in entries:
        rows = change_rows(entry)
        revert_url, refusal = None, ""
        # Only a number's field changes offer a revert, or say why they cannot: a line
        # under every creation, agent or account entry would be noise to read past.
        offers = entry.object_type == NUMBER and entry.action == Action.UPDATE
        if may_revert and offers and entry.pk not in undone:
            refusal = revert_refusal(entry) or ""
            if not refusal:
                revert_url = reverse("audit:revert", args=[entry.pk])
        name = entry.object_label
        if entry.object_type == NUMBER:
            name = phone.display(name)
        model = _model(entry.object_type)
        kind = capfirst(str(model._meta.verbose_name)) if model else entry.object_type
        readable.append(
            ReadableEntry(
                entry=entry,
                object_kind=kind,
                object_name=name,
                object_url=object_url(entry),
                when=when(entry.created_at),
                iso=iso_utc(entry.created_at),
                rows=rows,
                shows_before=entry.action == Action.UPDATE,
                revert_url=revert_url,
                cannot_revert=refusal,
                reverted_by=undone.get(entry.pk),
                restores=[ChangeRow(r.label, r.after, r.before) for r in rows],
            )
        )
    return readable
