"""Reads of the audit trail: an object's history and the filtered trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from django.db import connections, models, router
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
    owner: Any = None  # the account whose objects' entries are shown
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
    if filters.owner is not None:
        queryset = queryset.filter(owner=filters.owner)
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


# --- The overview and a customer's account page -------------------------------------

RECENT_SHOWN = 10


def recent_changes(*, owner: Any = None, limit: int = RECENT_SHOWN) -> list[AuditEntry]:
    """The newest entries, of ``owner``'s objects when given (indexes ``audit_recent`` and
    ``audit_owner_recent``: a range scan of ``limit`` rows, whatever the trail's size)."""
    entries = AuditEntry.objects.all() if owner is None else AuditEntry.objects.filter(owner=owner)
    return list(entries.order_by("-created_at", "-id")[:limit])


# A day with more entries than this is not counted entry by entry: its count is
# estimated from the ids at its boundaries (entries are numbered as they are
# written), so 30 busy days cost 30 x DAY_COUNT_LIMIT index entries at most.
DAY_COUNT_LIMIT = 2_000


@dataclass(frozen=True)
class DayCount:
    """How many entries were written on one day (in the site's time zone)."""

    day: date
    count: int
    is_estimated: bool = False


def changes_per_day(*, days: int = 30, today: date | None = None) -> list[DayCount]:
    """Entries per day for the ``days`` days up to ``today``, oldest first; one query.

    Each day is a bounded COUNT (at most DAY_COUNT_LIMIT + 1 entries of the index
    on ``created_at``) beside the id of the day's first entry. A day over the bound
    is estimated as the next day's first id minus its own (ids grow as entries are
    written; a rolled-back write leaves a gap, so it is flagged as an estimate).
    """
    today = today or timezone.localdate()
    starts = [
        timezone.make_aware(datetime.combine(today - timedelta(days=n), time.min))
        for n in range(days - 1, -2, -1)  # each day's midnight, and tomorrow's
    ]
    connection = connections[router.db_for_read(AuditEntry)]  # a replica on a read-only page
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    moment = connection.ops.adapt_datetimefield_value
    first_id_sql = (
        f"(SELECT id FROM {table} WHERE created_at >= %s ORDER BY created_at, id LIMIT 1)"  # noqa: S608
    )
    parts, params = [], []
    for n, (start, end) in enumerate(pairwise(starts)):
        parts.append(
            f"SELECT {n} AS n, (SELECT COUNT(*) FROM (SELECT 1 FROM {table} "  # noqa: S608
            f"WHERE created_at >= %s AND created_at < %s LIMIT {DAY_COUNT_LIMIT + 1}) AS d), "
            f"{first_id_sql}"
        )
        params += [moment(start), moment(end), moment(start)]
    # After the last day: the first id from tomorrow on, or the next id to be written.
    parts.append(
        f"SELECT {days} AS n, NULL, "  # noqa: S608 - our table name and our integers
        f"COALESCE({first_id_sql}, (SELECT MAX(id) FROM {table}) + 1, 1)"
    )
    params.append(moment(starts[-1]))
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1", params)
        rows = [row[1:] for row in cursor.fetchall()]
    counts = []
    for n, (bounded, first_id) in enumerate(rows[:-1]):
        day = today - timedelta(days=days - 1 - n)
        if bounded <= DAY_COUNT_LIMIT:
            counts.append(DayCount(day, bounded))
            continue
        following = next(r[1] for r in rows[n + 1 :] if r[1] is not None)
        counts.append(DayCount(day, max(following - first_id, bounded), is_estimated=True))
    return counts
