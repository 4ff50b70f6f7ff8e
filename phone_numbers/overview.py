"""What the overview and a customer's account page count: findings by provider and owner.

Every count reads the kept health columns (``phone_numbers.health``) through one
partial index, ``number_findings_owner``: the numbers with any finding
(``ANY_FINDING``), keyed by owner and provider, carrying every column a
finding's condition reads. A count is then an index-only scan of the flagged
numbers alone, never of the whole inventory, and one query answers every
finding at once (a ``Count`` with ``filter=`` per finding). PostgreSQL uses a
partial index only for a query whose condition implies the index's, so every
query here filters by ``ANY_FINDING`` itself (figures: docs/benchmarks.md).

A number with two findings is counted once in ``flagged`` and once under each
finding: "customers with the most problems" ranks owners by flagged numbers.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from django.db import connections
from django.db.models import Count, Q, QuerySet

from users.models import User

from .health import HEALTH_FINDINGS
from .models import PhoneNumber, TelephonyProvider

# A number with at least one finding: the condition of the index
# ``number_findings_owner`` (PhoneNumber.Meta.indexes; a test holds them equal).
ANY_FINDING: Q = reduce(operator.or_, (f.condition for f in HEALTH_FINDINGS.values()))

TOP_CUSTOMERS = 10


@dataclass(frozen=True)
class FindingCounts:
    """How many numbers have each finding (by key), and how many have any."""

    by_finding: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HEALTH_FINDINGS, 0))
    flagged: int = 0

    def __add__(self, other: FindingCounts) -> FindingCounts:
        return FindingCounts(
            {k: self.by_finding[k] + other.by_finding[k] for k in HEALTH_FINDINGS},
            self.flagged + other.flagged,
        )


@dataclass(frozen=True)
class CustomerFindings:
    """One owner's flagged numbers, for the overview's "most problems" table."""

    user_id: Any
    email: str
    counts: FindingCounts


def _flagged(owner: Any = None) -> QuerySet[PhoneNumber]:
    numbers = PhoneNumber.objects.filter(ANY_FINDING)
    return numbers if owner is None else numbers.filter(user=owner)


def _count_columns() -> dict[str, Count]:
    # COUNT(user_id), not COUNT(id): the owner is in the index, the id is not, and
    # counting a column the index lacks would read every row from the table.
    columns = {key: Count("user", filter=f.condition) for key, f in HEALTH_FINDINGS.items()}
    return {**columns, "flagged": Count("user")}


def _counts_of(row: dict[str, Any]) -> FindingCounts:
    return FindingCounts({k: row[k] for k in HEALTH_FINDINGS}, row["flagged"])


def findings_by_provider(*, owner: Any = None) -> dict[str, FindingCounts]:
    """Each provider's counts (every provider, zeros included), of ``owner``'s numbers
    when given; one query."""
    rows = _flagged(owner).order_by().values("telephony_provider").annotate(**_count_columns())
    found = {row["telephony_provider"]: _counts_of(row) for row in rows}
    return {p: found.get(p, FindingCounts()) for p in TelephonyProvider.values}


def total(counts: dict[str, FindingCounts]) -> FindingCounts:
    """The sum of per-provider counts: the whole inventory's (or the owner's)."""
    return reduce(operator.add, counts.values(), FindingCounts())


def inventory_findings(
    limit: int = TOP_CUSTOMERS,
) -> tuple[dict[str, FindingCounts], list[CustomerFindings]]:
    """The overview's counts: each provider's (every provider, zeros included), and
    the ``limit`` owners with the most flagged numbers, most first (then by id).

    One pass over the index: the counts grouped by owner and provider (a common
    table expression), summed once by provider and once by owner, the owners cut to
    ``limit`` in the database; so 3 + ``limit`` rows come back however many
    customers there are. Then one small query for those owners' emails.
    """
    columns = [*HEALTH_FINDINGS, "flagged"]
    grouped = (
        _flagged()
        .order_by()
        .values("user", "telephony_provider")
        .annotate(**_count_columns())
        .values_list("user", "telephony_provider", *columns)
    )
    inner, params = grouped.query.sql_with_params()
    names = ["owner", "provider", *(f"n_{c}" for c in columns)]
    sums = ", ".join(f"SUM({n})" for n in names[2:])
    # Django's SQL for the grouped query; the names and the limit are ours.
    sql = (
        f"WITH grouped ({', '.join(names)}) AS ({inner}) "  # noqa: S608
        f"SELECT NULL, provider, {sums} FROM grouped GROUP BY provider "
        f"UNION ALL SELECT * FROM (SELECT owner, NULL, {sums} FROM grouped "
        f"GROUP BY owner ORDER BY SUM(n_flagged) DESC, owner LIMIT {int(limit)}) AS top"
    )
    with connections[grouped.db].cursor() as cursor:  # a replica on a read-only page
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_provider = dict.fromkeys(TelephonyProvider.values, FindingCounts())
    top: list[tuple[Any, FindingCounts]] = []
    for user_id, provider, *counts in rows:
        *by_finding, flagged = map(int, counts)
        found = FindingCounts(dict(zip(HEALTH_FINDINGS, by_finding, strict=True)), flagged)
        if user_id is None:
            by_provider[provider] = found
        else:
            top.append((user_id, found))
    top.sort(key=lambda pair: (-pair[1].flagged, str(pair[0])))
    ids = [_uuid(user_id) for user_id, _ in top]
    emails = dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))
    customers = [
        CustomerFindings(pk, emails.get(pk, ""), counts)
        for pk, (_, counts) in zip(ids, top, strict=True)
    ]
    return by_provider, customers


def _uuid(value: Any) -> uuid.UUID:
    """An owner id as the database returned it (a UUID, or SQLite's 32 hex digits)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
