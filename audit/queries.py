"""Reads of the audit trail: an object's history and the filtered trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AuditEntry

HISTORY_SHOWN = 50


def history_for(obj: models.Model, limit: int = HISTORY_SHOWN) -> list[AuditEntry]:
    """An object's entries, newest first (index: object_type, object_id, created_at)."""
    return list(
        AuditEntry.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk)
        ).order_by("-created_at", "-id")[:limit]
    )


def last_change(obj: models.Model) -> AuditEntry | None:
    """The newest entry of an object: who changed it last, shown with a conflict."""
    entries = history_for(obj, limit=1)
    return entries[0] if entries else None


def reverted_by(entries: list[AuditEntry]) -> dict[int, int]:
    """For each of ``entries`` that a later entry reverted: that entry's id (one query)."""
    ids = [e.pk for e in entries if e.action == "update"]
    if not ids:
        return {}
    pairs = AuditEntry.objects.filter(reverts__in=ids).order_by("id").values_list("reverts", "id")
    return dict(pairs)


@dataclass(frozen=True)
class AuditFilters:
    """The trail's filters. ``q`` is searched in the object, the actor, the reason and
    the ids; ``q_digits`` (the caller's reading of ``q`` as a phone number, digits
    only) in the object's label, where a number is stored as E.164."""

    q: str = ""
    q_digits: str = ""
    entry: int | None = None
    actor: str = ""
    source: str = ""
    object_type: str = ""
    object_id: str = ""
    field: str = ""
    since: date | None = None
    until: date | None = None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_trail(filters: AuditFilters) -> QuerySet[AuditEntry]:
    queryset = AuditEntry.objects.all()
    if filters.q:
        search = (
            Q(object_label__icontains=filters.q)
            | Q(actor_label__icontains=filters.q)
            | Q(reason__icontains=filters.q)
            | Q(object_id=filters.q)
            | Q(request_id=filters.q)
        )
        if filters.q_digits:
            search |= Q(object_label__contains=filters.q_digits)
        queryset = queryset.filter(search)
    if filters.entry is not None:
        queryset = queryset.filter(pk=filters.entry)
    if filters.actor:
        queryset = queryset.filter(actor_label__icontains=filters.actor)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.object_type:
        queryset = queryset.filter(object_type=filters.object_type)
    if filters.object_id:
        queryset = queryset.filter(object_id=filters.object_id)
    if filters.field:
        queryset = queryset.filter(fields__contains=f",{filters.field},")
    if filters.since:
        queryset = queryset.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        queryset = queryset.filter(
            created_at__lt=_day_start(filters.until) + timezone.timedelta(days=1)
        )
    return queryset.order_by("-created_at", "-id")


def object_types() -> list[str]:
    return [
        "numbers.phonenumber",
        "agents.agent",
        "agents.prompt",
        "agents.prompttemplate",
        "agents.action",
        "agents.webhook",
        "agents.accountconnection",
        "users.user",
        "users.apitoken",
    ]
